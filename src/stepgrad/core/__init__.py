"""The core: what a network is (spec), the quantity names, the one registry of activations, losses and
optimizers, the engine that computes a step, the trace that records it (and narrows itself to a few
names), how a number is shown (digits), and the files they live in. What a network or a trace does
through a higher layer (net.explain(), a trace shown in Jupyter) is plugged in from above (hooks).

May import: nothing else of stepgrad. Every other package builds on this one.
"""

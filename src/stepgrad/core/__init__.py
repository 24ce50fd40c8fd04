"""The core: what a network is (spec), the quantity names, the one registry of activations, losses and
optimizers, the engine that computes a step, the trace that records it, and the files they live in.

May import: nothing else of stepgrad. Every other package builds on this one.
"""

"""Pictures: the network diagram (SVG, PNG) and its layout, the TikZ figure, the loss plot.

May import: stepgrad.core, stepgrad.training, stepgrad.tracing.
"""

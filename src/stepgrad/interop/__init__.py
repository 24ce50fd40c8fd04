"""PyTorch interop: a network as an nn.Sequential and back, state_dict files, a model's step
explained and compared with autograd, torch optimizers and losses read, a training script written.
torch is imported only when one of these is used.

May import: stepgrad.formats, stepgrad.pictures, stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

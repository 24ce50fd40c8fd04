"""Training: the loop that repeats the engine's step, its fast backends (numpy buffers, generated
pure Python, numba), the data sets it reads, and the finite check every run ends with.

May import: stepgrad.core.
"""

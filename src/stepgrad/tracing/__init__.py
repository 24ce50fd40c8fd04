"""Tracing: the trace of one step built from what the engine recorded, and its transforms (the
optimizer's part, derivations, grouping by weight, selection by name, the numerical check, the
matrix and graph views).

May import: stepgrad.core.
"""

"""Layer-table networks: convolution, pooling, flatten, dense and residual layers, one small module per kind.

spec.py reads `layers` as tables into a LayerNetwork; each layer module (conv.py, pool.py, dense.py,
flatten.py, residual.py) holds its forward and backward side by side; engine.py runs the chain and
the SGD step; values.py names every scalar (core/names.py builds the names). A new kind of layer
(recurrent, attention, normalization) is one more module and one more reader in spec.py.
"""

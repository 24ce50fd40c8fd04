"""Which layer-table networks the conv documents draw: the pictures, the lecture, --derive and the maps page."""

from __future__ import annotations

from typing import TypeGuard

from stepgrad.core.layers.spec import LayerNetwork


def drawable(net: object) -> TypeGuard[LayerNetwork]:
    """Whether the map-level pictures draw this network: a layer-table network of conv, pool, flatten,
    residual and dense (on a vector) layers; others keep the dense path's one-line refusal."""
    from stepgrad.core.layers.conv import Conv
    from stepgrad.core.layers.dense import Dense
    from stepgrad.core.layers.flatten import Flatten
    from stepgrad.core.layers.pool import Pool
    from stepgrad.core.layers.residual import Residual

    return isinstance(net, LayerNetwork) and all(
        isinstance(layer, (Conv, Pool, Flatten, Residual)) or isinstance(layer, Dense) and len(layer.in_shape) == 1
        for layer in net.all_layers())


def pictured(net: object) -> TypeGuard[LayerNetwork]:
    """Whether `stepgrad diagram` and `stepgrad graph` draw this network by maps: a conv network (drawable)
    or a sequence/normalization network (rnn, attention, layernorm, batchnorm: pictures/maps_seq_graph.py)."""
    from stepgrad.pictures.maps_seq_graph import drawable as sequence_drawable

    return drawable(net) or sequence_drawable(net)

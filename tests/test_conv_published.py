"""Published worked examples of convolution and pooling, reproduced figure by figure (each source cited).

Dive into Deep Learning (Zhang, Lipton, Li, Smola), chapter 7, https://d2l.ai/chapter_convolutional-neural-networks/
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork


def run(layers: list, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": list(x.shape)}, *layers],
                                  "activation": "linear"})
    return engine.forward(net, x[None]).values[net.layers[-1].label].out[0]


def conv(weights, **settings) -> dict:
    k = np.asarray(weights, dtype=np.float64)
    return {"type": "conv2d", "out_channels": k.shape[0], "kernel": list(k.shape[2:]), "bias": False,
            "weights": k.tolist(), **settings}


def test_d2l_7_2_1_cross_correlation() -> None:
    # d2l 7.2.1 "The Cross-Correlation Operation": corr2d(X, K) with X = [[0,1,2],[3,4,5],[6,7,8]],
    # K = [[0,1],[2,3]] prints tensor([[19., 25.], [37., 43.]]).
    out = run([conv([[[[0, 1], [2, 3]]]])], [[[0, 1, 2], [3, 4, 5], [6, 7, 8]]])
    assert out[0].tolist() == [[19, 25], [37, 43]]


def test_d2l_7_2_3_edge_detection() -> None:
    # d2l 7.2.3 "Object Edge Detection in Images": X = ones(6, 8) with columns 2..5 set to 0, K = [[1, -1]];
    # each row of Y is [0, 1, 0, 0, 0, -1, 0] (1 for the edge from white to black, -1 from black to white).
    x = np.ones((6, 8))
    x[:, 2:6] = 0
    out = run([conv([[[[1, -1]]]])], x[None])
    assert out[0].tolist() == [[0, 1, 0, 0, 0, -1, 0]] * 6
    # and the transposed image has no vertical edge for this kernel: all zeros (d2l: "K only detects vertical edges")
    assert not run([conv([[[[1, -1]]]])], x.T[None]).any()


def test_d2l_7_4_1_multiple_input_channels() -> None:
    # d2l 7.4.1 "Multiple Input Channels": corr2d_multi_in(X, K) with the two channels
    # X = [[0,1,2],[3,4,5],[6,7,8]], [[1,2,3],[4,5,6],[7,8,9]] and K = [[0,1],[2,3]], [[1,2],[3,4]]
    # prints tensor([[ 56.,  72.], [104., 120.]]).
    x = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
    out = run([conv([[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]])], x)
    assert out[0].tolist() == [[56, 72], [104, 120]]


def test_d2l_7_4_2_multiple_output_channels() -> None:
    # d2l 7.4.2: K = torch.stack((K, K + 1, K + 2), 0) gives three output channels; the first is the
    # 7.4.1 result [[56, 72], [104, 120]], and the book prints [[76, 100], [148, 172]] and
    # [[96, 128], [192, 224]] for the other two.
    k = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]], dtype=float)
    x = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
    out = run([conv(np.stack([k, k + 1, k + 2]))], x)
    assert out.tolist() == [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]


def test_d2l_7_5_1_maximum_and_average_pooling() -> None:
    # d2l 7.5.1: pool2d(X, (2, 2)) on X = [[0,1,2],[3,4,5],[6,7,8]] prints [[4., 5.], [7., 8.]] (max)
    # and [[2., 3.], [5., 6.]] (avg), with stride 1.
    x = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]
    assert run([{"type": "maxpool", "kernel": 2, "stride": 1}], x)[0].tolist() == [[4, 5], [7, 8]]
    assert run([{"type": "avgpool", "kernel": 2, "stride": 1}], x)[0].tolist() == [[2, 3], [5, 6]]


def test_d2l_7_5_2_default_stride() -> None:
    # d2l 7.5.2 "Padding and Stride": X = arange(16).reshape(1, 1, 4, 4); nn.MaxPool2d(3) (stride = the
    # window by default) prints tensor([[[[10.]]]]).
    x = np.arange(16.0).reshape(1, 4, 4)
    assert run([{"type": "maxpool", "kernel": 3}], x).tolist() == [[[10]]]

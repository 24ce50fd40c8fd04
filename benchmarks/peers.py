"""The peers stepgrad is measured against, each written plainly for the same work.

Every function takes the starting weights and the data and returns what it trained, so run.py
can check that the peers agree before it compares their times.
"""

from __future__ import annotations

import math

import numpy as np

# -- the deck's 2-2-2 network, full batch (one sample), shared biases not updated ---------------------

def deck_plain_python(w, b, x, t, lr, iterations):
    """Hand-written scalar loop (synchronous order); returns the final outputs."""
    w1, w2, w3, w4, w5, w6, w7, w8 = w
    b1, b2 = b
    i1, i2 = x
    t1, t2 = t
    exp = math.exp
    for _ in range(iterations):
        h1 = 1.0 / (1.0 + exp(-(w1 * i1 + w2 * i2 + b1)))
        h2 = 1.0 / (1.0 + exp(-(w3 * i1 + w4 * i2 + b1)))
        o1 = 1.0 / (1.0 + exp(-(w5 * h1 + w6 * h2 + b2)))
        o2 = 1.0 / (1.0 + exp(-(w7 * h1 + w8 * h2 + b2)))
        d1 = (o1 - t1) * o1 * (1.0 - o1)
        d2 = (o2 - t2) * o2 * (1.0 - o2)
        e1 = (d1 * w5 + d2 * w7) * h1 * (1.0 - h1)
        e2 = (d1 * w6 + d2 * w8) * h2 * (1.0 - h2)
        w5 -= lr * d1 * h1; w6 -= lr * d1 * h2; w7 -= lr * d2 * h1; w8 -= lr * d2 * h2
        w1 -= lr * e1 * i1; w2 -= lr * e1 * i2; w3 -= lr * e2 * i1; w4 -= lr * e2 * i2
    h1 = 1.0 / (1.0 + exp(-(w1 * i1 + w2 * i2 + b1)))
    h2 = 1.0 / (1.0 + exp(-(w3 * i1 + w4 * i2 + b1)))
    return [1.0 / (1.0 + exp(-(w5 * h1 + w6 * h2 + b2))), 1.0 / (1.0 + exp(-(w7 * h1 + w8 * h2 + b2)))]


def deck_numpy(weights, biases, x, t, lr, iterations):
    """Hand-written per-layer numpy loop; returns the final outputs."""
    w1, w2 = weights[0].copy(), weights[1].copy()
    b1, b2 = biases
    for _ in range(iterations):
        h = 1.0 / (1.0 + np.exp(-(x @ w1.T + b1)))
        o = 1.0 / (1.0 + np.exp(-(h @ w2.T + b2)))
        d2 = (o - t) * o * (1.0 - o)
        d1 = (d2 @ w2) * h * (1.0 - h)
        w2 -= lr * (d2.T @ h)
        w1 -= lr * (d1.T @ x)
    h = 1.0 / (1.0 + np.exp(-(x @ w1.T + b1)))
    return (1.0 / (1.0 + np.exp(-(h @ w2.T + b2))))[0].tolist()


def deck_torch(weights, biases, x, t, lr, iterations):
    """PyTorch autograd + torch.optim.SGD, float64; returns the final outputs."""
    import torch

    w1 = torch.tensor(weights[0], requires_grad=True)
    w2 = torch.tensor(weights[1], requires_grad=True)
    b1, b2 = torch.tensor(biases[0]), torch.tensor(biases[1])
    xt, tt = torch.tensor(x), torch.tensor(t)
    opt = torch.optim.SGD([w1, w2], lr=lr)
    for _ in range(iterations):
        opt.zero_grad()
        o = torch.sigmoid(torch.sigmoid(xt @ w1.T + b1) @ w2.T + b2)
        (0.5 * ((tt - o) ** 2).sum()).backward()
        opt.step()
    with torch.no_grad():
        return torch.sigmoid(torch.sigmoid(xt @ w1.T + b1) @ w2.T + b2)[0].tolist()


def deck_micrograd(weights, biases, x, t, lr, iterations):
    """micrograd's Value graph, rebuilt every iteration (micrograd 0.1.0 has no exp: added as one op, its way)."""
    from micrograd.engine import Value

    w = [[[Value(float(v)) for v in row] for row in layer] for layer in weights]
    x, t = np.asarray(x).tolist(), np.asarray(t).tolist()
    b = [float(biases[0][0]), float(biases[1][0])]

    def exp(z):
        out = Value(math.exp(z.data), (z,), "exp")

        def _backward():
            z.grad += out.data * out.grad
        out._backward = _backward
        return out

    def sig(z):
        return (1 + exp(-z)) ** -1

    def forward():
        h = [sig(w[0][j][0] * x[0][0] + w[0][j][1] * x[0][1] + b[0]) for j in range(2)]
        return [sig(w[1][k][0] * h[0] + w[1][k][1] * h[1] + b[1]) for k in range(2)]

    params = [p for layer in w for row in layer for p in row]
    for _ in range(iterations):
        o = forward()
        loss = 0.5 * (t[0][0] - o[0]) ** 2 + 0.5 * (t[0][1] - o[1]) ** 2
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return [v.data for v in forward()]


# -- mini-batch MLPs: tanh hidden layer, softmax + cross-entropy, SGD ----------------------------------

def mlp_numpy(w1, b1, w2, b2, x, t, lr, epochs, batch, seed, dtype=np.float32):
    """Hand-written numpy mini-batch SGD (the shuffling of stepgrad.fit); returns the parameters."""
    w1, b1, w2, b2 = (a.astype(dtype) for a in (w1, b1, w2, b2))
    x, t = x.astype(dtype), t.astype(dtype)
    n = len(x)
    for epoch in range(1, epochs + 1):
        perm = np.random.default_rng((seed, epoch)).permutation(n)  # stepgrad.training.loop.epoch_order
        xp, tp = x[perm], t[perm]
        for a in range(0, n, batch):
            xb, tb = xp[a:a + batch], tp[a:a + batch]
            m = len(xb)
            h = np.tanh(xb @ w1.T + b1)
            z = h @ w2.T + b2
            z -= z.max(axis=1, keepdims=True)
            o = np.exp(z)
            o /= o.sum(axis=1, keepdims=True)
            d2 = o - tb
            d1 = (d2 @ w2) * (1 - h * h)
            w2 -= lr / m * (d2.T @ h)
            b2 -= lr / m * d2.sum(axis=0)
            w1 -= lr / m * (d1.T @ xb)
            b1 -= lr / m * d1.sum(axis=0)
    return w1, b1, w2, b2


def mlp_torch(w1, b1, w2, b2, x, t, lr, epochs, batch, seed, dtype=np.float32):
    """PyTorch autograd + torch.optim.SGD on the same batches; returns the parameters as numpy."""
    import torch

    tdt = torch.float32 if dtype == np.float32 else torch.float64
    params = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (w1, b1, w2, b2)]
    opt = torch.optim.SGD(params, lr=lr)
    xt, tt = torch.tensor(x, dtype=tdt), torch.tensor(t, dtype=tdt)
    n = len(x)
    for epoch in range(1, epochs + 1):
        perm = torch.from_numpy(np.random.default_rng((seed, epoch)).permutation(n))
        xp, tp = xt[perm], tt[perm]
        for a in range(0, n, batch):
            xb, tb = xp[a:a + batch], tp[a:a + batch]
            opt.zero_grad()
            z = torch.tanh(xb @ params[0].T + params[1]) @ params[2].T + params[3]
            loss = -(tb * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
            loss.backward()
            opt.step()
    return [p.detach().numpy() for p in params]


def mlp_sklearn(x, t, lr, epochs, batch, seed, hidden):
    """scikit-learn's MLPClassifier, the same architecture and plain SGD (its own init and shuffling)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="tanh", solver="sgd", learning_rate_init=lr,
                        momentum=0.0, nesterovs_momentum=False, alpha=0.0, batch_size=batch, max_iter=epochs,
                        shuffle=True, random_state=seed, tol=0.0, n_iter_no_change=epochs + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, t.argmax(axis=1))
    return clf


def metrics(w1, b1, w2, b2, train, test) -> dict:
    """The final loss (mean cross-entropy) and accuracies on the training and test data, in numpy."""
    result = {}
    for name, data in (("train", train), ("test", test)):
        z = np.tanh(data.inputs @ np.asarray(w1, np.float64).T + b1) @ np.asarray(w2, np.float64).T + b2
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        result[f"{name}_loss"] = float(-(data.targets * log_p).sum(axis=1).mean())
        result[f"{name}_accuracy"] = float(np.mean(z.argmax(axis=1) == data.targets.argmax(axis=1)))
    return result


def accuracy(w1, b1, w2, b2, x, t) -> float:
    z = np.tanh(x @ np.asarray(w1, np.float64).T + b1) @ np.asarray(w2, np.float64).T + b2
    return float(np.mean(z.argmax(axis=1) == t.argmax(axis=1)))

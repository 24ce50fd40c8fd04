"""numba-compiled training loop for tiny networks (imported only by tiny.py; see there).

Every branch is named by the registry's `kernel` code of its entry: the elementwise activations
and losses are the generated region at the end (one branch per entry of `core/symbolic/formulas.py`, written
by `python -m stepgrad.core.symbolic.generate`; regenerating edits this file, which invalidates
numba's cache, so the compiled loop never runs stale branches); softmax is activation SOFTMAX,
cross-entropy with softmax and with sigmoid the losses SOFTMAX_CE and SIGMOID_CE; optimizer 0 sgd,
1 momentum, 2 adam. Any other code raises (tiny.supports refuses such networks before calling).
"""

import math
from math import copysign, cosh, erf, exp, log, log1p, pi, sinh, sqrt, tanh  # noqa: F401 (the generated code's)

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True)
SOFTMAX, SOFTMAX_CE, SIGMOID_CE = 100, 100, 101


@_jit
def _train_loop(params, slot1, slot2, layers, weight_at, bias_at, bias_count, neuron_at, acts, loss, opt, hyper,
                t0, lr, sequential, update_biases, x, t, rows, starts, ends, steps, errors):
    depth = layers.shape[0] - 1
    total = neuron_at[-1]
    n_out = layers[depth]
    out_at = neuron_at[depth]
    cap = 0
    for k in range(steps):
        cap = max(cap, ends[k] - starts[k])
    z = np.zeros((cap, total))
    a = np.zeros((cap, total))
    d = np.zeros((cap, total))
    g = np.zeros(params.shape[0])
    for k in range(steps):
        nb = ends[k] - starts[k]
        # forward
        error = 0.0
        for s in range(nb):
            r = rows[starts[k] + s]
            for i in range(layers[0]):
                a[s, i] = x[r, i]
            for l in range(depth):
                lo, hi = neuron_at[l], neuron_at[l + 1]
                for j in range(layers[l + 1]):
                    bias = params[bias_at[l]] if bias_count[l] == 1 else params[bias_at[l] + j]
                    acc = 0.0
                    row = weight_at[l] + j * layers[l]
                    for i in range(layers[l]):
                        acc += params[row + i] * a[s, lo + i]
                    z[s, hi + j] = acc + bias
                _activate(acts[l], z, a, s, hi, layers[l + 1])
            # error terms, summed over outputs, and the output delta
            e = 0.0
            if loss == SOFTMAX_CE:  # cross-entropy with softmax: from net (log-sum-exp); delta = out - target
                m = z[s, out_at]
                for o in range(n_out):
                    m = max(m, z[s, out_at + o])
                se = 0.0
                for o in range(n_out):
                    se += math.exp(z[s, out_at + o] - m)
                lse = m + math.log(se)
                for o in range(n_out):
                    e += t[r, o] * (lse - z[s, out_at + o])
                    d[s, out_at + o] = a[s, out_at + o] - t[r, o]
            elif loss == SIGMOID_CE:  # cross-entropy with sigmoid: softplus(net) - t net; delta = out - target
                for o in range(n_out):
                    zz = z[s, out_at + o]
                    e += max(zz, 0.0) + math.log1p(math.exp(-abs(zz))) - t[r, o] * zz
                    d[s, out_at + o] = a[s, out_at + o] - t[r, o]
            else:
                for o in range(n_out):
                    e += _loss_value(loss, a[s, out_at + o], t[r, o], n_out)
                    d[s, out_at + o] = _loss_gradient(loss, a[s, out_at + o], t[r, o], n_out)
                if acts[depth - 1] == SOFTMAX:
                    dot = 0.0
                    for o in range(n_out):
                        dot += d[s, out_at + o] * a[s, out_at + o]
                    for o in range(n_out):
                        d[s, out_at + o] = a[s, out_at + o] * (d[s, out_at + o] - dot)
                else:
                    for o in range(n_out):
                        d[s, out_at + o] *= _derivative(acts[depth - 1], z[s, out_at + o], a[s, out_at + o])
            error += e
        errors[k] = error / nb
        # backward
        for l in range(depth - 1, -1, -1):
            lo, hi = neuron_at[l], neuron_at[l + 1]
            for j in range(layers[l + 1]):
                row = weight_at[l] + j * layers[l]
                for i in range(layers[l]):
                    acc = 0.0
                    for s in range(nb):
                        acc += d[s, hi + j] * a[s, lo + i]
                    g[row + i] = acc / nb
            shared_sum = 0.0
            for j in range(layers[l + 1]):
                acc = 0.0
                for s in range(nb):
                    acc += d[s, hi + j]
                if bias_count[l] == 1:
                    shared_sum += acc / nb
                else:
                    g[bias_at[l] + j] = acc / nb
            if bias_count[l] == 1:
                g[bias_at[l]] = shared_sum
            if sequential:
                _update_layer(params, g, slot1, slot2, l, weight_at, bias_at, bias_count, layers, opt, hyper,
                              t0 + k + 1, lr, update_biases)
            if l > 0:
                for s in range(nb):
                    for i in range(layers[l]):
                        acc = 0.0
                        for j in range(layers[l + 1]):
                            acc += d[s, hi + j] * params[weight_at[l] + j * layers[l] + i]
                        d[s, lo + i] = acc * _derivative(acts[l - 1], z[s, lo + i], a[s, lo + i])
        if not sequential:
            for l in range(depth):
                _update_layer(params, g, slot1, slot2, l, weight_at, bias_at, bias_count, layers, opt, hyper,
                              t0 + k + 1, lr, update_biases)


@_jit
def _activate(act, z, a, s, at, n):
    if act == SOFTMAX:
        m = z[s, at]
        for j in range(n):
            m = max(m, z[s, at + j])
        total = 0.0
        for j in range(n):
            a[s, at + j] = math.exp(z[s, at + j] - m)
            total += a[s, at + j]
        for j in range(n):
            a[s, at + j] = a[s, at + j] / total
        return
    for j in range(n):
        a[s, at + j] = _activation(act, z[s, at + j])


@_jit
def _update_layer(params, g, slot1, slot2, l, weight_at, bias_at, bias_count, layers, opt, hyper, step, lr,
                  update_biases):
    lo = weight_at[l]
    hi = lo + layers[l + 1] * layers[l]
    _update_range(params, g, slot1, slot2, lo, hi, opt, hyper, step, lr)
    if update_biases:
        _update_range(params, g, slot1, slot2, bias_at[l], bias_at[l] + bias_count[l], opt, hyper, step, lr)


@_jit
def _update_range(params, g, slot1, slot2, lo, hi, opt, hyper, step, lr):
    for p in range(lo, hi):
        if opt == 0:
            params[p] = params[p] - lr * g[p]
        elif opt == 1:
            slot1[p] = hyper[0] * slot1[p] + g[p]
            params[p] = params[p] - lr * slot1[p]
        elif opt == 2:
            b1, b2, eps = hyper[1], hyper[2], hyper[3]
            slot1[p] = b1 * slot1[p] + (1 - b1) * g[p]
            slot2[p] = b2 * slot2[p] + (1 - b2) * g[p] * g[p]
            m_hat = slot1[p] / (1 - b1 ** step)
            s_hat = slot2[p] / (1 - b2 ** step)
            params[p] = params[p] - lr * m_hat / (math.sqrt(s_hat) + eps)
        else:
            raise ValueError("unknown optimizer code")


# --- generated by stepgrad.core.symbolic.generate: begin ---
@_jit
def _activation(code, net):
    if code == 0:
        return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))  # noqa: E501, UP034 (generated)
    if code == 1:
        return tanh(net)  # noqa: E501, UP034 (generated)
    if code == 2:
        return ((net) if (net > 0) else (0))  # noqa: E501, UP034 (generated)
    if code == 3:
        return ((net) if (net > 0) else (0.01*net))  # noqa: E501, UP034 (generated)
    if code == 4:
        return net  # noqa: E501, UP034 (generated)
    if code == 5:
        return (max(net, 0.0) + log1p(exp(-abs(net))))  # noqa: E501, UP034 (generated)
    if code == 6:
        return ((net) if (net > 0) else (exp(net) - 1))  # noqa: E501, UP034 (generated)
    if code == 7:
        return 0.5*net*(erf(0.7071067811865476*net) + 1)  # noqa: E501, UP034 (generated)
    if code == 8:
        return 0.5*net*(tanh(0.035677408136300125*net**3 + 0.7978845608028654*net) + 1)  # noqa: E501, UP034 (generated)
    if code == 9:
        return net * (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))  # noqa: E501, UP034 (generated)
    if code == 10:
        return net/(abs(net) + 1)  # noqa: E501, UP034 (generated)
    raise ValueError("unknown activation code")


@_jit
def _derivative(code, net, out):
    if code == 0:
        return -out*(out - 1)  # noqa: E501, UP034 (generated)
    if code == 1:
        return 1 - out**2  # noqa: E501, UP034 (generated)
    if code == 2:
        return ((1) if (net > 0) else (0))  # noqa: E501, UP034 (generated)
    if code == 3:
        return ((1) if (net > 0) else (0.01))  # noqa: E501, UP034 (generated)
    if code == 4:
        return 1  # noqa: E501, UP034 (generated)
    if code == 5:
        return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))  # noqa: E501, UP034 (generated)
    if code == 6:
        return ((1) if (net > 0) else (out + 1))  # noqa: E501, UP034 (generated)
    if code == 7:
        return 0.3989422804014327*net*exp(-0.5*net**2) + 0.5*erf(0.7071067811865476*net) + 0.5  # noqa: E501, UP034 (generated)
    if code == 8:
        return 0.3989422804014327*net*(1 - tanh(0.035677408136300125*net**3 + 0.7978845608028654*net)**2)*(0.134145*net**2 + 1) + 0.5*tanh(0.035677408136300125*net**3 + 0.7978845608028654*net) + 0.5  # noqa: E501, UP034 (generated)
    if code == 9:
        return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net))) * (1.0 + net * (1.0 - (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))))  # noqa: E501, UP034 (generated)
    if code == 10:
        return -net*(0.0 if net == 0 else copysign(1, net))/(abs(net) + 1)**2 + 1/(abs(net) + 1)  # noqa: E501, UP034 (generated)
    raise ValueError("unknown activation code")


@_jit
def _loss_value(code, out, target, n):
    if code == 0:
        return 0.5*(-out + target)**2  # noqa: E501, UP034 (generated)
    if code == 1:
        return (-out + target)**2/n  # noqa: E501, UP034 (generated)
    if code == 2:
        return ((0.5*(out - target)**2) if (abs(out - target) < 1) else (abs(out - target) - 0.5))  # noqa: E501, UP034 (generated)
    if code == 3:
        return (abs(out - target) + log1p(exp(-2.0 * abs(out - target))) - 0.6931471805599453)  # noqa: E501, UP034 (generated)
    if code == 4:
        return abs(out - target)/n  # noqa: E501, UP034 (generated)
    if code == 5:
        return ((0.5*(out - target)**2/n) if (abs(out - target) < 1) else ((abs(out - target) - 0.5)/n))  # noqa: E501, UP034 (generated)
    if code == 6:
        return (-out + target)**2  # noqa: E501, UP034 (generated)
    if code == 7:
        return abs(out - target)  # noqa: E501, UP034 (generated)
    raise ValueError("unknown loss code")


@_jit
def _loss_gradient(code, out, target, n):
    if code == 0:
        return out - target  # noqa: E501, UP034 (generated)
    if code == 1:
        return -2*(-out + target)/n  # noqa: E501, UP034 (generated)
    if code == 2:
        return ((out - target) if (abs(out - target) < 1) else ((0.0 if out - target == 0 else copysign(1, out - target))))  # noqa: E501, UP034 (generated)
    if code == 3:
        return tanh(out - target)  # noqa: E501, UP034 (generated)
    if code == 4:
        return (0.0 if out - target == 0 else copysign(1, out - target))/n  # noqa: E501, UP034 (generated)
    if code == 5:
        return (((out - target)/n) if (abs(out - target) < 1) else ((0.0 if out - target == 0 else copysign(1, out - target))/n))  # noqa: E501, UP034 (generated)
    if code == 6:
        return 2*out - 2*target  # noqa: E501, UP034 (generated)
    if code == 7:
        return (0.0 if out - target == 0 else copysign(1, out - target))  # noqa: E501, UP034 (generated)
    raise ValueError("unknown loss code")
# --- generated: end ---

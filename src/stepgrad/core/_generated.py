"""Generated from core/symbolic/formulas.py by `python -m stepgrad.core.symbolic.generate`: do not edit.

Each entry's forms (see `core/functions.py` for what they mean); the tests hold every one to its formula.
"""
# ruff: noqa
# mypy: ignore-errors
# fmt: off

from math import copysign, cosh, erf, exp, log, log1p, pi, sinh, sqrt, tanh
from typing import Any

import numpy

from stepgrad.core import _stable
from stepgrad.core._stable import erf_array as _erf, shaped as _shaped


def sigmoid_value(net):
    return _stable.sigmoid_value(net)


def sigmoid_derivative(net, out):
    return _shaped(net, -out*(out - 1))


def sigmoid_scalar(net):
    return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))


def sigmoid_scalar_derivative(net):
    out = sigmoid_scalar(net)
    return -out*(out - 1)


def tanh_value(net):
    return _shaped(net, numpy.tanh(net))


def tanh_derivative(net, out):
    return _shaped(net, 1 - out**2)


def tanh_scalar(net):
    return tanh(net)


def tanh_scalar_derivative(net):
    out = tanh_scalar(net)
    return 1 - out**2


def relu_value(net):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), net, 0))


def relu_derivative(net, out):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), 1, 0))


def relu_scalar(net):
    return ((net) if (net > 0) else (0))


def relu_scalar_derivative(net):
    out = relu_scalar(net)
    return ((1) if (net > 0) else (0))


def leaky_relu_value(net):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), net, 0.01*net))


def leaky_relu_derivative(net, out):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), 1, 0.01))


def leaky_relu_scalar(net):
    return ((net) if (net > 0) else (0.01*net))


def leaky_relu_scalar_derivative(net):
    out = leaky_relu_scalar(net)
    return ((1) if (net > 0) else (0.01))


def linear_value(net):
    return _shaped(net, net)


def linear_derivative(net, out):
    return _shaped(net, 1)


def linear_scalar(net):
    return net


def linear_scalar_derivative(net):
    out = linear_scalar(net)
    return 1


def softplus_value(net):
    return _stable.softplus_value(net)


def softplus_derivative(net, out):
    return _stable.softplus_derivative(net, out)


def softplus_scalar(net):
    return (max(net, 0.0) + log1p(exp(-abs(net))))


def softplus_scalar_derivative(net):
    out = softplus_scalar(net)
    return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))


def elu_value(net):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), net, numpy.exp(net) - 1))


def elu_derivative(net, out):
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(net, numpy.where(numpy.greater(net, 0), 1, out + 1))


def elu_scalar(net):
    return ((net) if (net > 0) else (exp(net) - 1))


def elu_scalar_derivative(net):
    out = elu_scalar(net)
    return ((1) if (net > 0) else (out + 1))


def gelu_value(net):
    return _shaped(net, 0.5*net*(_erf(0.70710678118654752*net) + 1))


def gelu_derivative(net, out):
    return _shaped(net, 0.39894228040143268*net*numpy.exp(-0.5*net**2) + 0.5*_erf(0.70710678118654752*net) + 0.5)


def gelu_scalar(net):
    return 0.5*net*(erf(0.7071067811865476*net) + 1)


def gelu_scalar_derivative(net):
    out = gelu_scalar(net)
    return 0.3989422804014327*net*exp(-0.5*net**2) + 0.5*erf(0.7071067811865476*net) + 0.5


def gelu_tanh_value(net):
    return _shaped(net, 0.5*net*(numpy.tanh(0.035677408136300123*net**3 + 0.79788456080286536*net) + 1))


def gelu_tanh_derivative(net, out):
    return _shaped(net, 0.39894228040143268*net*(1 - numpy.tanh(0.035677408136300123*net**3 + 0.79788456080286536*net)**2)*(0.13414499999999999*net**2 + 1) + 0.5*numpy.tanh(0.035677408136300123*net**3 + 0.79788456080286536*net) + 0.5)


def gelu_tanh_scalar(net):
    return 0.5*net*(tanh(0.035677408136300125*net**3 + 0.7978845608028654*net) + 1)


def gelu_tanh_scalar_derivative(net):
    out = gelu_tanh_scalar(net)
    return 0.3989422804014327*net*(1 - tanh(0.035677408136300125*net**3 + 0.7978845608028654*net)**2)*(0.134145*net**2 + 1) + 0.5*tanh(0.035677408136300125*net**3 + 0.7978845608028654*net) + 0.5


def silu_value(net):
    return _stable.silu_value(net)


def silu_derivative(net, out):
    return _stable.silu_derivative(net, out)


def silu_scalar(net):
    return net * (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))


def silu_scalar_derivative(net):
    out = silu_scalar(net)
    return (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net))) * (1.0 + net * (1.0 - (1.0 / (1.0 + exp(-net)) if net >= 0.0 else exp(net) / (1.0 + exp(net)))))


def softsign_value(net):
    return _shaped(net, net/(abs(net) + 1))


def softsign_derivative(net, out):
    return _shaped(net, -net*numpy.sign(net)/(abs(net) + 1)**2 + (abs(net) + 1)**(-1.0))


def softsign_scalar(net):
    return net/(abs(net) + 1)


def softsign_scalar_derivative(net):
    out = softsign_scalar(net)
    return -net*(0.0 if net == 0 else copysign(1, net))/(abs(net) + 1)**2 + 1/(abs(net) + 1)


def half_squared_error_value(out, target):
    n = out.shape[-1]
    return _shaped(out, 0.5*(-out + target)**2)


def half_squared_error_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, out - target)


def half_squared_error_scalar(out, target, n):
    return 0.5*(-out + target)**2


def half_squared_error_scalar_derivative(out, target, n):
    return out - target


def mean_squared_error_value(out, target):
    n = out.shape[-1]
    return _shaped(out, (-out + target)**2/n)


def mean_squared_error_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, -2*(-out + target)/n)


def mean_squared_error_scalar(out, target, n):
    return (-out + target)**2/n


def mean_squared_error_scalar_derivative(out, target, n):
    return -2*(-out + target)/n


def huber_value(out, target):
    n = out.shape[-1]
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(out, numpy.where(numpy.less(abs(out - target), 1), 0.5*(out - target)**2, abs(out - target) - 0.5))


def huber_gradient(out, target):
    n = out.shape[-1]
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(out, numpy.where(numpy.less(abs(out - target), 1), out - target, numpy.sign(out - target)))


def huber_scalar(out, target, n):
    return ((0.5*(out - target)**2) if (abs(out - target) < 1) else (abs(out - target) - 0.5))


def huber_scalar_derivative(out, target, n):
    return ((out - target) if (abs(out - target) < 1) else ((0.0 if out - target == 0 else copysign(1, out - target))))


def log_cosh_value(out, target):
    n = out.shape[-1]
    return _stable.log_cosh_value(out, target)


def log_cosh_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, numpy.tanh(out - target))


def log_cosh_scalar(out, target, n):
    return (abs(out - target) + log1p(exp(-2.0 * abs(out - target))) - 0.6931471805599453)


def log_cosh_scalar_derivative(out, target, n):
    return tanh(out - target)


def l1_value(out, target):
    n = out.shape[-1]
    return _shaped(out, abs(out - target)/n)


def l1_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, numpy.sign(out - target)/n)


def l1_scalar(out, target, n):
    return abs(out - target)/n


def l1_scalar_derivative(out, target, n):
    return (0.0 if out - target == 0 else copysign(1, out - target))/n


def smooth_l1_value(out, target):
    n = out.shape[-1]
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(out, numpy.where(numpy.less(abs(out - target), 1), 0.5*(out - target)**2/n, (abs(out - target) - 0.5)/n))


def smooth_l1_gradient(out, target):
    n = out.shape[-1]
    with numpy.errstate(over='ignore', invalid='ignore'):
        return _shaped(out, numpy.where(numpy.less(abs(out - target), 1), (out - target)/n, numpy.sign(out - target)/n))


def smooth_l1_scalar(out, target, n):
    return ((0.5*(out - target)**2/n) if (abs(out - target) < 1) else ((abs(out - target) - 0.5)/n))


def smooth_l1_scalar_derivative(out, target, n):
    return (((out - target)/n) if (abs(out - target) < 1) else ((0.0 if out - target == 0 else copysign(1, out - target))/n))


def squared_error_value(out, target):
    n = out.shape[-1]
    return _shaped(out, (-out + target)**2)


def squared_error_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, 2*out - 2*target)


def squared_error_scalar(out, target, n):
    return (-out + target)**2


def squared_error_scalar_derivative(out, target, n):
    return 2*out - 2*target


def absolute_error_value(out, target):
    n = out.shape[-1]
    return _shaped(out, abs(out - target))


def absolute_error_gradient(out, target):
    n = out.shape[-1]
    return _shaped(out, numpy.sign(out - target))


def absolute_error_scalar(out, target, n):
    return abs(out - target)


def absolute_error_scalar_derivative(out, target, n):
    return (0.0 if out - target == 0 else copysign(1, out - target))


ACTIVATIONS: dict[str, dict[str, Any]] = {
    'sigmoid': {
        'latex': '\\frac{1}{1 + e^{-«net»}}',
        'text': '1 / (1 + exp(-«net»))',
        'derivative_latex': '«out» (1 - «out»)',
        'derivative_text': '«out» * (1 - «out»)',
        'derivation': (('power rule, chain rule, exp rule on 1 / (1 + exp(-net))', '-1 \\cdot (1 + e^{-«net»})^{-2} \\cdot e^{-«net»} \\cdot (-1)', '-1 * (1 + exp(-«net»))^(-2) * exp(-«net») * (-1)'), ('multiplied out', '\\frac{e^{-«net»}}{(1 + e^{-«net»})^{2}}', 'exp(-«net») / (1 + exp(-«net»))^2'), ('with out = 1 / (1 + exp(-net))', '«out» (1 - «out»)', '«out» * (1 - «out»)')),
        'python': ('(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))', '-{out}*({out} - 1)'),
        'torch_module': 'nn.Sigmoid',
        'torch_functional': 'torch.sigmoid',
        'torch_kwargs': {},
        'value': sigmoid_value,
        'derivative': sigmoid_derivative,
        'scalar': (sigmoid_scalar, sigmoid_scalar_derivative),
        'kernel': 0,
    },
    'tanh': {
        'latex': '\\tanh\\left(«net»\\right)',
        'text': 'tanh(«net»)',
        'derivative_latex': '1 - «out»^{2}',
        'derivative_text': '1 - «out»^2',
        'derivation': (('tanh = sinh/cosh, quotient rule on tanh(net)', '(\\cosh\\left(«net»\\right) \\cdot \\cosh\\left(«net»\\right) - \\sinh\\left(«net»\\right) \\cdot \\sinh\\left(«net»\\right)) \\cdot \\cosh\\left(«net»\\right)^{-2}', '(cosh(«net») * cosh(«net») - sinh(«net») * sinh(«net»)) * cosh(«net»)^(-2)'), ('multiplied out', '\\frac{\\cosh\\left(«net»\\right) \\cosh\\left(«net»\\right) - \\sinh\\left(«net»\\right) \\sinh\\left(«net»\\right)}{\\cosh\\left(«net»\\right)^{2}}', '(cosh(«net») * cosh(«net») - sinh(«net») * sinh(«net»)) / cosh(«net»)^2'), ('simplified', '1 - \\tanh\\left(«net»\\right)^{2}', '1 - tanh(«net»)^2'), ('with out = tanh(net)', '1 - «out»^{2}', '1 - «out»^2')),
        'python': ('tanh({net})', '1 - {out}**2'),
        'torch_module': 'nn.Tanh',
        'torch_functional': 'torch.tanh',
        'torch_kwargs': {},
        'value': tanh_value,
        'derivative': tanh_derivative,
        'scalar': (tanh_scalar, tanh_scalar_derivative),
        'kernel': 1,
    },
    'relu': {
        'latex': '\\max(0, «net»)',
        'text': 'max(0, «net»)',
        'derivative_latex': '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 0 & \\text{otherwise} \\end{cases}',
        'derivative_text': '1 if «net» > 0, else 0',
        'derivation': (('each piece on max(0, net)', '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 0 & \\text{otherwise} \\end{cases}', '1 if «net» > 0, else 0'),),
        'python': ('(({net}) if ({net} > 0) else (0))', '((1) if ({net} > 0) else (0))'),
        'torch_module': 'nn.ReLU',
        'torch_functional': 'F.relu',
        'torch_kwargs': {},
        'value': relu_value,
        'derivative': relu_derivative,
        'scalar': (relu_scalar, relu_scalar_derivative),
        'kernel': 2,
    },
    'leaky_relu': {
        'latex': '\\begin{cases} «net» & \\text{if } «net» > 0 \\\\ 0.01 «net» & \\text{otherwise} \\end{cases}',
        'text': '«net» if «net» > 0, else 0.01 * «net»',
        'derivative_latex': '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 0.01 & \\text{otherwise} \\end{cases}',
        'derivative_text': '1 if «net» > 0, else 0.01',
        'derivation': (('each piece on net if net > 0, else 0.01 * net', '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 0.01 & \\text{otherwise} \\end{cases}', '1 if «net» > 0, else 0.01'),),
        'python': ('(({net}) if ({net} > 0) else (0.01*{net}))', '((1) if ({net} > 0) else (0.01))'),
        'torch_module': 'nn.LeakyReLU',
        'torch_functional': 'F.leaky_relu',
        'torch_kwargs': {'negative_slope': 0.01},
        'value': leaky_relu_value,
        'derivative': leaky_relu_derivative,
        'scalar': (leaky_relu_scalar, leaky_relu_scalar_derivative),
        'kernel': 3,
    },
    'linear': {
        'latex': '«net»',
        'text': '«net»',
        'derivative_latex': '1',
        'derivative_text': '1',
        'derivation': (('power rule on net', '1', '1'),),
        'python': ('{net}', '1'),
        'torch_module': 'nn.Identity',
        'torch_functional': None,
        'torch_kwargs': {},
        'value': linear_value,
        'derivative': linear_derivative,
        'scalar': (linear_scalar, linear_scalar_derivative),
        'kernel': 4,
    },
    'softplus': {
        'latex': '\\ln\\left(1 + e^{«net»}\\right)',
        'text': 'ln(1 + exp(«net»))',
        'derivative_latex': '\\frac{e^{«net»}}{1 + e^{«net»}}',
        'derivative_text': 'exp(«net») / (1 + exp(«net»))',
        'derivation': (('ln rule, chain rule, exp rule on ln(1 + exp(net))', '(1 + e^{«net»})^{-1} \\cdot e^{«net»}', '(1 + exp(«net»))^(-1) * exp(«net»)'), ('multiplied out', '\\frac{e^{«net»}}{1 + e^{«net»}}', 'exp(«net») / (1 + exp(«net»))')),
        'python': ('(max({net}, 0.0) + log1p(exp(-abs({net}))))', '(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))'),
        'torch_module': 'nn.Softplus',
        'torch_functional': 'F.softplus',
        'torch_kwargs': {},
        'value': softplus_value,
        'derivative': softplus_derivative,
        'scalar': (softplus_scalar, softplus_scalar_derivative),
        'kernel': 5,
    },
    'elu': {
        'latex': '\\begin{cases} «net» & \\text{if } «net» > 0 \\\\ e^{«net»} - 1 & \\text{otherwise} \\end{cases}',
        'text': '«net» if «net» > 0, else exp(«net») - 1',
        'derivative_latex': '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 1 + «out» & \\text{otherwise} \\end{cases}',
        'derivative_text': '1 if «net» > 0, else 1 + «out»',
        'derivation': (('each piece, exp rule on net if net > 0, else exp(net) - 1', '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ e^{«net»} & \\text{otherwise} \\end{cases}', '1 if «net» > 0, else exp(«net»)'), ('with out = net if net > 0, else exp(net) - 1', '\\begin{cases} 1 & \\text{if } «net» > 0 \\\\ 1 + «out» & \\text{otherwise} \\end{cases}', '1 if «net» > 0, else 1 + «out»')),
        'python': ('(({net}) if ({net} > 0) else (exp({net}) - 1))', '((1) if ({net} > 0) else ({out} + 1))'),
        'torch_module': 'nn.ELU',
        'torch_functional': 'F.elu',
        'torch_kwargs': {},
        'value': elu_value,
        'derivative': elu_derivative,
        'scalar': (elu_scalar, elu_scalar_derivative),
        'kernel': 6,
    },
    'gelu': {
        'latex': '\\frac{1}{2} «net» \\left(1 + \\operatorname{erf}\\left(\\frac{«net»}{\\sqrt{2}}\\right)\\right)',
        'text': '1/2 * «net» * (1 + erf(«net» / sqrt(2)))',
        'derivative_latex': '\\frac{1}{2} + \\frac{«net» e^{-\\frac{1}{2} «net»^{2}}}{\\sqrt{\\pi} \\cdot \\sqrt{2}} + \\frac{1}{2} \\operatorname{erf}\\left(\\frac{«net»}{\\sqrt{2}}\\right)',
        'derivative_text': '1/2 + «net» * exp(-1/2 * «net»^2) / (sqrt(pi) * sqrt(2)) + 1/2 * erf(«net» / sqrt(2))',
        'derivation': (("product rule, erf' = 2/sqrt(pi) exp(-u^2), chain rule on 1/2 * net * (1 + erf(net / sqrt(2)))", '\\frac{1}{2} \\cdot \\left(2 \\cdot \\sqrt{\\pi}^{-1} \\cdot e^{-\\frac{1}{2} \\cdot «net»^{2}} \\cdot \\frac{1}{2} \\cdot \\sqrt{2} \\cdot «net» + \\left(1 + \\operatorname{erf}\\left(\\frac{1}{2} \\cdot «net» \\cdot \\sqrt{2}\\right)\\right)\\right)', '1/2 * (2 * sqrt(pi)^(-1) * exp(-1/2 * «net»^2) * 1/2 * sqrt(2) * «net» + (1 + erf(1/2 * «net» * sqrt(2))))'), ('multiplied out', '\\frac{1}{2} \\left(1 + \\frac{\\sqrt{2} e^{-\\frac{1}{2} «net»^{2}} «net»}{\\sqrt{\\pi}} + \\operatorname{erf}\\left(\\frac{«net»}{\\sqrt{2}}\\right)\\right)', '1/2 * (1 + sqrt(2) * exp(-1/2 * «net»^2) * «net» / sqrt(pi) + erf(«net» / sqrt(2)))'), ('simplified', '\\frac{1}{2} + \\frac{«net» e^{-\\frac{1}{2} «net»^{2}}}{\\sqrt{\\pi} \\cdot \\sqrt{2}} + \\frac{1}{2} \\operatorname{erf}\\left(\\frac{«net»}{\\sqrt{2}}\\right)', '1/2 + «net» * exp(-1/2 * «net»^2) / (sqrt(pi) * sqrt(2)) + 1/2 * erf(«net» / sqrt(2))')),
        'python': ('0.5*{net}*(erf(0.7071067811865476*{net}) + 1)', '0.3989422804014327*{net}*exp(-0.5*{net}**2) + 0.5*erf(0.7071067811865476*{net}) + 0.5'),
        'torch_module': 'nn.GELU',
        'torch_functional': 'F.gelu',
        'torch_kwargs': {},
        'value': gelu_value,
        'derivative': gelu_derivative,
        'scalar': (gelu_scalar, gelu_scalar_derivative),
        'kernel': 7,
    },
    'gelu_tanh': {
        'latex': '\\frac{1}{2} «net» \\left(1 + \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)\\right)',
        'text': '1/2 * «net» * (1 + tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi)))',
        'derivative_latex': '\\frac{1}{2} + \\frac{«net» \\left(1 - \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)^{2}\\right) (1 + 0.134145 «net»^{2})}{\\sqrt{\\pi} \\cdot \\sqrt{2}} + \\frac{1}{2} \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)',
        'derivative_text': '1/2 + «net» * (1 - tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))^2) * (1 + 0.134145 * «net»^2) / (sqrt(pi) * sqrt(2)) + 1/2 * tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))',
        'derivation': (('product rule, tanh = sinh/cosh, quotient rule, chain rule, power rule, sum rule on 1/2 * net * (1 + tanh(sqrt(2) * (0.044715 * net^3 + net) / sqrt(pi)))', '\\frac{1}{2} \\cdot \\left(\\left(\\cosh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right) \\cdot \\cosh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right) - \\sinh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right) \\cdot \\sinh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right)\\right) \\cdot \\cosh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right)^{-2} \\cdot \\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (1 + 3 \\cdot 0.044715 \\cdot «net»^{3 - 1}) \\cdot «net» + \\left(1 + \\tanh\\left(\\sqrt{2} \\cdot \\pi^{-\\frac{1}{2}} \\cdot (0.044715 \\cdot «net»^{3} + «net»)\\right)\\right)\\right)', '1/2 * ((cosh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»)) * cosh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»)) - sinh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»)) * sinh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»))) * cosh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»))^(-2) * sqrt(2) * pi^(-1/2) * (1 + 3 * 0.044715 * «net»^(3-1)) * «net» + (1 + tanh(sqrt(2) * pi^(-1/2) * (0.044715 * «net»^3 + «net»))))'), ('multiplied out', '\\frac{1}{2} \\left(1 + \\frac{\\sqrt{2} \\left(\\cosh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right) \\cosh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right) - \\sinh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right) \\sinh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)\\right) (1 + 0.134145 «net»^{2}) «net»}{\\sqrt{\\pi} \\cosh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)^{2}} + \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)\\right)', '1/2 * (1 + sqrt(2) * (cosh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi)) * cosh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi)) - sinh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi)) * sinh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))) * (1 + 0.134145 * «net»^2) * «net» / (sqrt(pi) * cosh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))^2) + tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi)))'), ('simplified', '\\frac{1}{2} + \\frac{«net» \\left(1 - \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)^{2}\\right) (1 + 0.134145 «net»^{2})}{\\sqrt{\\pi} \\cdot \\sqrt{2}} + \\frac{1}{2} \\tanh\\left(\\frac{\\sqrt{2} (0.044715 «net»^{3} + «net»)}{\\sqrt{\\pi}}\\right)', '1/2 + «net» * (1 - tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))^2) * (1 + 0.134145 * «net»^2) / (sqrt(pi) * sqrt(2)) + 1/2 * tanh(sqrt(2) * (0.044715 * «net»^3 + «net») / sqrt(pi))')),
        'python': ('0.5*{net}*(tanh(0.035677408136300125*{net}**3 + 0.7978845608028654*{net}) + 1)', '0.3989422804014327*{net}*(1 - tanh(0.035677408136300125*{net}**3 + 0.7978845608028654*{net})**2)*(0.134145*{net}**2 + 1) + 0.5*tanh(0.035677408136300125*{net}**3 + 0.7978845608028654*{net}) + 0.5'),
        'torch_module': 'nn.GELU',
        'torch_functional': 'F.gelu',
        'torch_kwargs': {'approximate': 'tanh'},
        'value': gelu_tanh_value,
        'derivative': gelu_tanh_derivative,
        'scalar': (gelu_tanh_scalar, gelu_tanh_scalar_derivative),
        'kernel': 8,
    },
    'silu': {
        'latex': '\\frac{«net»}{1 + e^{-«net»}}',
        'text': '«net» / (1 + exp(-«net»))',
        'derivative_latex': '\\frac{«net» e^{-«net»}}{(1 + e^{-«net»})^{2}} + \\frac{1}{1 + e^{-«net»}}',
        'derivative_text': '«net» * exp(-«net») / (1 + exp(-«net»))^2 + 1 / (1 + exp(-«net»))',
        'derivation': (('quotient rule, exp rule, chain rule on net / (1 + exp(-net))', '(1 + e^{-«net»} - «net» \\cdot e^{-«net»} \\cdot (-1)) \\cdot (1 + e^{-«net»})^{-2}', '(1 + exp(-«net») - «net» * exp(-«net») * (-1)) * (1 + exp(-«net»))^(-2)'), ('multiplied out', '\\frac{1 + «net» e^{-«net»} + e^{-«net»}}{(1 + e^{-«net»})^{2}}', '(1 + «net» * exp(-«net») + exp(-«net»)) / (1 + exp(-«net»))^2'), ('simplified', '\\frac{«net» e^{-«net»}}{(1 + e^{-«net»})^{2}} + \\frac{1}{1 + e^{-«net»}}', '«net» * exp(-«net») / (1 + exp(-«net»))^2 + 1 / (1 + exp(-«net»))')),
        'python': ('{net} * (1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))', '(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net}))) * (1.0 + {net} * (1.0 - (1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))))'),
        'torch_module': 'nn.SiLU',
        'torch_functional': 'F.silu',
        'torch_kwargs': {},
        'value': silu_value,
        'derivative': silu_derivative,
        'scalar': (silu_scalar, silu_scalar_derivative),
        'kernel': 9,
    },
    'softsign': {
        'latex': '\\frac{«net»}{1 + \\left|«net»\\right|}',
        'text': '«net» / (1 + abs(«net»))',
        'derivative_latex': '\\frac{1}{1 + \\left|«net»\\right|} - \\frac{«net» \\operatorname{sign}\\left(«net»\\right)}{(1 + \\left|«net»\\right|)^{2}}',
        'derivative_text': '1 / (1 + abs(«net»)) - «net» * sign(«net») / (1 + abs(«net»))^2',
        'derivation': (('quotient rule, the slope of |u| is sign(u) on net / (1 + abs(net))', '(1 + \\left|«net»\\right| - «net» \\cdot \\operatorname{sign}\\left(«net»\\right)) \\cdot (1 + \\left|«net»\\right|)^{-2}', '(1 + abs(«net») - «net» * sign(«net»)) * (1 + abs(«net»))^(-2)'), ('multiplied out', '\\frac{1 + \\left|«net»\\right| - «net» \\operatorname{sign}\\left(«net»\\right)}{(1 + \\left|«net»\\right|)^{2}}', '(1 + abs(«net») - «net» * sign(«net»)) / (1 + abs(«net»))^2'), ('simplified', '\\frac{1}{1 + \\left|«net»\\right|} - \\frac{«net» \\operatorname{sign}\\left(«net»\\right)}{(1 + \\left|«net»\\right|)^{2}}', '1 / (1 + abs(«net»)) - «net» * sign(«net») / (1 + abs(«net»))^2')),
        'python': ('{net}/(abs({net}) + 1)', '-{net}*(0.0 if {net} == 0 else copysign(1, {net}))/(abs({net}) + 1)**2 + 1/(abs({net}) + 1)'),
        'torch_module': 'nn.Softsign',
        'torch_functional': 'F.softsign',
        'torch_kwargs': {},
        'value': softsign_value,
        'derivative': softsign_derivative,
        'scalar': (softsign_scalar, softsign_scalar_derivative),
        'kernel': 10,
    },
}


LOSSES: dict[str, dict[str, Any]] = {
    'half_squared_error': {
        'latex': '\\frac{1}{2} («target» - «out»)^{2}',
        'text': '1/2 * («target» - «out»)^2',
        'gradient_latex': '-(«target» - «out»)',
        'gradient_text': '-(«target» - «out»)',
        'derivation': (('power rule, chain rule on 1/2 * (target - out)^2', '2 \\cdot \\frac{1}{2} \\cdot («target» - «out»)^{2 - 1} \\cdot (-1)', '2 * 1/2 * («target» - «out»)^(2-1) * (-1)'), ('multiplied out', '-(«target» - «out»)', '-(«target» - «out»)')),
        'python': ('0.5*(-{out} + {target})**2', '{out} - {target}'),
        'torch_module': 'nn.MSELoss',
        'torch_functional': 'F.mse_loss',
        'torch_kwargs': {},
        'torch_per_sample': "0.5 * F.mse_loss(output, target, reduction='none').sum(dim=-1)",
        'value': half_squared_error_value,
        'gradient': half_squared_error_gradient,
        'scalar': (half_squared_error_scalar, half_squared_error_scalar_derivative),
        'kernel': 0,
    },
    'mean_squared_error': {
        'latex': '\\frac{(«target» - «out»)^{2}}{«n»}',
        'text': '(«target» - «out»)^2 / «n»',
        'gradient_latex': '\\frac{2 («out» - «target»)}{«n»}',
        'gradient_text': '2 * («out» - «target») / «n»',
        'derivation': (('power rule, chain rule on (target - out)^2 / n', '2 \\cdot \\frac{1}{«n»} \\cdot («target» - «out»)^{2 - 1} \\cdot (-1)', '2 * 1/«n» * («target» - «out»)^(2-1) * (-1)'), ('multiplied out', '\\frac{2 («out» - «target»)}{«n»}', '2 * («out» - «target») / «n»')),
        'python': ('(-{out} + {target})**2/{n}', '-2*(-{out} + {target})/{n}'),
        'torch_module': 'nn.MSELoss',
        'torch_functional': 'F.mse_loss',
        'torch_kwargs': {},
        'torch_per_sample': "F.mse_loss(output, target, reduction='none').mean(dim=-1)",
        'value': mean_squared_error_value,
        'gradient': mean_squared_error_gradient,
        'scalar': (mean_squared_error_scalar, mean_squared_error_scalar_derivative),
        'kernel': 1,
    },
    'huber': {
        'latex': '\\begin{cases} \\frac{1}{2} («out» - «target»)^{2} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\left|«out» - «target»\\right| - \\frac{1}{2} & \\text{otherwise} \\end{cases}',
        'text': '1/2 * («out» - «target»)^2 if 1 > abs(«out» - «target»), else abs(«out» - «target») - 1/2',
        'gradient_latex': '\\begin{cases} «out» - «target» & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\operatorname{sign}\\left(«out» - «target»\\right) & \\text{otherwise} \\end{cases}',
        'gradient_text': '«out» - «target» if 1 > abs(«out» - «target»), else sign(«out» - «target»)',
        'derivation': (('each piece, power rule, chain rule, the slope of |u| is sign(u) on 1/2 * (out - target)^2 if 1 > abs(out - target), else abs(out - target) - 1/2', '\\begin{cases} 2 \\cdot \\frac{1}{2} \\cdot («out» - «target»)^{2 - 1} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\operatorname{sign}\\left(«out» - «target»\\right) & \\text{otherwise} \\end{cases}', '2 * 1/2 * («out» - «target»)^(2-1) if 1 > abs(«out» - «target»), else sign(«out» - «target»)'), ('multiplied out', '\\begin{cases} «out» - «target» & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\operatorname{sign}\\left(«out» - «target»\\right) & \\text{otherwise} \\end{cases}', '«out» - «target» if 1 > abs(«out» - «target»), else sign(«out» - «target»)')),
        'python': ('((0.5*({out} - {target})**2) if (abs({out} - {target}) < 1) else (abs({out} - {target}) - 0.5))', '(({out} - {target}) if (abs({out} - {target}) < 1) else ((0.0 if {out} - {target} == 0 else copysign(1, {out} - {target}))))'),
        'torch_module': 'nn.HuberLoss',
        'torch_functional': 'F.huber_loss',
        'torch_kwargs': {'delta': 1.0},
        'torch_per_sample': "F.huber_loss(output, target, reduction='none', delta=1.0).sum(dim=-1)",
        'value': huber_value,
        'gradient': huber_gradient,
        'scalar': (huber_scalar, huber_scalar_derivative),
        'kernel': 2,
    },
    'log_cosh': {
        'latex': '\\ln\\left(\\cosh\\left(«out» - «target»\\right)\\right)',
        'text': 'ln(cosh(«out» - «target»))',
        'gradient_latex': '\\tanh\\left(«out» - «target»\\right)',
        'gradient_text': 'tanh(«out» - «target»)',
        'derivation': (("ln rule, chain rule, cosh' = sinh on ln(cosh(out - target))", '\\cosh\\left(«out» - «target»\\right)^{-1} \\cdot \\sinh\\left(«out» - «target»\\right)', 'cosh(«out» - «target»)^(-1) * sinh(«out» - «target»)'), ('multiplied out', '\\frac{\\sinh\\left(«out» - «target»\\right)}{\\cosh\\left(«out» - «target»\\right)}', 'sinh(«out» - «target») / cosh(«out» - «target»)'), ('simplified', '\\tanh\\left(«out» - «target»\\right)', 'tanh(«out» - «target»)')),
        'python': ('(abs({out} - {target}) + log1p(exp(-2.0 * abs({out} - {target}))) - 0.6931471805599453)', 'tanh({out} - {target})'),
        'torch_module': None,
        'torch_functional': None,
        'torch_kwargs': {},
        'torch_per_sample': '(torch.log(torch.cosh(output - target))).sum(dim=-1)',
        'value': log_cosh_value,
        'gradient': log_cosh_gradient,
        'scalar': (log_cosh_scalar, log_cosh_scalar_derivative),
        'kernel': 3,
    },
    'l1': {
        'latex': '\\frac{\\left|«out» - «target»\\right|}{«n»}',
        'text': 'abs(«out» - «target») / «n»',
        'gradient_latex': '\\frac{\\operatorname{sign}\\left(«out» - «target»\\right)}{«n»}',
        'gradient_text': 'sign(«out» - «target») / «n»',
        'derivation': (('the slope of |u| is sign(u), chain rule on abs(out - target) / n', '\\frac{1}{«n»} \\cdot \\operatorname{sign}\\left(«out» - «target»\\right)', '1/«n» * sign(«out» - «target»)'), ('multiplied out', '\\frac{\\operatorname{sign}\\left(«out» - «target»\\right)}{«n»}', 'sign(«out» - «target») / «n»')),
        'python': ('abs({out} - {target})/{n}', '(0.0 if {out} - {target} == 0 else copysign(1, {out} - {target}))/{n}'),
        'torch_module': 'nn.L1Loss',
        'torch_functional': 'F.l1_loss',
        'torch_kwargs': {},
        'torch_per_sample': "F.l1_loss(output, target, reduction='none').mean(dim=-1)",
        'value': l1_value,
        'gradient': l1_gradient,
        'scalar': (l1_scalar, l1_scalar_derivative),
        'kernel': 4,
    },
    'smooth_l1': {
        'latex': '\\begin{cases} \\frac{\\frac{1}{2} («out» - «target»)^{2}}{«n»} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\frac{\\left|«out» - «target»\\right| - \\frac{1}{2}}{«n»} & \\text{otherwise} \\end{cases}',
        'text': '1/2 * («out» - «target»)^2 / «n» if 1 > abs(«out» - «target»), else (abs(«out» - «target») - 1/2) / «n»',
        'gradient_latex': '\\begin{cases} \\frac{«out» - «target»}{«n»} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\frac{\\operatorname{sign}\\left(«out» - «target»\\right)}{«n»} & \\text{otherwise} \\end{cases}',
        'gradient_text': '(«out» - «target») / «n» if 1 > abs(«out» - «target»), else sign(«out» - «target») / «n»',
        'derivation': (('each piece, power rule, chain rule, the slope of |u| is sign(u) on 1/2 * (out - target)^2 / n if 1 > abs(out - target), else (abs(out - target) - 1/2) / n', '\\begin{cases} 2 \\cdot \\frac{1}{2} \\cdot \\frac{1}{«n»} \\cdot («out» - «target»)^{2 - 1} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\frac{1}{«n»} \\cdot \\operatorname{sign}\\left(«out» - «target»\\right) & \\text{otherwise} \\end{cases}', '2 * 1/2 * 1/«n» * («out» - «target»)^(2-1) if 1 > abs(«out» - «target»), else 1/«n» * sign(«out» - «target»)'), ('multiplied out', '\\begin{cases} \\frac{«out» - «target»}{«n»} & \\text{if } 1 > \\left|«out» - «target»\\right| \\\\ \\frac{\\operatorname{sign}\\left(«out» - «target»\\right)}{«n»} & \\text{otherwise} \\end{cases}', '(«out» - «target») / «n» if 1 > abs(«out» - «target»), else sign(«out» - «target») / «n»')),
        'python': ('((0.5*({out} - {target})**2/{n}) if (abs({out} - {target}) < 1) else ((abs({out} - {target}) - 0.5)/{n}))', '((({out} - {target})/{n}) if (abs({out} - {target}) < 1) else ((0.0 if {out} - {target} == 0 else copysign(1, {out} - {target}))/{n}))'),
        'torch_module': 'nn.SmoothL1Loss',
        'torch_functional': 'F.smooth_l1_loss',
        'torch_kwargs': {'beta': 1.0},
        'torch_per_sample': "F.smooth_l1_loss(output, target, reduction='none', beta=1.0).mean(dim=-1)",
        'value': smooth_l1_value,
        'gradient': smooth_l1_gradient,
        'scalar': (smooth_l1_scalar, smooth_l1_scalar_derivative),
        'kernel': 5,
    },
    'squared_error': {
        'latex': '(«target» - «out»)^{2}',
        'text': '(«target» - «out»)^2',
        'gradient_latex': '-2 («target» - «out»)',
        'gradient_text': '-2 * («target» - «out»)',
        'derivation': (('power rule, chain rule on (target - out)^2', '2 \\cdot («target» - «out»)^{2 - 1} \\cdot (-1)', '2 * («target» - «out»)^(2-1) * (-1)'), ('multiplied out', '-2 («target» - «out»)', '-2 * («target» - «out»)')),
        'python': ('(-{out} + {target})**2', '2*{out} - 2*{target}'),
        'torch_module': 'nn.MSELoss',
        'torch_functional': 'F.mse_loss',
        'torch_kwargs': {},
        'torch_per_sample': "F.mse_loss(output, target, reduction='none').sum(dim=-1)",
        'value': squared_error_value,
        'gradient': squared_error_gradient,
        'scalar': (squared_error_scalar, squared_error_scalar_derivative),
        'kernel': 6,
    },
    'absolute_error': {
        'latex': '\\left|«out» - «target»\\right|',
        'text': 'abs(«out» - «target»)',
        'gradient_latex': '\\operatorname{sign}\\left(«out» - «target»\\right)',
        'gradient_text': 'sign(«out» - «target»)',
        'derivation': (('the slope of |u| is sign(u), chain rule on abs(out - target)', '\\operatorname{sign}\\left(«out» - «target»\\right)', 'sign(«out» - «target»)'),),
        'python': ('abs({out} - {target})', '(0.0 if {out} - {target} == 0 else copysign(1, {out} - {target}))'),
        'torch_module': 'nn.L1Loss',
        'torch_functional': 'F.l1_loss',
        'torch_kwargs': {},
        'torch_per_sample': "F.l1_loss(output, target, reduction='none').sum(dim=-1)",
        'value': absolute_error_value,
        'gradient': absolute_error_gradient,
        'scalar': (absolute_error_scalar, absolute_error_scalar_derivative),
        'kernel': 7,
    },
}


def softmax_value(net):
    return _stable.softmax(net)


def softmax_backward(out, grad_out):
    return -out*((grad_out * out).sum(axis=-1, keepdims=True) - grad_out)


COUPLED_ACTIVATIONS: dict[str, dict[str, Any]] = {
    'softmax': {
        'latex': '\\frac{e^{«net»}}{«sum_exp»}',
        'text': 'exp(«net») / («sum_exp»)',
        'torch_module': 'nn.Softmax',
        'torch_functional': 'F.softmax',
        'torch_kwargs': {'dim': -1},
        'kernel': 100,
        'forward': softmax_value,
        'backward': softmax_backward,
    },
}


def cross_entropy__softmax_value(net, target):
    n = net.shape[-1]
    return target*(_stable.logsumexp(net) - net)


def cross_entropy__sigmoid_value(net, target):
    n = net.shape[-1]
    return -net*target + _stable.softplus_value(net)


def cross_entropy_with_logits__linear_value(net, target):
    n = net.shape[-1]
    return target*(_stable.logsumexp(net) - net)


def cross_entropy_with_logits__linear_delta(net, out, target):
    n = net.shape[-1]
    return -target + _stable.softmax(net)


def binary_cross_entropy_with_logits__linear_value(net, target):
    n = net.shape[-1]
    return (-net*target + _stable.softplus_value(net))/n


def binary_cross_entropy_with_logits__linear_delta(net, out, target):
    n = net.shape[-1]
    return (-target + _stable.sigmoid_value(net))/n


COMBINATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ('cross_entropy', 'softmax'): {
        'latex': '-«target» \\ln\\left(«out»\\right)',
        'text': '-«target» * ln(«out»)',
        'delta_latex': '«out» - «target»',
        'delta_text': '«out» - «target»',
        'derivation': (('chain rule through every output: dE/dout_k = -target / out, dout_j/dnet_j = out * (1 - out), dout_k/dnet_j = -out_k out_j', '-\\frac{«target»}{«out»} «out» (1 - «out») + «cross_terms»', '-«target» / «out» * «out» * (1 - «out») + «cross_terms»'), ('multiplied out', '«out» («sum_targets») - «target»', '«out» * («sum_targets») - «target»'), ('the targets sum to 1', '«out» - «target»', '«out» - «target»')),
        'distribution': True,
        'coupled': False,
        'delta_note': '',
        'kernel': 100,
        'torch_module': 'nn.CrossEntropyLoss',
        'torch_functional': 'F.cross_entropy',
        'torch_kwargs': {'reduction': 'none'},
        'torch_per_sample': "F.cross_entropy(output, target, reduction='none')",
        'python': None,
        'value': cross_entropy__softmax_value,
        'delta': None,
    },
    ('cross_entropy', 'sigmoid'): {
        'latex': '-(«target» \\ln\\left(«out»\\right) + (1 - «target») \\ln\\left(1 - «out»\\right))',
        'text': '-(«target» * ln(«out») + (1 - «target») * ln(1 - «out»))',
        'delta_latex': '«out» - «target»',
        'delta_text': '«out» - «target»',
        'derivation': (('chain rule: dE/dout times dout/dnet = out * (1 - out)', '\\left(\\frac{1 - «target»}{1 - «out»} - \\frac{«target»}{«out»}\\right) «out» (1 - «out»)', '((1 - «target») / (1 - «out») - «target» / «out») * «out» * (1 - «out»)'), ('multiplied out', '«out» (1 - «target») + «target» («out» - 1)', '«out» * (1 - «target») + «target» * («out» - 1)'), ('simplified', '«out» - «target»', '«out» - «target»')),
        'distribution': False,
        'coupled': False,
        'delta_note': '',
        'kernel': 101,
        'torch_module': 'nn.BCEWithLogitsLoss',
        'torch_functional': 'F.binary_cross_entropy_with_logits',
        'torch_kwargs': {'reduction': 'none'},
        'torch_per_sample': "F.binary_cross_entropy_with_logits(output, target, reduction='none').sum(dim=-1)",
        'python': ('-{net}*{target} + (max({net}, 0.0) + log1p(exp(-abs({net}))))', '{out} - {target}'),
        'value': cross_entropy__sigmoid_value,
        'delta': None,
    },
    ('cross_entropy_with_logits', 'linear'): {
        'latex': '-«target» \\ln\\left(\\frac{e^{«out»}}{«sum_exp»}\\right)',
        'text': '-«target» * ln(exp(«out») / («sum_exp»))',
        'delta_latex': '\\frac{e^{«out»}}{«sum_exp»} - «target»',
        'delta_text': 'exp(«out») / («sum_exp») - «target»',
        'derivation': (("E_total in its stable form, (sum of targets) logsumexp(out) - sum of target_k out_k, differentiated by this out (logsumexp' = softmax)", '\\frac{(«sum_targets») e^{«out»}}{«sum_exp»} - «target»', '(«sum_targets») * exp(«out») / («sum_exp») - «target»'), ('the targets sum to 1', '\\frac{e^{«out»}}{«sum_exp»} - «target»', 'exp(«out») / («sum_exp») - «target»')),
        'distribution': True,
        'coupled': True,
        'delta_note': 'the softmax of the raw scores minus the target (one-hot for a class label)',
        'kernel': None,
        'torch_module': 'nn.CrossEntropyLoss',
        'torch_functional': 'F.cross_entropy',
        'torch_kwargs': {'reduction': 'none'},
        'torch_per_sample': "F.cross_entropy(output, target, reduction='none')",
        'python': None,
        'value': cross_entropy_with_logits__linear_value,
        'delta': cross_entropy_with_logits__linear_delta,
    },
    ('binary_cross_entropy_with_logits', 'linear'): {
        'latex': '\\frac{\\ln\\left(1 + e^{«out»}\\right) - «out» «target»}{«n»}',
        'text': '(ln(1 + exp(«out»)) - «out» * «target») / «n»',
        'delta_latex': '\\frac{\\frac{1}{1 + e^{-«out»}} - «target»}{«n»}',
        'delta_text': '(1 / (1 + exp(-«out»)) - «target») / «n»',
        'derivation': (('ln rule, chain rule, exp rule, sum rule on (ln(1 + exp(out)) - out * target) / n', '\\frac{1}{«n»} \\cdot ((1 + e^{«out»})^{-1} \\cdot e^{«out»} - «target»)', '1/«n» * ((1 + exp(«out»))^(-1) * exp(«out») - «target»)'), ('multiplied out', '\\frac{\\frac{e^{«out»}}{1 + e^{«out»}} - «target»}{«n»}', '(exp(«out») / (1 + exp(«out»)) - «target») / «n»'), ('simplified', '\\frac{\\frac{1}{1 + e^{-«out»}} - «target»}{«n»}', '(1 / (1 + exp(-«out»)) - «target») / «n»')),
        'distribution': False,
        'coupled': False,
        'delta_note': 'the sigmoid of the raw score minus the target, over the number of outputs',
        'kernel': None,
        'torch_module': 'nn.BCEWithLogitsLoss',
        'torch_functional': 'F.binary_cross_entropy_with_logits',
        'torch_kwargs': {'reduction': 'none'},
        'torch_per_sample': "F.binary_cross_entropy_with_logits(output, target, reduction='none').mean(dim=-1)",
        'python': ('(-{net}*{target} + (max({net}, 0.0) + log1p(exp(-abs({net})))))/{n}', '(-{target} + (1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net}))))/{n}'),
        'value': binary_cross_entropy_with_logits__linear_value,
        'delta': binary_cross_entropy_with_logits__linear_delta,
    },
}

"""The naming scheme: the public contract shared by the trace, JSON, the checker and the web page.

This module alone builds and parses quantity names; every other module asks it.

Neurons: inputs i1.., hidden h1.. (one hidden layer) or h<layer>_<k> (several), outputs o1..
Weights w1..wN are numbered as the deck does: layer by layer, neuron by neuron, input by input
(w1: i1->h1, w2: i2->h1, w3: i1->h2, ...). Shared biases b1..bL (one per non-input layer),
per-neuron biases b_h1, b_o1. Quantities: net_h1, out_h1, target_o1, E_o1, E_total, eta,
partial derivatives dE_total/dw5, values after the update w5+ and E_total+, an optimizer's state
m_w5, m_w5+, m_hat_w5 and its hyperparameters (beta1, t). With several samples, per-sample
quantities carry the sample number last: out_o1[2], out_o1+[2], E_total[2] (sample 2's own error;
E_total alone is the batch's, the mean of the samples').

A derivative's name is the derivative of one named quantity with respect to another, each side
written as it is named: with several samples, dE_total[2]/dout_o1[2] (sample 2's own error, whose
derivative the backward pass computes), dout_o1[2]/dnet_o1[2], dnet_o1[2]/dw5 and dE_total[2]/dw5
(sample 2's share of the gradient); dE_total/dw5 is the batch error's. dE_total/dout_o1[2] would be
the batch error's derivative with respect to sample 2's out_o1: 1/N of sample 2's own (with the mean
over N samples). Before this rule the sample stood once at the end (dE_total/dout_o1[2] for sample
2's own); `legacy` reads those old names.

    >>> net("h1", sample=2)
    'net_h1[2]'
    >>> partial(error(), "w5")
    'dE_total/dw5'
    >>> partial(error(), out("o1"), sample=2), partial(net("o1"), "w5", sample=2)
    ('dE_total[2]/dout_o1[2]', 'dnet_o1[2]/dw5')
    >>> parse("dE_o1[2]/dnet_o1[2]").bottom
    Name(kind='net', neuron='o1')
    >>> legacy("dout_o1/dnet_o1[2]")
    'dout_o1[2]/dnet_o1[2]'

Layer-table networks (convolution, pooling, residual blocks; core/layers) label each layer by its
kind and number: c1, c2 (conv2d/conv1d), p1 (maxpool/avgpool), d1 (dense), f1 (flatten), r1 (a
residual block's sum). Every value sits at a position, written 1-based in brackets right after the
name and always present: a 2-d map's [channel,row,column], a 1-d map's [channel,index], a vector's
[unit]. The input is x[...]; conv layer cN's kernel is kN[out_channel,in_channel,row,column] (a 1-d
kernel: kN[out_channel,in_channel,index]); a dense layer's weights w_dN[unit,input]; biases b_cN[channel],
b_dN[unit]. After the update a `+` follows the position, and the sample comes last, as everywhere:

    >>> map_value("out", "c1", (1, 2, 3), sample=2)
    'out_c1[1,2,3][2]'
    >>> gradient(kernel(1, (1, 1, 2, 2)))
    'dE_total/dk1[1,1,2,2]'
    >>> parse("k1[1,1,2,2]+").position
    (1, 1, 2, 2)

Normalization layers (layernorm, batchnorm) are n1, n2, ...: their scale and shift gamma_n1[j],
beta_n1[j] (feature j), and the inner quantities of kind "inner": a group's mean and variance
mu_n1[g], var_n1[g] (layernorm: g is the time step, [1] for a vector, per sample; batchnorm: g is
the feature, one for the batch), the normalized value xhat_n1[...] at the position of out_n1, and
batchnorm's running_mean_n1[j], running_var_n1[j] (running_mean_n1[j]+ after a training step):

    >>> gradient(norm_value("var", "n1", (2,)))
    'dE_total/dvar_n1[2]'

A recurrent layer (rnn) is h1, h2, ...; its state at time step t is h1_t<t>[unit] (h1_t0: the
initial state), its weighted sum net_h1_t<t>[unit]; its weights Wx1[unit,feature] (from the input)
and Wh1[unit,unit] (from the previous step's state), its bias bh1[unit]. A sequence input is
x[step,feature]. An rnn that is the network's last layer has its targets and error terms at its
out's positions: target_h1[t,j], E_h1[t,j] (every step's state passed on), target_h1[j] (the last one's):

    >>> parse("target_h1[2,1]").position
    (2, 1)
    >>> partial(TOTAL, recurrent_value("h", "h1", 1, 2))
    'dE_total/dh1_t1[2]'

Truncated BPTT (an rnn with truncate = k shorter than its sequence) sums fewer terms than the chain rule: what
it computes for Wh1[1,2] is not dE_total/dWh1[1,2], so it is named for the sum it is, bptt<k>_ before the
quantity: bptt2_Wh1[1,2] (the BPTT(2) sum that the step uses in place of the gradient), bptt2_h1_t3[1] and
bptt2_net_h1_t3[1] (the error signals reaching the states), bptt2_out_n1[3,1] below the rnn; with several
samples the sample comes last (bptt2_h1_t3[1][2], sample 2's own sum; bptt2_Wh1[1,2][2]). The part of such a
sum that entered at step e (from what the layer above sends there) is bptt2e3_h1_t2[1]:

    >>> truncated("Wh1[1,2]", 2)
    'bptt2_Wh1[1,2]'
    >>> parse("bptt2e3_net_h1_t2[1][2]").bottom, parse("bptt2e3_net_h1_t2[1][2]").symbol
    (Name(kind='net', neuron='h1_t2', position=(1,)), 'bptt2e3')

An attention head is a1, a2, ...: per position its query q_a1[i,c], key k_a1[j,c], value v_a1[j,c],
the scores score_a1[i,j], the weights a_a1[i,j] (row i: query i over the keys j), their weighted
sum of values z_a1[i,c] and out_a1[i,o]; its projections Wq1, Wk1, Wv1, Wo1 and biases bq1 ... bo1.

    >>> gradient(attention_value("a", "a1", (2, 1)))
    'dE_total/da_a1[2,1]'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from functools import lru_cache


@dataclass(frozen=True)
class Layout:
    """Names of every neuron, weight and bias of a network shape."""

    neurons: tuple[tuple[str, ...], ...]  # per layer, inputs first
    weights: tuple[tuple[tuple[str, ...], ...], ...]  # weights[l][j][i]: input i -> neuron j of layer l+1
    biases: tuple[tuple[str, ...], ...]  # per weight layer: ("b1",) shared or ("b_h1", "b_h2") per neuron

    def bias_of(self, layer: int, neuron: int) -> str:
        """Name of the bias that neuron `neuron` of weight layer `layer` adds."""
        names = self.biases[layer]
        return names[0] if len(names) == 1 else names[neuron]

    @property
    def all_weights(self) -> list[str]:
        return [w for layer in self.weights for row in layer for w in row]


def layout(layers: tuple[int, ...] | list[int], shared_biases: tuple[bool, ...] | list[bool]) -> Layout:
    """The names for a network with `layers` neurons per layer and the given bias sharing."""
    return _layout(tuple(layers), tuple(bool(s) for s in shared_biases))


@lru_cache(maxsize=64)
def _layout(layers: tuple[int, ...], shared: tuple[bool, ...]) -> Layout:
    depth = len(layers) - 1
    neurons: list[tuple[str, ...]] = [tuple(f"i{k + 1}" for k in range(layers[0]))]
    for l in range(1, depth):
        prefix = "h" if depth == 2 else f"h{l}_"
        neurons.append(tuple(f"{prefix}{k + 1}" for k in range(layers[l])))
    neurons.append(tuple(f"o{k + 1}" for k in range(layers[-1])))
    weights = []
    n = 0
    for l in range(depth):
        rows = []
        for _j in range(layers[l + 1]):
            row = []
            for _i in range(layers[l]):
                n += 1
                row.append(f"w{n}")
            rows.append(tuple(row))
        weights.append(tuple(rows))
    biases = tuple(
        (f"b{l + 1}",) if shared[l] else tuple(f"b_{name}" for name in neurons[l + 1]) for l in range(depth)
    )
    return Layout(tuple(neurons), tuple(weights), biases)



# ---------------------------------------------------------------------------------------------
# Building names. `sample` is 1-based (None: a single sample, no suffix); `after`: after the update.

TOTAL = "E_total"
LEARNING_RATE = "eta"


def _finish(name: str, sample: int | None, after: bool) -> str:
    return at(name + ("+" if after else ""), sample)


def at(name: str, sample: int | None) -> str:
    """The per-sample name: out_o1 -> out_o1[2] for sample 2 (1-based); unchanged for None."""
    return name if sample is None else f"{name}[{sample}]"


def net(neuron: str, sample: int | None = None, after: bool = False) -> str:
    """The weighted sum of a neuron: net("h1") -> "net_h1", net("o1", 2, after=True) -> "net_o1+[2]"."""
    return _finish(f"net_{neuron}", sample, after)


def out(neuron: str, sample: int | None = None, after: bool = False) -> str:
    """The output of a neuron (its activation applied to net): "out_h1"."""
    return _finish(f"out_{neuron}", sample, after)


def target(neuron: str, sample: int | None = None) -> str:
    """The target of an output neuron: "target_o1"."""
    return at(f"target_{neuron}", sample)


def error(neuron: str | None = None, sample: int | None = None, after: bool = False) -> str:
    """An output's error term "E_o1", or the total error "E_total" for neuron None."""
    return _finish(TOTAL if neuron is None else f"E_{neuron}", sample, after)


def partial(top: str, bottom: str, sample: int | None = None) -> str:
    """The partial derivative of one quantity with respect to another: ("E_total", "w5") -> "dE_total/dw5".

    With a sample, both sides are sample `sample`'s quantities (a weight, bias or hyperparameter is
    shared by every sample and carries none): ("E_total", "out_o1", 2) -> "dE_total[2]/dout_o1[2]".
    """
    if sample is None:
        return f"d{top}/d{bottom}"
    return f"d{at(top, sample)}/d{bottom if _shared(bottom) else at(bottom, sample)}"


_SAMPLE_ONE = re.compile(r"\[1\](?=/|$)")


def any_sample(name: str) -> str:
    """Sample 1's name written for any sample k, as a table row of the other samples shows it:
    out_o1[1] -> out_o1[k], dE_total[1]/dnet_o1[1] -> dE_total[k]/dnet_o1[k], dnet_o1[1]/dw5 -> dnet_o1[k]/dw5."""
    return _SAMPLE_ONE.sub("[k]", name)


def batch_partial(top: str, bottom: str, sample: int) -> str:
    """The derivative of a batch quantity (E_total, the mean error) with respect to sample `sample`'s
    quantity: ("E_total", "out_o1", 2) -> "dE_total/dout_o1[2]"."""
    return f"d{top}/d{at(bottom, sample)}"


def for_sample(name: str, sample: int | None) -> str:
    """Sample `sample`'s own version of a batch name: E_total -> E_total[2], dE_total/dw5 -> dE_total[2]/dw5."""
    return str(parse(name).but(sample=sample))


def _shared(name: str) -> bool:
    """Whether `name` is the same for every sample: a weight, bias, the learning rate, a hyperparameter, a state."""
    atom = _atom(name)
    return atom is not None and atom.kind in _SHARED_KINDS


def gradient(parameter: str, sample: int | None = None) -> str:
    """The gradient of the total error with respect to a weight or bias: "dE_total/dw5"."""
    return partial(TOTAL, parameter, sample)


def updated(name: str) -> str:
    """The value after the update: "w5" -> "w5+", "E_total" -> "E_total+"."""
    return name + "+"


def state(slot: str, parameter: str, after: bool = False) -> str:
    """An optimizer's per-parameter state: ("m", "w5") -> "m_w5", after the step "m_w5+"."""
    return _finish(f"{slot}_{parameter}", None, after)


# ---------------------------------------------------------------------------------------------
# Layer-table networks: labels and positions (see the module docstring)

LAYER_LETTERS = {"conv": "c", "pool": "p", "dense": "d", "flatten": "f", "residual": "r", "norm": "n", "rnn": "h",
                 "attention": "a"}
INPUT_MAP = "x"


def layer_label(kind: str, number: int) -> str:
    """The label of the `number`-th (1-based) layer of a kind: ("conv", 1) -> "c1"."""
    return f"{LAYER_LETTERS[kind]}{number}"


def with_position(name: str, position: tuple[int, ...] | list[int]) -> str:
    """A name with its 1-based position: ("out_c1", (1, 2, 3)) -> "out_c1[1,2,3]"."""
    return f"{name}[{','.join(str(int(p)) for p in position)}]"


def map_value(kind: str, label: str, position: tuple[int, ...], sample: int | None = None,
              after: bool = False) -> str:
    """A layer's value at a position: kind net, out, target or E ("E_d2[1]"); "x" for the input."""
    return _finish(with_position(map_label(kind, label), position), sample, after)


def map_label(kind: str, label: str) -> str:
    """A whole map's name, without a position (for titles): ("out", "c1") -> "out_c1"; "input" -> "x"."""
    return INPUT_MAP if kind == "input" else f"{kind}_{label}"


def kernel(number: int, position: tuple[int, ...], after: bool = False) -> str:
    """Conv layer c<number>'s kernel weight: (1, (1, 1, 2, 2)) -> "k1[1,1,2,2]"."""
    return _finish(with_position(f"k{number}", position), None, after)


def layer_weight(label: str, position: tuple[int, ...], after: bool = False) -> str:
    """A dense layer's weight in a layer-table network: ("d1", (2, 3)) -> "w_d1[2,3]" (unit 2, input 3)."""
    return _finish(with_position(f"w_{label}", position), None, after)


def layer_bias(label: str, position: tuple[int, ...], after: bool = False) -> str:
    """A layer's bias in a layer-table network: ("c1", (2,)) -> "b_c1[2]" (channel 2)."""
    return _finish(with_position(f"b_{label}", position), None, after)


NORM_PARAMETERS = ("gamma", "beta")  # a normalization layer's scale and shift, per feature
NORM_VALUES = ("mu", "var", "xhat", "running_mean", "running_var")  # its inner quantities


def norm_parameter(role: str, label: str, position: tuple[int, ...], after: bool = False) -> str:
    """A normalization layer's scale or shift: ("gamma", "n1", (2,)) -> "gamma_n1[2]" (feature 2)."""
    if role not in NORM_PARAMETERS:
        raise ValueError(f"not a normalization parameter: {role!r}")
    return _finish(with_position(f"{role}_{label}", position), None, after)


def norm_value(which: str, label: str, position: tuple[int, ...], sample: int | None = None,
               after: bool = False) -> str:
    """An inner quantity of normalization layer `label`: ("mu", "n1", (1,)) -> "mu_n1[1]" (group 1);
    ("xhat", "n1", (3,), 2) -> "xhat_n1[3][2]"; ("running_mean", "n1", (2,), after=True) -> "running_mean_n1[2]+"."""
    if which not in NORM_VALUES:
        raise ValueError(f"not a normalization quantity: {which!r}")
    return _finish(with_position(f"{which}_{label}", position), sample, after)


RECURRENT_PARAMETERS = {"weight_x": "Wx", "weight_h": "Wh", "bias": "bh"}  # role -> name stem


def recurrent_value(kind: str, label: str, step: int, unit: int) -> str:
    """A recurrent layer's value at a time step: ("h", "h1", 2, 1) -> "h1_t2[1]" (its state, unit 1),
    ("net", "h1", 2, 1) -> "net_h1_t2[1]"; step 0 is the initial state h1_t0."""
    if kind not in ("h", "net"):
        raise ValueError(f"not a recurrent value: {kind!r}")
    stem = f"{label}_t{step}"
    return with_position(stem if kind == "h" else f"net_{stem}", (unit,))


def recurrent_label(kind: str, label: str, step: int) -> str:
    """A recurrent layer's whole state or net at a time step, without a unit (for titles): ("h", "h1", 2) -> "h1_t2",
    ("net", "h1", 2) -> "net_h1_t2"."""
    return recurrent_value(kind, label, step, 1).rsplit("[", 1)[0]


def recurrent_parameter(role: str, number: int, position: tuple[int, ...], after: bool = False) -> str:
    """Recurrent layer h<number>'s parameter: ("weight_h", 1, (2, 1)) -> "Wh1[2,1]" (unit 2 from unit 1 of
    the previous step); weight_x -> Wx1[unit,feature], bias -> bh1[unit]."""
    return _finish(with_position(f"{RECURRENT_PARAMETERS[role]}{number}", position), None, after)


def truncated(quantity: str, window: int, sample: int | None = None, entry: int | None = None) -> str:
    """The truncated-BPTT sum that stands where dE_total/d(quantity) would (not a derivative): ("Wh1[1,2]", 2) ->
    "bptt2_Wh1[1,2]"; a sample's ("h1_t3[1]", 2, 2) -> "bptt2_h1_t3[1][2]"; the part that entered at step `entry`
    ("h1_t2[1]", 2, entry=3) -> "bptt2e3_h1_t2[1]"."""
    return at(f"bptt{window}{'' if entry is None else f'e{entry}'}_{quantity}", sample)


def label_of(name: str) -> str | None:
    """The layer a quantity of a layer-table network belongs to: out_n1[2] -> "n1", h1_t3[1] -> "h1",
    Wh1[1,2] -> "h1", k1[1,1,1,1] -> "c1", w_d2[1,1] -> "d2"; None for the input x and for other names."""
    n = _atom(name) or _side(name)[0]
    if n is None or n.kind == "input":
        return None
    if n.kind in ("weight", "bias") and n.parameter:
        m = re.fullmatch(r"(?:[WbB]([xhqkvo])|k)(\d+)", n.parameter)
        if m:
            kind = "c" if m.group(1) is None else ("h" if m.group(1) in "xh" and n.parameter[0] in "Wb"
                                                    and n.parameter[1] in "xh" else "a")
            return f"{kind}{m.group(2)}"
    neuron = n.neuron
    return None if neuron is None else neuron.split("_t")[0]


ATTENTION_VALUES = ("q", "k", "v", "score", "a", "z", "out")  # an attention head's quantities per position


def attention_value(which: str, label: str, position: tuple[int, ...], sample: int | None = None) -> str:
    """An attention head's quantity: ("a", "a1", (2, 1)) -> "a_a1[2,1]" (the weight of key 1 for query 2);
    q_a1[i,c], k_a1[j,c], v_a1[j,c], score_a1[i,j], z_a1[i,c] (the weighted sum of the values), out_a1[i,o]."""
    if which not in ATTENTION_VALUES:
        raise ValueError(f"not an attention quantity: {which!r}")
    return _finish(with_position(f"{which}_{label}", position), sample, False)


def attention_parameter(role: str, number: int, position: tuple[int, ...], after: bool = False) -> str:
    """Attention head a<number>'s parameter: ("weight_q", 1, (2, 3)) -> "Wq1[2,3]"; ("bias_o", 1, (1,)) -> "bo1[1]"."""
    kind, projection = role.split("_")
    return _finish(with_position(f"{'W' if kind == 'weight' else 'b'}{projection}{number}", position), None, after)


# ---------------------------------------------------------------------------------------------
# Parsing names

KINDS = ("input", "neuron", "net", "out", "target", "error", "weight", "bias", "learning_rate",
         "hyperparameter", "state", "partial", "inner", "truncated")
_SHARED_KINDS = ("weight", "bias", "learning_rate", "hyperparameter", "state")


@dataclass(frozen=True)
class Name:
    """A quantity name taken apart; str() gives the name back.

    kind: one of KINDS. neuron: the neuron it is about (i1, h1, o1; a per-neuron bias's neuron;
    None for E_total and shared biases). parameter: a weight or bias, or the one an optimizer's
    state belongs to. symbol: the state's slot (m, m_hat) or the hyperparameter (beta1, t); for
    kind "inner" (a layer's inner quantity, mu_n1[1]) which one it is (mu).
    top/bottom: the two sides of a partial derivative, which carries the sample as a whole (each side
    is that sample's quantity, but for a shared bottom like w5); `batch`: the top is the batch's
    quantity (dE_total/dout_o1[2]), the bottom sample `sample`'s.

        >>> parse("out_h1+[2]")
        Name(kind='out', neuron='h1', after=True, sample=2)
        >>> str(parse("m_hat_w5"))
        'm_hat_w5'
    """

    kind: str
    neuron: str | None = None
    parameter: str | None = None
    symbol: str | None = None
    after: bool = False
    sample: int | None = None
    top: Name | None = None
    bottom: Name | None = None
    batch: bool = False
    position: tuple[int, ...] | None = None  # layer-table networks: where in the map or vector (1-based)

    def __str__(self) -> str:
        return _format(self)

    def __repr__(self) -> str:
        shown = [f"kind={self.kind!r}"] + [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)[1:]
                                            if getattr(self, f.name) != f.default]
        return f"Name({', '.join(shown)})"

    def but(self, **changes) -> Name:
        """The same name with some fields changed: parse("w5").but(after=True) is w5+."""
        return replace(self, **changes)


_NEURON = r"[iho]\d+(?:_\d+)?"
_PARAMETER = rf"w\d+|b\d+|b_{_NEURON}"
_ATOMS = [  # (kind, pattern): the first that matches the whole atom (without "+") wins
    ("input", re.compile(r"(?P<neuron>i\d+)")),
    ("neuron", re.compile(rf"(?P<neuron>{_NEURON})")),
    ("net", re.compile(rf"net_(?P<neuron>{_NEURON})")),
    ("out", re.compile(rf"out_(?P<neuron>{_NEURON})")),
    ("target", re.compile(rf"target_(?P<neuron>{_NEURON})")),
    ("error", re.compile(rf"E_(?:total|(?P<neuron>{_NEURON}))")),
    ("weight", re.compile(r"(?P<parameter>w\d+)")),
    ("bias", re.compile(rf"(?P<parameter>b\d+|b_(?P<neuron>{_NEURON}))")),
    ("learning_rate", re.compile(LEARNING_RATE)),
    ("state", re.compile(rf"(?P<symbol>[a-z][a-z_]*?)_(?P<parameter>{_PARAMETER})")),
    ("hyperparameter", re.compile(r"(?P<symbol>[a-z][a-z0-9]*)")),
]
_SAMPLE = re.compile(r"(.*)\[(\d+)\]")
_LABEL = r"[cpdfrna]\d+"
_OUTPUT_LABEL = r"[cpdfrnah]\d+"  # a last layer's targets and errors: an rnn's too (target_h1[t,j], E_h1[j])
_TABLE_ATOMS = [  # layer-table atoms: each takes a position, [1,2,3]
    ("input", re.compile(INPUT_MAP)),
    ("net", re.compile(rf"net_(?P<neuron>{_LABEL})")),
    ("out", re.compile(rf"out_(?P<neuron>{_LABEL})")),
    ("target", re.compile(rf"target_(?P<neuron>{_OUTPUT_LABEL})")),
    ("error", re.compile(rf"E_(?P<neuron>{_OUTPUT_LABEL})")),
    ("weight", re.compile(r"(?P<parameter>k\d+)")),
    ("weight", re.compile(r"(?P<parameter>w_(?P<neuron>d\d+))")),
    ("bias", re.compile(r"(?P<parameter>b_(?P<neuron>[cd]\d+))")),
    ("weight", re.compile(r"(?P<parameter>gamma_(?P<neuron>n\d+))")),
    ("bias", re.compile(r"(?P<parameter>beta_(?P<neuron>n\d+))")),
    ("inner", re.compile(rf"(?P<symbol>{'|'.join(NORM_VALUES)})_(?P<neuron>n\d+)")),
    ("net", re.compile(r"net_(?P<neuron>h\d+_t\d+)")),
    ("out", re.compile(r"(?P<neuron>h\d+_t\d+)")),
    ("weight", re.compile(r"(?P<parameter>W[xhqkvo]\d+)")),
    ("bias", re.compile(r"(?P<parameter>b[hqkvo]\d+)")),
    ("inner", re.compile(r"(?P<symbol>q|k|v|score|a|z)_(?P<neuron>a\d+)")),
]
_STEP_LABEL = re.compile(r"h(\d+)_t(\d+)")
_POSITIONED = re.compile(r"(?P<body>[^\[\]+]+)\[(?P<position>[1-9]\d*(?:,[1-9]\d*)*)\]")
_PARTIAL = re.compile(r"d([^/]+)/d([^/]+)")
_TRUNCATED = re.compile(r"(bptt\d+(?:e\d+)?)_(.+)")
_LEGACY = re.compile(r"d([^/\[\]]+)/d([^/\[\]]+)\[(\d+)\]")


def _atom(text: str) -> Name | None:
    after = text.endswith("+")
    core = text[:-1] if after else text
    positioned = _POSITIONED.fullmatch(core)
    if positioned:
        position = tuple(int(p) for p in positioned.group("position").split(","))
        for kind, pattern in _TABLE_ATOMS:
            m = pattern.fullmatch(positioned.group("body"))
            if m:
                neuron = INPUT_MAP if kind == "input" else m.groupdict().get("neuron")
                return Name(kind, neuron=neuron, parameter=m.groupdict().get("parameter"),
                            symbol=m.groupdict().get("symbol"), after=after, position=position)
        return None
    for kind, pattern in _ATOMS:
        m = pattern.fullmatch(core)
        if m:
            return Name(kind, neuron=m.groupdict().get("neuron"), parameter=m.groupdict().get("parameter"),
                        symbol=m.groupdict().get("symbol"), after=after)
    return None


@lru_cache(maxsize=100_000)
def parse(name: str) -> Name:
    """The parts of a quantity name; ValueError if it is not one."""
    t = _TRUNCATED.fullmatch(name)
    if t:  # a truncated-BPTT sum: bptt2_Wh1[1,2], bptt2_h1_t3[1][2], bptt2e3_net_h1_t2[1]
        inner, sample = _side(t.group(2))
        if inner is not None and inner.position is not None and not inner.after:
            return Name("truncated", symbol=t.group(1), bottom=inner, sample=sample)
        raise ValueError(f"not a quantity name: {name!r}")
    p = _PARTIAL.fullmatch(name)
    if p:
        found = _partial(*_side(p.group(1)), *_side(p.group(2)))
        if found is not None:
            return found
    else:
        atom, sample = _side(name)
        if atom is not None:
            return atom.but(sample=sample)
    raise ValueError(f"not a quantity name: {name!r}")


def _side(text: str) -> tuple[Name | None, int | None]:
    """One quantity and its sample. A layer-table name's first bracket is its position (always
    there), so the whole text is tried first: out_d1[3] is unit 3 of d1; then with a trailing [k]
    as the sample: out_h1[2], out_d1[3][2]."""
    whole = _atom(text)
    if whole is not None:
        return whole, None
    m = _SAMPLE.fullmatch(text)
    return (_atom(m.group(1)), int(m.group(2))) if m else (None, None)


def _partial(top: Name | None, top_sample: int | None, bottom: Name | None, bottom_sample: int | None) -> Name | None:
    """dA/dB with each side's sample: both sample k's (or a shared B), or the batch error's A over sample k's B."""
    if top is None or bottom is None:
        return None
    shared = bottom.kind in _SHARED_KINDS
    if top_sample is None and bottom_sample is None:
        return Name("partial", top=top, bottom=bottom)
    if top.kind in _SHARED_KINDS:  # a weight is every sample's: no sample k of it
        return None
    if top_sample is not None and (bottom_sample == top_sample if not shared else bottom_sample is None):
        return Name("partial", sample=top_sample, top=top, bottom=bottom)
    if top_sample is None and bottom_sample is not None and not shared and top.kind == "error" and not top.neuron:
        return Name("partial", sample=bottom_sample, top=top, bottom=bottom, batch=True)
    return None


def sides(name: str) -> tuple[str, str]:
    """The two quantities a derivative's name is about, each as it is named: dE_total[2]/dout_o1[2] ->
    ("E_total[2]", "out_o1[2]"), dnet_o1[2]/dw5 -> ("net_o1[2]", "w5"), dE_total/dout_o1[2] -> ("E_total", "out_o1[2]")."""
    n = parse(name)
    if n.kind != "partial" or n.top is None or n.bottom is None:
        raise ValueError(f"not a derivative's name: {name!r}")
    top = n.top if n.batch else n.top.but(sample=n.sample)
    bottom = n.bottom if n.bottom.kind in _SHARED_KINDS else n.bottom.but(sample=n.sample)
    return str(top), str(bottom)


def legacy(name: str) -> str | None:
    """The name an old per-sample derivative name stands for today (the sample stood once, at the end):
    dout_o1/dnet_o1[2] -> dout_o1[2]/dnet_o1[2], dE_total/dw5[2] -> dE_total[2]/dw5; None for any other name."""
    m = _LEGACY.fullmatch(name)
    if not m or _atom(m.group(1)) is None or _atom(m.group(2)) is None:
        return None
    return partial(m.group(1), m.group(2), int(m.group(3)))


def is_name(name: str) -> bool:
    """Whether `name` is a quantity name of the scheme (parse would succeed)."""
    try:
        parse(name)
    except ValueError:
        return False
    return True


def _format(n: Name) -> str:
    if n.kind == "truncated":
        assert n.bottom is not None
        return at(f"{n.symbol}_{_format(n.bottom)}", n.sample)
    if n.kind == "partial":
        assert n.top is not None and n.bottom is not None
        if n.batch and n.sample is not None:
            return batch_partial(_format(n.top), _format(n.bottom), n.sample)
        return partial(_format(n.top), _format(n.bottom), n.sample)
    if n.position is not None:
        if n.kind in ("weight", "bias"):
            return _finish(with_position(str(n.parameter), n.position), n.sample, n.after)
        if n.kind == "inner" and n.symbol in ATTENTION_VALUES:
            return attention_value(str(n.symbol), str(n.neuron), n.position, n.sample)
        if n.kind == "inner":
            return norm_value(str(n.symbol), str(n.neuron), n.position, n.sample, n.after)
        if n.kind == "out" and _STEP_LABEL.fullmatch(str(n.neuron)):  # a recurrent state: h1_t2[1]
            return _finish(with_position(str(n.neuron), n.position), n.sample, n.after)
        kind = {"error": "E"}.get(n.kind, n.kind)
        return map_value(kind, str(n.neuron), n.position, n.sample, n.after)
    if n.kind in ("input", "neuron"):
        core = n.neuron
    elif n.kind in ("weight", "bias"):
        core = n.parameter
    elif n.kind == "hyperparameter":
        core = n.symbol
    elif n.kind == "learning_rate":
        core = LEARNING_RATE
    elif n.kind == "state":
        core = state(str(n.symbol), str(n.parameter))
    elif n.kind == "error":
        core = error(n.neuron)
    elif n.kind in ("net", "out", "target"):
        core = {"net": net, "out": out, "target": target}[n.kind](str(n.neuron))
    else:
        raise ValueError(f"unknown kind of name {n.kind!r}")
    return _finish(str(core), n.sample, n.after)


def rename_neuron(name: str, old: str, new: str) -> str:
    """The name with neuron `old` replaced by `new` wherever it appears: dE_o1/dnet_o1 -> dE_o2/dnet_o2."""
    if not is_name(name):
        return name

    def swap(n: Name) -> Name:
        if n.kind == "partial":
            return n.but(top=swap(n.top), bottom=swap(n.bottom))  # type: ignore[arg-type]
        if n.neuron != old:
            return n
        if n.kind == "bias":
            return n.but(neuron=new, parameter=f"b_{new}")
        return n.but(neuron=new)

    return str(swap(parse(name)))


def neurons_in(name: str) -> set[str]:
    """The neurons a name is about: dE_o1/dout_h1 -> {"o1", "h1"}; b_h1 -> {"h1"}; w5 -> set()."""
    if not is_name(name):
        return set()
    parts = parse(name)
    found = [parts.top, parts.bottom] if parts.kind == "partial" else [parts]
    return {n.neuron for n in found if n is not None and n.neuron is not None}


# ---------------------------------------------------------------------------------------------
# LaTeX symbols

_NEURON_PARTS = re.compile(r"([iho])(\d+)(?:_(\d+))?")


def _neuron_latex(neuron: str) -> str:
    m = _NEURON_PARTS.fullmatch(neuron)
    assert m
    kind, a, b = m.groups()
    return f"{kind}_{{{a},{b}}}" if b else f"{kind}_{{{a}}}"


_INNER_LATEX = {"mu": r"\mu_{{{label}}}", "var": r"\sigma^2_{{{label}}}", "xhat": r"\hat{{x}}_{{{label}}}",
                "running_mean": r"\mathrm{{running\_mean}}_{{{label}}}",
                "running_var": r"\mathrm{{running\_var}}_{{{label}}}", "q": "q_{{{label}}}", "k": "k_{{{label}}}",
                "v": "v_{{{label}}}", "score": r"\mathrm{{score}}_{{{label}}}", "a": "a_{{{label}}}", "z": "z_{{{label}}}"}


def _table_atom_latex(n: Name) -> str:
    position = ",".join(map(str, n.position or ()))
    if n.kind in ("weight", "bias") and str(n.parameter).startswith(NORM_PARAMETERS):
        s = rf"\{str(n.parameter).split('_')[0]}_{{{n.neuron}}}"
    elif n.kind == "inner":
        s = _INNER_LATEX[str(n.symbol)].format(label=n.neuron)
    elif n.kind in ("net", "out") and _STEP_LABEL.fullmatch(str(n.neuron)):
        layer, step = _STEP_LABEL.fullmatch(str(n.neuron)).groups()  # type: ignore[union-attr]
        s = (rf"h_{{{layer}}}" if n.kind == "out" else rf"\mathrm{{net}}_{{h{layer}}}") + rf"^{{\langle {step}\rangle}}"
    elif n.kind in ("weight", "bias") and re.fullmatch(r"W[xhqkvo]\d+|b[hqkvo]\d+", str(n.parameter)):
        parameter = str(n.parameter)
        s = rf"{parameter[0]}_{{{parameter[1:]}}}"
    elif n.kind in ("weight", "bias"):
        parameter = str(n.parameter)
        s = rf"k_{{{parameter[1:]}}}" if parameter.startswith("k") else rf"{parameter[0]}_{{{parameter[2:]}}}"
    elif n.kind == "input":
        s = "x"
    elif n.kind == "error":
        s = rf"E_{{{n.neuron}}}"
    else:
        s = rf"\mathrm{{{n.kind}}}_{{{n.neuron}}}"
    return s + f"[{position}]" + ("^{+}" if n.after else "")


def _atom_latex(n: Name) -> str:
    if n.position is not None:
        return _table_atom_latex(n)
    neuron = _neuron_latex(n.neuron) if n.neuron else ""
    if n.kind in ("net", "out", "target"):
        s = rf"\mathrm{{{n.kind}}}_{{{neuron}}}"
    elif n.kind == "error":
        s = rf"E_{{{neuron}}}" if n.neuron else r"E_{\mathrm{total}}"
    elif n.kind in ("weight", "bias"):
        s = rf"b_{{{neuron}}}" if n.neuron else rf"{n.parameter[0]}_{{{n.parameter[1:]}}}"  # type: ignore[index]
    elif n.kind == "learning_rate":
        s = r"\eta"
    elif n.kind in ("input", "neuron"):
        s = neuron
    else:
        escaped = _format(n.but(after=False)).replace("_", "\\_")
        s = rf"\mathrm{{{escaped}}}"
    return s + ("^{+}" if n.after else "")


@lru_cache(maxsize=100_000)
def latex_symbol(name: str) -> str:
    """LaTeX for a quantity name: dE_total/dw5 -> \\frac{\\partial E_{\\mathrm{total}}}{\\partial w_{5}}."""
    try:
        n = parse(name)
    except ValueError:
        return rf"\mathrm{{{name.replace('_', chr(92) + '_')}}}"
    if n.kind == "truncated":  # a truncated-BPTT sum: g with the window, of the quantity
        assert n.bottom is not None and n.symbol is not None
        window, _, entry = n.symbol.removeprefix("bptt").partition("e")
        shared = n.bottom.kind in _SHARED_KINDS
        inner = _atom_latex(n.bottom) if shared else _sampled(_atom_latex(n.bottom), n.sample)
        whole = rf"g^{{\mathrm{{BPTT}}({window}){', e=' + entry if entry else ''}}}_{{{inner}}}"
        return _sampled(whole, n.sample) if shared else whole
    if n.kind != "partial":
        return _sampled(_atom_latex(n.but(sample=None)), n.sample)
    assert n.top is not None and n.bottom is not None
    top = _sampled(_atom_latex(n.top), None if n.batch else n.sample)
    bottom = _sampled(_atom_latex(n.bottom), None if n.bottom.kind in _SHARED_KINDS else n.sample)
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _sampled(latex: str, sample: int | None) -> str:
    return latex if sample is None else rf"{{{latex}}}^{{[{sample}]}}"

"""Known mistakes on sequence models (rnn, attention, layernorm, batchnorm), registered like diagnoses_layers.py's.

Each recomputes a step with the mistake applied, from a base world (the solution's own numbers, then
the exact ones); a mistake hidden in a step the student did not write is carried up to three steps on
(diagnoses._through), so that out_a1 from unscaled scores is named even when the scores are not written.

- bptt_last_step_only: a recurrent weight's gradient from the last time step's term alone.
- bptt_step_dropped: one time step's term left out of a recurrent weight's gradient.
- recurrent_path_forgotten: dE_total/dh at step t without what step t+1 sends back through Wh.
- attention_scale_forgotten: the scores (or dE_total/dq, dE_total/dk) without the 1/sqrt(d_k).
- softmax_wrong_axis: the attention weights normalized over the queries (a column) instead of the keys (a row).
- softmax_jacobian_diagonal: dE_total/dscore as a(1 - a) dE_total/da, the Jacobian's diagonal alone.
- norm_variance_path_forgotten / norm_mean_path_forgotten: the gradient into a normalization's input
  without the path through the variance (or the mean).
- norm_statistics_mixed: batchnorm in training mode computed with the running statistics, in evaluation mode
  with the batch's; or its gradient taken as in evaluation mode (the statistics held constant).
- norm_variance_estimator: the variance divided by N - 1 instead of N (or N instead of N - 1); the running
  variance moved with the biased variance.
- step_reduction_mixed: a sequence output's errors summed over the steps where the spec takes their mean
  (or averaged where it sums): each step's error term and the loss's error signals off by the number of steps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from stepgrad.core import names
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm, Norm
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, _through, mistake
from stepgrad.teach.check.formula import parse

LAYERS = ("layers",)
_STEP = re.compile(r"net_(h\d+)_t(\d+)\[")  # a recurrent error signal's layer and time step
_SCALE = re.compile(r"^\((?P<inner>.*)\) / sqrt\((?P<size>\d+)\)$")


def _layer(ctx: Context, label: str | None) -> Layer | None:
    if not isinstance(ctx.net, LayerNetwork) or label is None:
        return None
    return next((layer for layer in ctx.net.all_layers() if layer.label == label), None)


def _parse(name: str) -> names.Name | None:
    try:
        return names.parse(name)
    except ValueError:
        return None


def _with_mistake(ctx: Context, step: Step, base: Mapping[str, float], own: Callable[[Step], float | None],
                  detail: str) -> Candidates:
    """The step with the mistake applied (own(step)), or, when the mistake sits in a step below that the student
    did not write, the step recomputed from it (up to three steps on)."""
    value = own(step)
    if value is not None:
        yield value, detail
        return
    value = _through(ctx, step, base, own)
    if value is not None:
        yield value, detail + " (in a step not written, carried on)"


# -- rnn -------------------------------------------------------------------------------------------------
def _recurrent_terms(step: Step) -> list[tuple[int, str]] | None:
    """(time step, term) of a recurrent parameter's per-sample gradient: one term per step; None otherwise."""
    n = _parse(step.name)
    if n is None or n.kind != "partial" or n.bottom is None or not str(n.bottom.parameter or "").startswith(
            ("Wx", "Wh", "bh")) or not step.text or step.kind != "gradient":
        return None
    terms = []
    for term in step.text.split(" + "):
        found = _STEP.search(term)
        if found is None:
            return None  # the batch's mean of the samples' gradients: the mistake lives below it
        terms.append((int(found.group(2)), term))
    return terms


def _bptt(ctx: Context, step: Step, base: Mapping[str, float], dropped: int | None) -> float | None:
    """The gradient without time step `dropped`'s term (None: with the last step's term only)."""
    terms = _recurrent_terms(step)
    if not terms:
        return None
    last = max(t for t, _ in terms)
    kept = [term for t, term in terms if (t == last if dropped is None else t != dropped)]
    if not kept or len(kept) == len(terms):
        return None
    return ctx.recompute(step, base, tree=parse(" + ".join(kept)))


@mistake("bptt_last_step_only", "recurrent weight's gradient from the last time step only", networks=LAYERS)
def _last_step_only(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _bptt(ctx, s, base, None),
                             "only the last step's term, not the sum over every time step")


@mistake("bptt_step_dropped", "a time step's contribution dropped", networks=LAYERS)
def _step_dropped(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    for dropped in range(1, _max_steps(ctx) + 1):
        def without(below: Step, d: int = dropped) -> float | None:
            return _bptt(ctx, below, base, d)
        yield from _with_mistake(ctx, step, base, without,
                                 f"the term of time step {dropped} left out of the sum over the steps")


def _max_steps(ctx: Context) -> int:
    return max((layer.in_shape[0] for layer in _all(ctx) if isinstance(layer, Rnn)), default=0)


def _all(ctx: Context) -> list[Layer]:
    return ctx.net.all_layers() if isinstance(ctx.net, LayerNetwork) else []


def _without_recurrence(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    n = _parse(step.name)
    if n is None or n.kind != "partial" or n.bottom is None or n.bottom.kind != "out" or not step.text or not (
            isinstance(_layer(ctx, str(n.bottom.neuron).split("_t")[0]), Rnn)):
        return None
    terms = step.text.split(" + ")
    kept = [term for term in terms if "«Wh" not in term]
    if len(kept) == len(terms):
        return None
    return ctx.recompute(step, base, tree=parse(" + ".join(kept))) if kept else 0.0


@mistake("recurrent_path_forgotten", "the path back from the next time step forgotten", networks=LAYERS)
def _recurrent_forgotten(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _without_recurrence(ctx, s, base),
                             "dE_total/dh at this step without what the next step sends back through Wh")


# -- attention ---------------------------------------------------------------------------------------------
def _attention_of(ctx: Context, step: Step, which: tuple[str, ...]) -> tuple[Attention, names.Name] | None:
    """(the head, the parsed quantity) for a step computing (or the dE_total/d of) one of `which` of a head."""
    n = _parse(step.name)
    if n is None:
        return None
    quantity = n.bottom if n.kind == "partial" else n
    if quantity is None or quantity.kind != "inner" or quantity.symbol not in which:
        return None
    head = _layer(ctx, quantity.neuron)
    return (head, quantity) if isinstance(head, Attention) else None


def _unscaled(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    found = _attention_of(ctx, step, ("score", "q", "k"))
    if found is None or not found[0].scaled:
        return None
    m = _SCALE.match(step.text)
    return None if m is None else ctx.recompute(step, base, tree=parse(m.group("inner")))


@mistake("attention_scale_forgotten", "the 1/sqrt(d_k) scale forgotten", networks=LAYERS)
def _scale_forgotten(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _unscaled(ctx, s, base),
                             "the scores q·k not divided by sqrt(d_k)")


def _column_softmax(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    found = _attention_of(ctx, step, ("a",))
    if found is None or step.name.startswith("d"):
        return None
    head, n = found
    i, j = n.position or (0, 0)
    column = [names.at(names.attention_value("score", head.label, (q, j)), n.sample)
              for q in range(1, head.in_shape[0] + 1)]
    column = [c for c in column if c in base]
    own = names.at(names.attention_value("score", head.label, (i, j)), n.sample)
    if len(column) < 2:
        return None
    text = f"exp(«{own}») / (" + " + ".join(f"exp(«{c}»)" for c in column) + ")"
    return ctx.recompute(step, base, tree=parse(text))


@mistake("softmax_wrong_axis", "softmax over the wrong axis", networks=LAYERS)
def _wrong_axis(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _column_softmax(ctx, s, base),
                             "the weights normalized over the queries (each column adds to 1), not over the keys")


def _diagonal_only(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    found = _attention_of(ctx, step, ("score",))
    n = _parse(step.name)
    if found is None or n is None or n.kind != "partial" or not step.operands:
        return None
    weight, signal = step.operands[0], step.operands[1]  # «a[i,j]» * («dE/da[i,j]» - (...))
    return ctx.recompute(step, base, tree=parse(f"«{weight}» * (1 - «{weight}») * «{signal}»"))


@mistake("softmax_jacobian_diagonal", "softmax's derivative taken as a(1 - a) alone", networks=LAYERS)
def _jacobian_diagonal(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _diagonal_only(ctx, s, base),
                             "dE/dscore[i,j] as a[i,j](1 - a[i,j]) dE/da[i,j]: only the diagonal of the softmax's "
                             "Jacobian, without the other keys of the row")


# -- normalization -----------------------------------------------------------------------------------------
def _statistic_signals(step: Step) -> dict[str, str]:
    """{"var": name, "mu": name} of the dE_total/dvar and dE_total/dmu operands of a three-path step."""
    found = {}
    for op in step.operands:
        n = _parse(op)
        if n is not None and n.kind == "partial" and n.bottom is not None and n.bottom.kind == "inner" and (
                n.bottom.symbol in ("mu", "var")) and isinstance(n.bottom.neuron, str) and n.bottom.neuron.startswith("n"):
            found[str(n.bottom.symbol)] = op
    return found


def _paths_dropped(ctx: Context, step: Step, base: Mapping[str, float], which: tuple[str, ...]) -> float | None:
    signals = _statistic_signals(step)
    if not signals or _is_statistic_step(step) or not all(w in signals for w in which):
        return None
    return ctx.recompute(step, base, {signals[w]: 0.0 for w in which})


def _is_statistic_step(step: Step) -> bool:
    n = _parse(step.name)
    return bool(n is not None and n.kind == "partial" and n.bottom is not None and n.bottom.kind == "inner"
                and n.bottom.symbol in ("mu", "var"))


@mistake("norm_variance_path_forgotten", "the variance's path forgotten", networks=LAYERS)
def _variance_path(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _paths_dropped(ctx, s, base, ("var",)),
                             "the gradient into the input only through xhat and the mean, not through the variance")


@mistake("norm_mean_path_forgotten", "the mean's path forgotten", networks=LAYERS)
def _mean_path(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _with_mistake(ctx, step, base, lambda s: _paths_dropped(ctx, s, base, ("mu",)),
                             "the gradient into the input only through xhat and the variance, not through the mean")


def _batch_norm_xhat(ctx: Context, step: Step) -> tuple[BatchNorm, names.Name] | None:
    n = _parse(step.name)
    if n is None or n.kind != "inner" or n.symbol != "xhat":
        return None
    layer = _layer(ctx, n.neuron)
    return (layer, n) if isinstance(layer, BatchNorm) else None


def _other_statistics(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    found = _batch_norm_xhat(ctx, step)
    if found is None or len(step.operands) != 3:
        return None
    layer, n = found
    x, mean, var = step.operands
    f = (n.position or (1,))[0]
    if layer.mode == "training":  # the running statistics used where the batch's belong
        running = {mean: names.norm_value("running_mean", layer.label, (f,)),
                   var: names.norm_value("running_var", layer.label, (f,))}
        if not all(r in base for r in running.values()):
            return None
        return ctx.recompute(step, base, {op: base[r] for op, r in running.items()})
    samples = int(ctx.trace.meta.get("samples", 1))  # evaluation: the batch's statistics used instead
    xn = _parse(x)
    if xn is None or samples < 2 or len(n.position or ()) != 1:
        return None
    names_ = [str(xn.but(sample=s)) for s in range(1, samples + 1)]
    if not all(name in base for name in names_):
        return None
    values = [base[name] for name in names_]
    mu = sum(values) / samples
    variance = sum((v - mu) ** 2 for v in values) / samples
    return ctx.recompute(step, base, {mean: mu, var: variance})


@mistake("norm_statistics_mixed", "training and evaluation statistics mixed", networks=LAYERS)
def _statistics_mixed(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    found = _batch_norm_xhat(ctx, step)
    mode = found[0].mode if found is not None else None
    detail = ("the running statistics used in training mode (the batch's mean and variance normalize)"
              if mode == "training" else "the batch's statistics used in evaluation mode (the running ones normalize)")
    if found is not None or step.text:
        yield from _with_mistake(ctx, step, base, lambda s: _other_statistics(ctx, s, base), detail)
    yield from _with_mistake(ctx, step, base, lambda s: _paths_dropped(ctx, s, base, ("var", "mu")),
                             "the gradient as in evaluation mode: the mean and the variance held constant "
                             "(only the path through xhat), though training mode normalizes with the batch's")


def _estimator(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    n = _parse(step.name)
    if n is None or n.kind != "inner" or n.symbol not in ("var", "running_var") or not step.text:
        return None
    layer = _layer(ctx, n.neuron)
    if not isinstance(layer, Norm):
        return None
    if n.symbol == "running_var":
        m = re.search(r" \* (\d+) / (\d+)$", step.text)
        return ctx.recompute(step, base, tree=parse(step.text[:m.start()])) if m else None
    m = re.search(r" / (\d+)$", step.text)
    if m is None:
        return None
    divide = int(m.group(1))
    other = divide - 1 if layer.variance == "biased" else divide + 1
    if other < 1:
        return None
    return ctx.recompute(step, base, tree=parse(f"{step.text[:m.start()]} / {other}"))


@mistake("norm_variance_estimator", "variance estimator mixed up (1/N and 1/(N-1))", networks=LAYERS)
def _variance_estimator(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    n = _parse(step.name)
    layer = _layer(ctx, n.neuron) if n is not None and n.kind == "inner" else None
    unbiased = isinstance(layer, Norm) and layer.variance == "unbiased"
    detail = ("the running variance moved with the biased variance (PyTorch moves it with the unbiased, N - 1)"
              if n is not None and n.symbol == "running_var" else
              "the variance divided by N" if unbiased else "the variance divided by N - 1 (normalization divides by N)")
    for value, text in _with_mistake(ctx, step, base, lambda s: _estimator(ctx, s, base), detail):
        if math.isfinite(value):
            yield value, text


# -- a sequence output's steps ------------------------------------------------------------------------------
def _other_reduction(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    """The loss's own steps (an output's error term, the error signal the loss gives) with the steps' errors
    summed instead of averaged (or averaged instead of summed)."""
    net = ctx.net
    if not isinstance(net, LayerNetwork) or net.step_reduction is None or not step.text:
        return None
    last = net.layers[-1]
    n = _parse(step.name)
    about = n.bottom if n is not None and n.kind == "partial" else n
    from_loss = any((_parse(op) or n).kind == "target" for op in step.operands)  # type: ignore[union-attr]
    if about is None or about.neuron != last.label or not from_loss:
        return None
    steps = last.out_shape[0]
    value = ctx.recompute(step, base)
    return value * steps if net.step_reduction == "mean" else value / steps


@mistake("step_reduction_mixed", "the steps' errors summed instead of averaged (or the reverse)", networks=LAYERS)
def _step_reduction(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    mean = isinstance(ctx.net, LayerNetwork) and ctx.net.step_reduction == "mean"
    yield from _with_mistake(ctx, step, base, lambda s: _other_reduction(ctx, s, base),
                             "the errors of the time steps summed, though the spec takes their mean" if mean else
                             "the errors of the time steps averaged, though the spec sums them")

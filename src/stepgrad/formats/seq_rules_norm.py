"""Layer and batch normalization's rules for `explain --derive`: the statistics, xhat, out and the three paths back."""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import Call, Expr, Num, Op, Power, Rule, Sum, plus, span, times
from stepgrad.formats.seq_rules_refs import Layer


class _Groups:
    """Where a layer's statistics run: its position letters, a group's letters and the letters summed over."""

    def __init__(self, layer: Layer, refs: Any) -> None:
        self.label, self.layer = layer["label"], layer
        shape = [int(n) for n in layer["in_shape"]]
        settings = layer["settings"]
        self.batch = layer["kind"] == "batchnorm"
        self.training = not self.batch or settings["mode"] == "training"
        self.eps, self.unbiased = float(settings["eps"]), settings["variance"] == "unbiased"
        self.letters: tuple[str, ...]
        self.group: tuple[str, ...]
        self.members: tuple[str, ...]
        if self.batch:
            self.letters = ("f",) if len(shape) == 1 else ("c", "l")
            self.group, self.members = self.letters[:1], (("s",) if self.training else ()) + self.letters[1:]
        else:
            self.letters = ("f",) if len(shape) == 1 else ("t", "f")
            self.group, self.members = self.letters[:-1], self.letters[-1:]
        self.feature = self.letters[0] if self.batch else self.letters[-1]
        self.sizes = dict(zip(self.letters, shape)) | {"s": refs.samples}
        self.size = 1
        for letter in self.members:
            self.size *= self.sizes[letter]
        self.divide = self.size - 1 if self.unbiased else self.size

    def position(self, b: Any) -> tuple[int, ...]:
        return tuple(b[x] for x in self.letters)

    def group_of(self, b: Any) -> tuple[int, ...]:
        return tuple(b[x] for x in self.group) or (1,)

    def spans(self, letters: tuple[str, ...]) -> list[tuple[str, Any, str]]:
        return [span(x, self.sizes[x]) for x in letters]

    def over(self, letters: tuple[str, ...], body: Expr) -> Expr:
        for letter in reversed(letters):
            body = Sum(letter, span(letter, self.sizes[letter])[1], span(letter, self.sizes[letter])[2], body)
        return body


def _parts(layer: Layer, refs: Any) -> tuple[_Groups, dict[str, Any]]:
    g, label = _Groups(layer, refs), layer["label"]
    source = refs.source(layer)
    stat = refs.shared if g.batch else refs.value
    statistic_signal = (lambda build: refs.batch_signal(build)) if g.batch else refs.signal
    if g.batch and not g.training:
        mu = refs.shared(lambda b: names.norm_value("running_mean", label, (b[g.feature],)))
        var = refs.shared(lambda b: names.norm_value("running_var", label, (b[g.feature],)))
    else:
        mu = stat(lambda b: names.norm_value("mu", label, g.group_of(b)))
        var = stat(lambda b: names.norm_value("var", label, g.group_of(b)))
    parts = dict(
        x=refs.value(lambda b: source(g.position(b))), d_x=refs.signal(lambda b: source(g.position(b))),
        mu=mu, var=var, xhat=refs.value(lambda b: names.norm_value("xhat", label, g.position(b))),
        d_xhat=refs.signal(lambda b: names.norm_value("xhat", label, g.position(b))),
        out=refs.value(lambda b: names.map_value("out", label, g.position(b))),
        d_out=refs.signal(lambda b: names.map_value("out", label, g.position(b))),
        d_mu=statistic_signal(lambda b: names.norm_value("mu", label, g.group_of(b))),
        d_var=statistic_signal(lambda b: names.norm_value("var", label, g.group_of(b))),
        root=Call("sqrt", plus(var, Num(g.eps, repr(g.eps)))))
    if "gamma" in layer["parameters"]:
        parts["gamma"] = refs.shared(lambda b: names.norm_parameter("gamma", label, (b[g.feature],)))
        parts["beta"] = refs.shared(lambda b: names.norm_parameter("beta", label, (b[g.feature],)))
    return g, parts


def _conventions(g: _Groups, refs: Any) -> str:
    if g.batch:
        where = ("each feature over the batch's samples" if len(g.letters) == 1 else
                 "each channel over the batch's samples and the map's positions")
    else:
        where = "the features of each sample" + (" at each time step" if len(g.letters) == 2 else "")
    if g.batch and not g.training:
        stats = "evaluation mode: the running mean and variance, constants of the step"
    else:
        stats = (f"a group of M = {g.size} values, the {'unbiased' if g.unbiased else 'biased'} variance "
                 f"(divided by D = {g.divide}{', M - 1' if g.unbiased else ', M, as PyTorch normalizes'})")
    return f"{g.layer['kind']}: {where}; {stats}; eps = {g.eps!r}"


def forward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """mu and var of each group (training), xhat, out."""
    g, p = _parts(layer, refs)
    each = refs.domain(*g.spans(g.letters)) if not refs.ctx.mixing else \
        tuple((x, v) for x, v, _ in [span("s", refs.samples), *g.spans(g.letters)])
    found = []
    if g.training:
        groups = tuple((x, v) for x, v, _ in g.spans(g.group))
        groups = refs.domain(*g.spans(g.group)) if not g.batch else groups
        found.append(Rule(p["mu"], (Op("/", g.over(g.members, p["x"]), Num(g.size)),), groups))
        found.append(Rule(p["var"], (Op("/", g.over(g.members, Power(Op("-", p["x"], p["mu"]), Num(2.0))),
                                        Num(g.divide)),), groups))
    found.append(Rule(p["xhat"], (Op("/", Op("-", p["x"], p["mu"]), p["root"]),), each))
    if "gamma" in p:
        found.append(Rule(p["out"], (plus(times(p["gamma"], p["xhat"]), p["beta"]),), each))
    return f"The rules ({_conventions(g, refs)}; out = gamma * xhat + beta per feature" + \
        ("" if "gamma" in p else ", here out = xhat: no gamma or beta") + ").", found


def backward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """dE/dxhat; the variance's and the mean's signals; dE/dx along the three paths; gamma and beta."""
    g, p = _parts(layer, refs)
    each = tuple((x, v) for x, v, _ in ([span("s", refs.samples)] if refs.ctx.mixing else []) + g.spans(g.letters))
    found = [Rule(p["d_xhat"], (times(p["d_out"], p["gamma"]) if "gamma" in p else p["d_out"],), each)]
    if g.training:
        groups = tuple((x, v) for x, v, _ in g.spans(g.group)) if g.batch else refs.domain(*g.spans(g.group))
        deviation = Op("-", p["x"], p["mu"])
        d_var = times(g.over(g.members, times(p["d_xhat"], deviation)), Num(-0.5, "(-1/2)", r"\left(-\frac{1}{2}\right)"),
                      Power(plus(p["var"], Num(g.eps, repr(g.eps))), Num(-1.5, "-3/2", "-3/2")))
        found.append(Rule(p["d_var"], (d_var,), groups))
        d_mu = plus(g.over(g.members, times(p["d_xhat"], Op("/", Num(-1.0), p["root"]))),
                    Op("/", times(p["d_var"], g.over(g.members, times(Num(-2.0), deviation))), Num(g.divide)))
        found.append(Rule(p["d_mu"], (d_mu,), groups))
        into = plus(Op("/", p["d_xhat"], p["root"]), Op("/", times(p["d_var"], Num(2.0), deviation), Num(g.divide)),
                    Op("/", p["d_mu"], Num(g.size)))
    else:
        into = Op("/", p["d_xhat"], p["root"])
    found.append(Rule(p["d_x"], (into,), each))
    if "gamma" in p:
        rest = tuple(x for x in g.letters if x != g.feature) + (("s",) if refs.ctx.mixing else ())
        features = ((g.feature, span(g.feature, g.sizes[g.feature])[1]),)
        found.append(Rule(refs.gradient(lambda b: names.norm_parameter("gamma", g.label, (b[g.feature],))),
                          (g.over(rest, times(p["d_out"], p["xhat"])),), features))
        found.append(Rule(refs.gradient(lambda b: names.norm_parameter("beta", g.label, (b[g.feature],))),
                          (g.over(rest, p["d_out"]),), features))
    paths = ("The gradient reaches each input along three paths that add up: through its own xhat, through the "
             "variance and through the mean (every xhat of the group depends on both; the mean's second term is 0, "
             "the deviations add up to 0)." if g.training else
             "The statistics are constants here (evaluation mode), so the gradient has one path, through xhat.")
    return f"The rules ({_conventions(g, refs)}). {paths}", found

"""`stepgrad export --code`: a short PyTorch training script for a network, for users who move on.

    >>> code = training_code(stepgrad.builtin())
    >>> "optimizer = torch.optim.SGD(model.parameters(), lr=0.5)" in code
    True

The script builds the same model (float64, the spec's weights), the same loss (stepgrad's E_total
written in torch: the mean over samples, or the sum with reduction = "sum") and the same optimizer
(torch.optim's counterpart with the same settings), and trains on the same data: the spec's samples
full-batch, or the remembered data set in shuffled mini-batches (its rows read with stepgrad.training.data,
so that the split and standardisation are the same). Its first step equals stepgrad's, except that
a bias stepgrad shares across a layer is one bias per neuron in PyTorch.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.spec import Network

# stepgrad loss (with its output activation) -> (per-sample loss in torch from (output, target), drop the
# final activation module: the loss takes the raw scores)
_PER_SAMPLE: dict[tuple[str, str | None], tuple[str, bool]] = {
    ("half_squared_error", None): ("0.5 * ((target - output) ** 2).sum(dim=1)", False),
    ("mean_squared_error", None): ("((target - output) ** 2).mean(dim=1)", False),
    ("huber", None): ("F.huber_loss(output, target, reduction='none', delta=1.0).sum(dim=1)", False),
    ("cross_entropy", "softmax"): ("F.cross_entropy(output, target, reduction='none')", True),
    ("cross_entropy", "sigmoid"): ("F.binary_cross_entropy_with_logits(output, target, reduction='none').sum(dim=1)",
                                   True),
    ("cross_entropy_with_logits", "linear"): ("F.cross_entropy(output, target, reduction='none')", False),
    ("binary_cross_entropy_with_logits", "linear"):
        ("F.binary_cross_entropy_with_logits(output, target, reduction='none').mean(dim=1)", False),
}

_OPTIMIZERS = {  # stepgrad optimizer -> torch.optim call, from its hyperparameters h
    "sgd": lambda h: "torch.optim.SGD(model.parameters(), lr={lr})",
    "momentum": lambda h: f"torch.optim.SGD(model.parameters(), lr={{lr}}, momentum={h['mu']!r})",
    "adam": lambda h: f"torch.optim.Adam(model.parameters(), lr={{lr}}, betas=({h['beta1']!r}, {h['beta2']!r}), "
                      f"eps={h['epsilon']!r})",
    "torch_sgd": lambda h: f"torch.optim.SGD(model.parameters(), lr={{lr}}, momentum={h['mu']!r}, "
                           f"dampening={h['dampening']!r}, nesterov={bool(h['nesterov'])}, weight_decay={h['decay']!r})",
    "torch_adam": lambda h: f"torch.optim.Adam(model.parameters(), lr={{lr}}, betas=({h['beta1']!r}, {h['beta2']!r}), "
                            f"eps={h['epsilon']!r}, weight_decay={h['decay']!r})",
    "adamw": lambda h: f"torch.optim.AdamW(model.parameters(), lr={{lr}}, betas=({h['beta1']!r}, {h['beta2']!r}), "
                       f"eps={h['epsilon']!r}, weight_decay={h['decay']!r})",
}


def _loss(net: Network) -> tuple[str, bool]:
    act = net.activations[-1]
    found = _PER_SAMPLE.get((net.loss, act)) or _PER_SAMPLE.get((net.loss, None))
    entry = LOSSES.get(net.loss)
    if found is None and entry is not None and entry.combination(act) is None and entry.torch_per_sample:
        found = (entry.torch_per_sample, False)  # the registry's own torch form (output, target)
    if found is None:
        raise StepgradError(f"no PyTorch form of {net.loss} with {act} outputs for the script", where="--code")
    return found


def _optimizer(net: Network, optimizer: str | None) -> str:
    from stepgrad.core import optim
    from stepgrad.core.training_state import TrainingState

    saved = TrainingState.of(net).optimizer
    name = optimizer or (saved or {}).get("name") or "sgd"
    hyper = dict(optim.get(name).hyper)
    if saved and saved.get("name") == name:
        hyper.update(saved.get("hyper", {}))
    if name not in _OPTIMIZERS:
        raise StepgradError(f"no torch.optim counterpart of {name}", where="--optimizer")
    return _OPTIMIZERS[name](hyper).replace("{lr}", repr(net.learning_rate))


def _tensor(a: np.ndarray) -> str:
    return f"torch.tensor({np.asarray(a, dtype=np.float64).tolist()!r})"


def _model(net: Network, drop_last: bool) -> list[str]:
    parts = []
    for l, act in enumerate(net.activations):
        parts.append(f"nn.Linear({net.layers[l]}, {net.layers[l + 1]})")
        if not (drop_last and l == net.depth - 1):
            parts.append(ACTIVATIONS[act].torch_source)
    lines = ["model = nn.Sequential(", *[f"    {p}," for p in parts], ")",
             "linears = [m for m in model if isinstance(m, nn.Linear)]",
             "with torch.no_grad():  # the spec's weights and biases (a shared bias: one per neuron)"]
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        lines.append(f"    linears[{l}].weight.copy_({_tensor(w)})")
        lines.append(f"    linears[{l}].bias.copy_({_tensor(np.broadcast_to(b, (net.layers[l + 1],)))})")
    if not net.update_biases:
        lines.append("for linear in linears:  # the spec does not train its biases")
        lines.append("    linear.bias.requires_grad_(False)")
    return lines


def _data(net: Network) -> tuple[list[str], bool]:
    """The lines that define `inputs` and `targets` (or `train_inputs`...), and whether it is a data set."""
    memory = net.extra.get("data")
    if memory is None:
        x, t = net.require_samples()
        return [f"inputs = {_tensor(x)}", f"targets = {_tensor(t)}"], False
    from stepgrad.training.data import spec_source

    args = spec_source(memory, "<spec>")
    keep = {k: v for k, v in args.items() if k in ("source", "label", "inputs", "targets", "classes") and v is not None}
    split = f"{args.get('test_fraction')!r}, seed={int(args.get('split_seed', 0))}, " \
            f"standardize={bool(args.get('standardize', False))}"
    call = ", ".join(f"{k}={v!r}" for k, v in keep.items() if k != "source")
    return [
        "from stepgrad.training.data import load_data, prepare  # the same rows, split and standardisation as stepgrad's",
        "",
        f"train_data, _ = prepare(load_data({keep['source']!r}{', ' + call if call else ''}), {split})",
        "inputs, targets = torch.tensor(train_data.inputs), torch.tensor(train_data.targets)",
    ], True


def training_code(net: Network, optimizer: str | None = None, epochs: int = 20, iterations: int = 1000,
                  batch_size: int | None = None) -> str:
    """The Python source of a runnable PyTorch script that trains `net` as stepgrad does."""
    per_sample, drop_last = _loss(net)
    reduce = "sum" if net.reduction == "sum" else "mean"
    data_lines, data_set = _data(net)
    memory = net.extra.get("data")
    size = batch_size or (int(memory.get("batch_size", 32)) if isinstance(memory, dict) else 32)
    title = net.name or "-".join(map(str, net.layers))
    lines = [
        f'"""Train {title} in PyTorch: the model, loss and optimizer of its stepgrad spec (stepgrad export --code)."""',
        "",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
        "torch.set_default_dtype(torch.float64)",
        "",
        *_model(net, drop_last),
        "",
        *data_lines,
        "",
        "",
        "def loss_fn(output, target):",
        f'    """stepgrad\'s E_total: {net.loss.replace("_", " ")} per sample, then the {reduce} over the samples."""',
        f"    return ({per_sample}).{reduce}()",
        "",
        "",
        f"optimizer = {_optimizer(net, optimizer)}",
        "",
        "",
        "def step(x, t):",
        '    """One training step on a batch; returns its loss before the step."""',
        "    optimizer.zero_grad()",
        "    loss = loss_fn(model(x), t)",
        "    loss.backward()",
        "    optimizer.step()",
        "    return loss.item()",
        "",
        "",
        "def main():",
    ]
    if data_set:
        lines += [
            f"    for epoch in range(1, {epochs} + 1):",
            "        order = torch.randperm(len(inputs))",
            f"        for start in range(0, len(inputs), {size}):",
            f"            rows = order[start:start + {size}]",
            "            step(inputs[rows], targets[rows])",
            "        with torch.no_grad():",
            "            print(f'epoch {epoch}: loss {loss_fn(model(inputs), targets).item():.6f}')",
        ]
    else:
        lines += [
            f"    for iteration in range({iterations}):",
            "        loss = step(inputs, targets)",
            f"        if iteration % {max(1, iterations // 10)} == 0:",
            "            print(f'iteration {iteration}: E_total {loss:.9f}')",
            "    with torch.no_grad():",
            "        print('outputs:', model(inputs).tolist())",
        ]
    lines += ["", "", 'if __name__ == "__main__":', "    main()", ""]
    return "\n".join(lines)

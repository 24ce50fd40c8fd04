"""`stepgrad export --code`: a short PyTorch training script for a network, for users who move on.

    >>> code = training_code(stepgrad.builtin())
    >>> "optimizer = torch.optim.SGD(model.parameters(), lr=0.5)" in code
    True

The script builds the same model (float64, the spec's weights), the same loss (stepgrad's E_total:
each sample's loss from the registry's PyTorch form, then the mean over samples, or the sum with
reduction = "sum") and the same optimizer (torch.optim's counterpart with the same settings), and
continues where stepgrad stopped: a saved network's optimizer state (momentum buffers, Adam's
moments and step count) is loaded into the torch optimizer, so its next step is stepgrad's next
step. It trains on the same data: the spec's samples full-batch, or the remembered data set in
mini-batches shuffled as stepgrad shuffles them (the rows read with stepgrad.training.data, so
the split and standardisation are the same; the order of each epoch from the same seeded
generator). update_order = "sequential" is written out: each layer is updated before the layer
below computes its deltas. Per-parameter settings (OptimizerState.settings) become torch's parameter
groups. A bias the layer shares (the deck's b1) is one parameter of shape (1,),
broadcast over the layer's neurons, so it trains as stepgrad's does. Where the script cannot do
what stepgrad does it says so at the top: an optimizer other than the one the network was trained
with starts fresh.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS, loss
from stepgrad.core.spec import Network
from stepgrad.formats.escape import python_string

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
    "rmsprop": lambda h: f"torch.optim.RMSprop(model.parameters(), lr={{lr}}, alpha={h['alpha']!r}, eps={h['epsilon']!r}, "
                         f"weight_decay={h['decay']!r}, momentum={h['mu']!r}, centered={bool(h['centered'])})",
    "adagrad": lambda h: f"torch.optim.Adagrad(model.parameters(), lr={{lr}}, lr_decay={h['lrdecay']!r}, "
                         f"weight_decay={h['decay']!r}, initial_accumulator_value={h['initial']!r}, eps={h['epsilon']!r})",
    "nadam": lambda h: f"torch.optim.NAdam(model.parameters(), lr={{lr}}, betas=({h['beta1']!r}, {h['beta2']!r}), "
                       f"eps={h['epsilon']!r}, weight_decay={h['decay']!r}, momentum_decay={h['psi']!r})",
}
_ADAM_STATE = {"m": "exp_avg", "s": "exp_avg_sq"}
_STATE = {  # stepgrad optimizer -> its state slots as torch.optim's state keys (and whether torch counts steps)
    "momentum": ({"v": "momentum_buffer"}, False), "torch_sgd": ({"v": "momentum_buffer"}, False),
    "adam": (_ADAM_STATE, True), "torch_adam": (_ADAM_STATE, True), "adamw": (_ADAM_STATE, True),
    "rmsprop": ({"s": "square_avg", "m": "grad_avg", "v": "momentum_buffer"}, True), "adagrad": ({"s": "sum"}, True),
    "nadam": ({**_ADAM_STATE, "prod": "mu_product"}, True),
}


def _loss_form(net: Network) -> tuple[list[str], bool]:
    """The script's lines defining per_sample(output, target), and whether the model stops before its final
    activation (the loss reads the raw scores). The one place the script reads the registry's losses: each
    entry's `torch_per_sample`, a torch expression in `output` and `target` written by our own generator (never
    user text), so the script needs nothing but torch."""
    entry = loss(net.loss)
    act = net.activations[-1]
    combined = entry.combination(act)
    form = combined if combined is not None else entry
    expression = getattr(form, "torch_per_sample", None)
    if not expression:
        raise StepgradError(f"no PyTorch form of {net.loss} with {act} outputs for the script", where="--code")
    source = "the raw scores (the last Linear's output)" if combined is not None else "the outputs"
    return [
        "def per_sample(output, target):",
        f'    """Each sample\'s E_total ({net.loss}) from {source}, as stepgrad computes it."""',
        f"    return {expression}",
    ], combined is not None


def _optimizer(net: Network, optimizer: str | None) -> tuple[str, str, list[str], list[str]]:
    """(stepgrad's optimizer name, the torch.optim call, the lines loading its saved state, notes for the top)."""
    from stepgrad.core import optim
    from stepgrad.core.training_state import TrainingState

    saved = TrainingState.of(net).optimizer
    name = optimizer or (saved or {}).get("name") or "sgd"
    hyper = dict(optim.get(name).hyper)
    if name not in _OPTIMIZERS:
        raise StepgradError(f"no torch.optim counterpart of {name}", where="--optimizer")
    notes: list[str] = []
    state_lines: list[str] = []
    params = "model.parameters()"
    if saved and saved.get("name") == name:
        hyper.update(saved.get("hyper", {}))
        state = optim.OptimizerState.from_dict(saved, optim.parameters(net))
        state_lines = _state_lines(net, state)
        if any(state.settings):
            params = _groups(name, hyper, state.settings)
    elif saved and int(saved.get("t", 0)) > 0:
        notes.append(f"{name} starts fresh here: the network was trained with {saved.get('name')}, whose state "
                     "does not carry over, so the first step differs from stepgrad's next one")
    call = _OPTIMIZERS[name](hyper).replace("{lr}", repr(net.learning_rate)).replace("model.parameters()", params, 1)
    return name, call, state_lines, notes


def _groups(name: str, hyper: dict[str, float], settings: list[dict[str, float]]) -> str:
    """torch's parameter groups for per-parameter settings (every weight, then every bias: the `parameters` list
    the script makes): parameters with the same own settings share a group, which sets them as torch names them."""
    from stepgrad.interop.optimizers import torch_options

    groups: dict[tuple[tuple[str, float], ...], list[int]] = {}
    for k, own in enumerate(settings):
        groups.setdefault(tuple(sorted(own.items())), []).append(k)
    rows = []
    for key, members in groups.items():
        own = dict(key)
        options = torch_options(name, {**hyper, **own}, set(own) - {"lr"})
        lr = own.get("lr")
        extra = ([f'"lr": {lr!r}'] if lr is not None else []) + [f"{k!r}: {v}" for k, v in options.items()]
        rows.append(f'{{"params": [{", ".join(f"parameters[{k}]" for k in members)}]'
                    + "".join(f", {e}" for e in extra).replace("'", '"') + "}")
    return "[\n    " + ",\n    ".join(rows) + ",\n]"


def _state_lines(net: Network, state) -> list[str]:
    """Lines that load stepgrad's optimizer state (after state.t steps) into the torch optimizer."""
    from stepgrad.core.optim import get
    if state.name == "nadam" and state.t > 0 and state.hyper.get("float32"):
        raise StepgradError("the script keeps NAdam's momentum product in float64; this state's is float32 (as torch "
                            "keeps it by default): export before the first step, or train here", where="--code")
    if state.name == "adagrad" and state.t == 0:  # torch starts the sum at initial_accumulator_value itself
        return []
    if state.t == 0 or state.name not in _STATE:
        return []
    keys, counted = _STATE[state.name]
    if state.name == "torch_sgd" and state.hyper.get("mu", 0.0) == 0:
        return []  # torch.optim.SGD without momentum keeps no state
    rows = []
    for slot, key in keys.items():
        if slot in get(state.name).once:  # one number per parameter (NAdam's momentum product): a 0-dim tensor
            rows.append(f"    {key!r}: {[float(np.asarray(a).flat[0]) if np.size(a) else 1.0 for a in state.slots[slot]]!r},")
            continue
        rows.append(f"    {key!r}: {[np.asarray(a, dtype=np.float64).tolist() for a in state.slots[slot]]!r},")
    step = f'"step": torch.tensor({float(state.t)!r}), ' if counted else ""
    return [
        f"# where stepgrad's {state.name} stopped, after {state.t} steps: its state per parameter (every weight,",
        "# then every bias), loaded so that the next step here is stepgrad's next step",
        "saved_state = {",
        *rows,
        "}",
        "for k, parameter in enumerate([*(linear.weight for linear in linears), *(linear.bias for linear in linears)]):",
        "    if parameter.requires_grad:",
        f"        optimizer.state[parameter] = {{{step}**{{key: torch.tensor(values[k]) for key, values in saved_state.items()}}}}",
    ]


def _tensor(a: np.ndarray) -> str:
    return f"torch.tensor({np.asarray(a, dtype=np.float64).tolist()!r})"


def _model(net: Network, drop_last: bool) -> list[str]:
    parts, pairs = [], []
    for l, act in enumerate(net.activations):
        parts.append(f"nn.Linear({net.layers[l]}, {net.layers[l + 1]})")
        if drop_last and l == net.depth - 1:
            pairs.append(f"(model[{len(parts) - 1}], nn.Identity())")
        else:
            parts.append(ACTIVATIONS[act].torch_source)
            pairs.append(f"(model[{len(parts) - 2}], model[{len(parts) - 1}])")
    lines = ["model = nn.Sequential(", *[f"    {p}," for p in parts], ")",
             "linears = [m for m in model if isinstance(m, nn.Linear)]",
             f"layers = [{', '.join(pairs)}]  # (Linear, its activation)",
             "with torch.no_grad():  # the spec's weights and biases"]
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        lines.append(f"    linears[{l}].weight.copy_({_tensor(w)})")
        if net.shared_bias(l):
            lines.append(f"    linears[{l}].bias = nn.Parameter({_tensor(b)})  # one bias shared by the layer "
                         "(broadcast over its neurons), as stepgrad's")
        else:
            lines.append(f"    linears[{l}].bias.copy_({_tensor(b)})")
    trains = net.trains()
    if net.partly_frozen:  # the spec's update_weights / update_biases per layer: torch skips what does not train
        for l in range(net.depth):
            for k, kind in ((l, "weight"), (net.depth + l, "bias")):
                if not trains[k]:
                    lines.append(f"linears[{l}].{kind}.requires_grad_(False)  # held fixed, as the spec says")
    elif not net.update_biases:
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


_SYNCHRONOUS_STEP = [
    "def step(x, t):",
    '    """One training step on a batch; returns its loss before the step."""',
    "    optimizer.zero_grad()",
    "    loss = loss_fn(model(x), t)",
    "    loss.backward()",
    "    optimizer.step()",
    "    return loss.item()",
]
_SEQUENTIAL_STEP = [
    "def step(x, t):",
    '    """One training step on a batch in the sequential order (stepgrad\'s update_order = "sequential"): each',
    '    layer is updated before the layer below computes its deltas. Returns the loss before the step."""',
    "    inputs_of, nets, outs = [], [], []",
    "    h = x",
    "    for linear, activation in layers:",
    "        inputs_of.append(h.detach().requires_grad_())  # each layer's backward pass is its own, below",
    "        nets.append(linear(inputs_of[-1]))",
    "        h = activation(nets[-1])",
    "        outs.append(h)",
    "    loss = loss_fn(h, t)",
    "    delta = torch.autograd.grad(loss, nets[-1])[0]  # dE_total/dnet of the output layer",
    "    for k in reversed(range(len(layers))):",
    "        linear = layers[k][0]",
    "        with torch.no_grad():",
    "            if linear.weight.requires_grad:",
    "                linear.weight -= LEARNING_RATE * delta.T @ inputs_of[k]",
    "            if linear.bias.requires_grad:",
    "                linear.bias -= LEARNING_RATE * delta.sum(dim=0).sum_to_size(linear.bias.shape)",
    "        if k:  # the error sent down through the just-updated weights, then the activation below",
    "            delta = torch.autograd.grad(outs[k - 1], nets[k - 1], delta @ linear.weight.detach())[0]",
    "    return loss.item()",
]


def training_code(net: Network, optimizer: str | None = None, epochs: int = 20, iterations: int = 1000,
                  batch_size: int | None = None) -> str:
    """The Python source of a runnable PyTorch script that trains `net` as stepgrad does, from where it stopped."""
    from stepgrad.core import optim
    from stepgrad.core.training_state import TrainingState

    loss_lines, drop_last = _loss_form(net)
    reduce = "sum" if net.reduction == "sum" else "mean"
    data_lines, data_set = _data(net)
    memory = net.extra.get("data")
    size = batch_size or (int(memory.get("batch_size", 32)) if isinstance(memory, dict) else 32)
    name, optimizer_call, state_lines, notes = _optimizer(net, optimizer)
    sequential = net.update_order == "sequential"
    if sequential and not optim.get(name).plain:
        raise StepgradError(f"the spec's update_order is sequential, defined for plain gradient descent only, not "
                            f"{name}: export with --optimizer sgd, or set update_order = \"synchronous\"",
                            where="--optimizer")
    title = python_string(net.name or "-".join(map(str, net.layers)))  # a spec's name is text, never code
    lines = [
        f'"""Train {title} in PyTorch: the model, loss and optimizer of its stepgrad spec (stepgrad export --code)."""',
        "",
        *[f"# NOTE: {note}." for note in notes],
        "import numpy as np",
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
        *loss_lines,
        "",
        "",
        "def loss_fn(output, target):",
        f'    """stepgrad\'s E_total: {net.loss.replace("_", " ")} per sample, then the {reduce} over the samples."""',
        f"    return per_sample(output, target).{reduce}()",
        "",
        "",
    ]
    if sequential:
        lines += [f"LEARNING_RATE = {net.learning_rate!r}", "", "", *_SEQUENTIAL_STEP]
    else:
        if "parameters[" in optimizer_call:  # parameter groups: the parameters in stepgrad's order
            lines += ["parameters = [*(linear.weight for linear in linears), *(linear.bias for linear in linears)]"]
        lines += [f"optimizer = {optimizer_call}", *state_lines, "", "", *_SYNCHRONOUS_STEP]
    lines += ["", "", "def main():", *[f"    print({('note: ' + note)!r})" for note in notes]]
    if data_set:
        first = (TrainingState.of(net).epochs or 0) + 1
        seed = int(memory.get("split_seed", 0)) if isinstance(memory, dict) else 0
        lines += [
            f"    for epoch in range({first}, {first} + {epochs}):  # stepgrad's epochs go on from {first}",
            f"        order = torch.from_numpy(np.random.default_rng(({seed}, epoch)).permutation(len(inputs)))"
            "  # stepgrad's shuffle",
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

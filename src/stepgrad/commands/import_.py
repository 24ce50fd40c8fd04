"""`stepgrad import`: a PyTorch state_dict of nn.Linear layers as a stepgrad spec."""

from __future__ import annotations

import click

from ..errors import StepgradError
from ._common import emit


def _layers(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        layers = [int(n) for n in value.replace(",", "-").split("-")]
    except ValueError:
        layers = []
    if len(layers) < 2 or min(layers) < 1:
        raise StepgradError(f"expected neurons per layer like 2-2-2, got {value!r}", where="--layers")
    return layers


def _activations(value: str | None, depth: int) -> list[str]:
    from ..functions import ACTIVATIONS

    names = [a.strip() for a in (value or "sigmoid").split(",") if a.strip()]
    for name in names:
        if name not in ACTIVATIONS:
            raise StepgradError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}", where="--activation")
    if len(names) == 1:
        return names * depth
    if len(names) != depth:
        raise StepgradError(f"give one activation or {depth} (one per layer), got {len(names)}", where="--activation")
    return names


@click.command("import")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--layers", default=None, help="Neurons per layer, inputs first (e.g. 2-2-2); checked against "
              "the file's shapes. Default: read from the shapes.")
@click.option("--activation", default=None, help="One activation for every layer, or one per layer "
              "(tanh,softmax). Default: sigmoid, or the --like spec's.")
@click.option("--loss", default=None, help="Default: half_squared_error, or the --like spec's.")
@click.option("--learning-rate", type=float, default=None, help="Default: 0.5, or the --like spec's.")
@click.option("--update-biases/--no-update-biases", default=None,
              help="Train the biases (default: yes, as PyTorch does; or the --like spec's).")
@click.option("--shared-biases", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="auto: a layer whose biases are all equal gets one shared bias (as exported shared biases are).")
@click.option("--like", "like", type=click.Path(dir_okay=False), default=None,
              help="Take everything but the weights and biases (activations, loss, samples ...) from this spec.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the spec here (.toml or .json); default: print TOML.")
def command(model, layers, activation, loss, learning_rate, update_biases, shared_biases, like, output):
    """Read a PyTorch state_dict (torch.load with weights_only=True only) into a stepgrad spec.

    The file holds the weights and biases of nn.Linear layers in order (as `stepgrad export` writes
    and model.state_dict() of an nn.Sequential gives); activations, loss and samples come from the
    options or from --like SPEC.

    \b
    Examples:
      stepgrad import model.pt --layers 2-2-2 --activation sigmoid -o net.toml
      stepgrad import trained.pt --like net.toml -o trained.toml
    """
    from .. import persist
    from ..spec import load
    from ..torch_interop import build_network, check_layers, linear_layers, read_state_dict

    base = load(like) if like else None
    wanted = _layers(layers) or (base.layers if base else None)
    names, weights, biases = linear_layers(read_state_dict(model), model)
    if wanted is not None:
        check_layers(weights, wanted, model, names, "--layers" if layers else f"--like {like}")
    options = dict(
        loss=loss or (base.loss if base else "half_squared_error"),
        learning_rate=learning_rate if learning_rate is not None else (base.learning_rate if base else 0.5),
        update_biases=update_biases if update_biases is not None else (base.update_biases if base else True),
        update_order=base.update_order if base else "synchronous",
        shared_biases={"auto": "auto", "yes": True, "no": False}[shared_biases],
        name=base.name if base else "",
    )
    if base is not None:
        options.update(inputs=base.inputs, targets=base.targets)
    acts = _activations(activation, len(weights)) if activation or base is None else base.activations
    net = build_network(weights, biases, acts, source=model, **options)
    fmt = "json" if output and output.lower().endswith(".json") else "toml"
    emit(persist.dumps(net, fmt), output)
    if net.inputs is None:
        click.echo("note: the spec has no samples yet; add [[samples]] (or import with --like SPEC) "
                   "before `stepgrad explain` or `train`", err=True)

"""`stepgrad import`: a PyTorch state_dict of nn.Linear layers as a stepgrad spec."""

from __future__ import annotations

import click

from stepgrad.api import import_job
from stepgrad.cli._common import LOSS_CHOICES, emit, note


@click.command("import")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--layers", default=None, help="Neurons per layer, inputs first (e.g. 2-2-2); checked against "
              "the file's shapes. Default: read from the shapes.")
@click.option("--activation", default=None, help="One activation for every layer, or one per layer "
              "(tanh,softmax). Default: sigmoid, or the --like spec's.")
@click.option("--loss", type=click.Choice(LOSS_CHOICES), default=None, help="Default: half_squared_error, or the --like spec's.")
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
    fmt = "json" if output and output.lower().endswith(".json") else "toml"
    emit(import_job(model, layers=layers, activation=activation, loss=loss, learning_rate=learning_rate,
                    update_biases=update_biases, shared_biases=shared_biases, like=like, fmt=fmt, note=note), output)

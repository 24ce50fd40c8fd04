"""`stepgrad import`: a PyTorch state_dict of nn.Linear layers as a stepgrad spec (stepgrad.api.import_torch)."""

from __future__ import annotations

import click

from stepgrad.api import ImportOptions, import_torch
from stepgrad.cli._common import LOSS_CHOICES, api_option, emit, note

API = import_torch


@click.command("import")
@click.argument("model", type=click.Path(dir_okay=False))
@api_option(API, "--layers", help="Neurons per layer, inputs first (e.g. 2-2-2); checked against "
            "the file's shapes. Default: read from the shapes.")
@api_option(API, "--activation", help="One activation for every layer, or one per layer "
            "(tanh,softmax). Default: sigmoid, or the --like spec's.")
@api_option(API, "--loss", type=click.Choice(LOSS_CHOICES), help="Default: half_squared_error, or the --like spec's.")
@api_option(API, "--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Default: 0.5, or the --like spec's.")
@api_option(API, "--update-biases/--no-update-biases",
            help="Train the biases (default: yes, as PyTorch does; or the --like spec's).")
@api_option(API, "--shared-biases", type=click.Choice(["auto", "yes", "no"]),
            help="auto: a layer whose biases are all equal gets one shared bias (as exported shared biases are).")
@api_option(API, "--dtype", type=click.Choice(["float64", "float32"]),
            help="The arithmetic of the spec's steps: float32 computes as PyTorch computes a float32 model "
                 "(explain, serve); default float64, every digit exact.")
@api_option(API, "--like", type=click.Path(dir_okay=False),
            help="Take everything but the weights and biases (activations, loss, samples ...) from this spec.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the spec here (.toml or .json); default: print TOML.")
def command(model, layers, activation, loss, learning_rate, update_biases, shared_biases, dtype, like, output):
    """Read a PyTorch state_dict (torch.load with weights_only=True only) into a stepgrad spec.

    The file holds the weights and biases of nn.Linear layers in order (as `stepgrad export` writes
    and model.state_dict() of an nn.Sequential gives); activations, loss and samples come from the
    options or from --like SPEC.

    \b
    Examples:
      stepgrad import model.pt --layers 2-2-2 --activation sigmoid -o net.toml
      stepgrad import trained.pt --like net.toml -o trained.toml
    """
    options = ImportOptions(layers=layers, activation=activation, loss=loss, learning_rate=learning_rate,
                            update_biases=update_biases, shared_biases=shared_biases, dtype=dtype)
    fmt = "json" if output and output.lower().endswith(".json") else "toml"
    emit(import_torch(model, options=options, like=like, fmt=fmt, note=note), output)

"""`stepgrad export`: a network's weights as a PyTorch state_dict file, or a PyTorch training script (stepgrad.api.export_torch)."""

from __future__ import annotations

import click

from stepgrad.api import export_torch
from stepgrad.cli._common import OPTIMIZER_CHOICES, api_option, note, spec_argument

API = export_torch


@click.command("export")
@spec_argument
@api_option(API, "-o", "--output", type=click.Path(dir_okay=False),
            help="The .pt file to write (a state_dict of float64 tensors).")
@api_option(API, "--code", type=click.Path(dir_okay=False),
            help="Write a short, runnable PyTorch script (.py) that builds and trains the same network.")
@api_option(API, "--optimizer", type=click.Choice(OPTIMIZER_CHOICES),
            help="The script's optimizer (default: the one the network was trained with, else sgd).")
@api_option(API, "--keys", type=click.Path(dir_okay=False), metavar="STATE_DICT.pt",
            help="Name the keys after your own model's: a file of torch.save(model.state_dict(), path).")
def command(spec, output, code, optimizer, keys):
    """Write the network's weights as a PyTorch state_dict, or as PyTorch code (needs the [torch] extra).

    The keys are those of the nn.Sequential that `stepgrad.to_torch` builds (0.weight, 0.bias,
    2.weight, ...); shared biases are written once per neuron. The command prints that
    nn.Sequential, to load the file into it. With --code, a script with the same model, loss,
    optimizer and data; its first step equals stepgrad's. With --keys, the keys of your own model's
    state_dict (fc1.weight, fc1.bias, ...), so model.load_state_dict takes the file as it is.

    \b
    Examples:
      stepgrad export net.toml -o model.pt
      stepgrad export net.toml -o weights.pt --keys mine.pt   # mine.pt: torch.save(model.state_dict(), ...)
      python -c "import torch; print(torch.load('model.pt', weights_only=True))"
      stepgrad export dig.toml --code train.py && python train.py
    """
    export_torch(spec, output=output, code=code, optimizer=optimizer, keys=keys, note=note)

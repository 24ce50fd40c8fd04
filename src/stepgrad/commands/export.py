"""`stepgrad export`: a network's weights as a PyTorch state_dict file."""

from __future__ import annotations

import io

import click

from ..files import write_atomic
from ._common import load_spec, spec_argument


@click.command("export")
@spec_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The .pt file to write (a state_dict of float64 tensors).")
def command(spec, output):
    """Write the network's weights as a PyTorch state_dict (needs the [torch] extra).

    The keys are those of the nn.Sequential that `stepgrad.to_torch` builds (0.weight, 0.bias,
    2.weight, ...); shared biases are written once per neuron. The command prints that
    nn.Sequential, to load the file into it.

    \b
    Example:
      stepgrad export net.toml -o model.pt
      python -c "import torch; print(torch.load('model.pt', weights_only=True))"
    """
    from ..torch_interop import describe, to_torch, torch_module

    torch = torch_module()
    net = load_spec(spec)
    buffer = io.BytesIO()
    torch.save(to_torch(net).state_dict(), buffer)
    write_atomic(output, buffer.getvalue())
    click.echo(f"wrote {output}: the state_dict of\n  model = {describe(net)}\n"
               f"load it with: model.load_state_dict(torch.load({output!r}, weights_only=True))", err=True)

"""The main job (`stepgrad` alone): the seed deck, reproduced and labelled.

The derivation is the synchronous step (all gradients from the old weights, as the deck derives
them); the deck's reported error after one update and its table after 10,000 iterations come from
the sequential order, so both are computed and each figure says where it comes from.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from ..explain import explain
from ..jobs import progress_train
from ..render.formula import number
from ..render.text import rich_renderable
from ..spec import builtin

ITERATIONS = 10_000


def run_deck(digits: int = 9) -> None:
    console = Console(highlight=False)
    net = builtin()
    console.print(Panel.fit(
        "[bold]Step by step Backpropagation[/], reproduced by stepgrad\n"
        "A 2-2-2 sigmoid network, inputs 0.05 / 0.10, targets 0.01 / 0.99, learning rate 0.5.\n"
        "Values are float64, shown to 9 significant digits.",
        border_style="cyan"))
    sync = explain(net, update_order="synchronous")
    seq = explain(net, update_order="sequential")
    console.print(rich_renderable(sync, digits))

    before = sync.values["E_total"]
    table = Table(title="The error, before and after one update")
    table.add_column("")
    table.add_column("E_total", justify="right")
    table.add_column("where the figure comes from")
    table.add_row("before", number(before, digits), "the forward pass above")
    table.add_row("after (synchronous)", number(sync.values["E_total+"], digits),
                  "the derivation above: every gradient from the old weights")
    table.add_row("after (sequential)", number(seq.values["E_total+"], digits),
                  "the deck's figure: w5..w8 updated first, then w1..w4 from the new w5..w8")
    console.print(table)

    console.print(f"\n[bold]Training {ITERATIONS:,} iterations[/] (both update orders)")
    runs = [progress_train(net, ITERATIONS, order, 100, quiet=False) for order in ("sequential", "synchronous")]
    inputs, targets = net.require_samples()
    result = Table(title=f"After {ITERATIONS:,} iterations")
    result.add_column("input")
    result.add_column("new output (sequential: the deck's table)", justify="right")
    result.add_column("new output (synchronous)", justify="right")
    result.add_column("target", justify="right")
    outs = [r.network_outputs()[0] for r in runs]
    for k in range(2):
        result.add_row(f"i{k + 1} = {number(inputs[0, k], digits)}",
                       f"o{k + 1} = {number(outs[0][k], digits)}", f"o{k + 1} = {number(outs[1][k], digits)}",
                       f"o{k + 1} = {number(targets[0, k], digits)}")
    result.add_row("E_total", number(runs[0].final_error, 6), number(runs[1].final_error, 6), "")
    console.print(result)
    console.print("[dim]Try: stepgrad explain --only w1   ·   stepgrad names   ·   stepgrad --help[/]")

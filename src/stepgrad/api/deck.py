"""The whole deck (`stepgrad` alone): the seed deck, told as the deck tells it, checked against the deck.

The derivation goes one weight at a time, as the slides do (w5, w6, w7, w8, then w1..w4), with
every local derivative derived and every number at the deck's 9 decimals, so each correct figure
of the deck appears digit for digit. The derivation is the synchronous step (every gradient from
the old weights, as the deck derives them); the deck's error after one update and its table after
10,000 iterations come from the sequential order, so both orders are computed and every figure
says where it comes from. It ends with the deck's own figures, checked: every printed number that
is not the exact value, with the reason, found by running `stepgrad check` on the bundled
transcription of the deck.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from stepgrad.api.train import progress_train
from stepgrad.core.spec import builtin
from stepgrad.formats import shown
from stepgrad.formats.formula import Decimals, Precision, number
from stepgrad.formats.text import rich_renderable
from stepgrad.teach.deck_figures import slips, summary
from stepgrad.teach.deck_labels import LABEL_SLIPS
from stepgrad.tracing.build import explain
from stepgrad.tracing.derive import derive
from stepgrad.tracing.group import group

ITERATIONS = 10_000
DECIMALS = Decimals(9)


def show_deck(console: Console | None = None, precision: Precision = DECIMALS, quiet: bool = False) -> None:
    """Print the whole seed deck to `console`: the derivation, the error after one update, training, the deck's slips.

    `precision` is Decimals(9) (as the deck prints) or a number of significant digits; `quiet` hides the
    progress bars. This is what `stepgrad` alone prints.

    Example:
        >>> import io
        >>> console = Console(file=io.StringIO(), width=120)
        >>> show_deck(console, quiet=True)
        >>> "After 10,000 iterations" in console.file.getvalue()
        True
    """
    console = console or Console(highlight=False)
    net = builtin()
    console.print(Panel.fit(
        "[bold]Step by step Backpropagation[/], reproduced by stepgrad\n"
        "A 2-2-2 sigmoid network, inputs 0.05 / 0.10, targets 0.01 / 0.99, learning rate 0.5.\n"
        f"Values are float64, shown to {precision if isinstance(precision, Decimals) else f'{precision} digits'}"
        " as the deck prints them; one weight at a time, as the slides go.",
        border_style="cyan"))
    sync = explain(net, update_order="synchronous")
    seq = explain(net, update_order="sequential")
    console.print(rich_renderable(shown(group(derive(sync), "weight")), precision))
    console.print(error_table(sync.values["E_total"], sync.values["E_total+"], seq.values["E_total+"], precision))
    console.print(f"\n[bold]Training {ITERATIONS:,} iterations[/] (both update orders)")
    runs = [progress_train(net, ITERATIONS, order, 100, quiet=quiet) for order in ("sequential", "synchronous")]
    console.print(training_table(net, runs, precision))
    console.print(slips_table(precision))
    console.print("[dim]Try: stepgrad explain --only w1 --group weight --derive   ·   stepgrad check FILE"
                  "   ·   stepgrad --help[/]")


def error_table(before: float, synchronous: float, sequential: float, precision: Precision) -> Table:
    """E_total before and after one update, in both orders, each with where the figure comes from."""
    table = Table(title="The error, before and after one update")
    table.add_column("")
    table.add_column("E_total", justify="right")
    table.add_column("where the figure comes from")
    table.add_row("before", number(before, precision), "the forward pass above")
    table.add_row("after (synchronous)", number(synchronous, precision),
                  "the derivation above: every gradient from the old weights")
    table.add_row("after (sequential)", number(sequential, precision),
                  "the deck's figure: w5..w8 updated first, then w1..w4 from the new w5..w8")
    return table


def training_table(net, runs: list, precision: Precision) -> Table:
    """The deck's closing table: the outputs after training, in the sequential (the deck's) and synchronous order."""
    inputs, targets = net.require_samples()
    table = Table(title=f"After {ITERATIONS:,} iterations")
    table.add_column("input")
    table.add_column("new output (sequential: the deck's table)", justify="right")
    table.add_column("new output (synchronous)", justify="right")
    table.add_column("target", justify="right")
    outs = [r.network_outputs()[0] for r in runs]
    for k in range(inputs.shape[1]):
        table.add_row(f"i{k + 1} = {number(inputs[0, k], precision)}",
                      f"o{k + 1} = {number(outs[0][k], precision)}", f"o{k + 1} = {number(outs[1][k], precision)}",
                      f"o{k + 1} = {number(targets[0, k], precision)}")
    table.add_row("E_total", number(runs[0].final_error, precision), number(runs[1].final_error, precision), "")
    return table


def slips_table(precision: Precision) -> Group:
    """The deck's figures, checked: every printed figure that is off with its cause under it, then the label slips.

    Laid out for 80 columns: one line per figure (name, as printed, exact, the kind of slip), the
    reason indented under it, wrapped to the console's width.
    """
    rows = slips()
    names = max(len(r.name) for r in rows)
    prints = max(len("the deck prints"), *(len(r.printed) for r in rows))
    exacts = max(len("exact"), *(len(number(r.exact, precision)) for r in rows))
    parts: list = [Text("The deck's figures, checked", style="bold"), Text(
        f"{'quantity':<{names}}  {'the deck prints':>{prints}}  {'exact':>{exacts}}  cause", style="bold")]
    for r in rows:
        parts.append(Text(f"{r.name:<{names}}  {r.printed:>{prints}}  {number(r.exact, precision):>{exacts}}  "
                          f"{r.cause}"))
        parts.append(Padding(Text(r.reason, style="dim"), (0, 0, 0, 4), expand=False))
    parts.append(Text(summary(), style="dim"))
    parts.append(Text("\nThe deck's labels, checked (the figures are right, the words are not)", style="bold"))
    for label in LABEL_SLIPS:
        parts.append(Text(f"{label.quantity:<{names}}  {label.where}"))
        parts.append(Padding(Text(label.text, style="dim"), (0, 0, 0, 4), expand=False))
    parts.append(Text("Causes found by redoing the deck's arithmetic on the bundled transcription "
                      "(examples/seed-deck-solution.txt): rounding, the other update order, a copied figure or "
                      "one slip in copying, the smallest that gives the printed figure; `stepgrad explain --deck` "
                      "shows each beside its quantity.", style="dim"))
    return Group(*parts)

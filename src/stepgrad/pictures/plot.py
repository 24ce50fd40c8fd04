"""The loss curve of training runs, as a .png or .svg file (matplotlib, the [plot] extra).

Every panel has a title; data-set runs count epochs on the x axis (as their table does); two runs of
`train --update-order both` get a third panel with their difference (on a log axis the curves coincide)
and legends with as many digits as it takes to tell their final errors apart. PNG is >= 1200 px wide.

    >>> plot_histories([stepgrad.train(stepgrad.builtin(), 10_000)], "loss.png")
"""

from __future__ import annotations

from pathlib import Path

from stepgrad.core.errors import StepgradError


def plot_histories(histories: list, path: str) -> None:
    """Draw E_total against the iteration for each run (and the accuracies of data-set runs); write `path` atomically."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise StepgradError("the plot file must end in .png or .svg", where="--plot")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise StepgradError("plots need matplotlib: pip install 'stepgrad[plot]'", where="--plot") from None
    with_accuracy = any(h.epochs and "train_accuracy" in h.epochs[-1] for h in histories)
    with_difference = _comparable(histories)
    panels = 1 + with_accuracy + with_difference
    fig, axes = plt.subplots(1, panels, figsize=(6 + 4.5 * (panels - 1), 4), squeeze=False)
    loss_ax = axes[0][0]
    digits = _telling_digits([h.errors[-1] for h in histories if h.errors])
    by_epoch = all(h.epochs for h in histories)
    for n, h in enumerate(histories):
        label = h.optimizer if h.epochs else h.update_order
        end = f": {h.errors[-1]:#.{digits}g} after {h.recorded[-1]:,} iterations" if h.recorded and not h.epochs else ""
        xs = _epochs(h, h.recorded) if by_epoch else h.recorded
        (line,) = loss_ax.plot(xs, h.errors, "--" if n % 2 else "-",
                               label=f"training ({label})" if h.epochs else label + end)
        if end:  # mark where the run ends
            loss_ax.plot(xs[-1], h.errors[-1], "o", color=line.get_color())
        if h.epochs and "test_loss" in h.epochs[-1]:
            loss_ax.plot([e["epoch"] for e in h.epochs], [e["test_loss"] for e in h.epochs], "--", label="test")
    if by_epoch:
        last_epoch = max(h.epochs[-1]["epoch"] for h in histories)
        loss_ax.set_title(f"Loss over {last_epoch:,} epochs", fontsize=10)
        loss_ax.set_xlabel("epoch")
        loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        loss_ax.set_ylabel("loss (mean over samples)")
    else:
        last = max((h.recorded[-1] for h in histories if h.recorded), default=0)
        loss_ax.set_title(f"E_total over {last:,} iterations", fontsize=10)
        loss_ax.set_xlabel("iteration")
        loss_ax.set_ylabel("E_total (mean over samples)")
    loss_ax.set_yscale("log")
    loss_ax.legend(fontsize=8)
    column = 1
    if with_accuracy:
        ax = axes[0][column]
        column += 1
        for h in histories:
            epochs = [e["epoch"] for e in h.epochs]
            ax.plot(epochs, [e["train_accuracy"] for e in h.epochs], label="training")
            if "test_accuracy" in h.epochs[-1]:
                ax.plot(epochs, [e["test_accuracy"] for e in h.epochs], "--", label="test")
        ax.set_title("Accuracy by epoch", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=8)
    if with_difference:
        _difference(axes[0][column], histories, digits)
    fig.tight_layout()
    from io import BytesIO, StringIO

    from stepgrad.core.files import write_atomic

    if suffix == ".svg":
        buffer = StringIO()
        fig.savefig(buffer, format="svg")
        write_atomic(path, buffer.getvalue())
    else:
        data = BytesIO()
        fig.savefig(data, format="png", dpi=max(110, -(-1200 // fig.get_size_inches()[0])))  # >= 1200 px wide
        write_atomic(path, data.getvalue())
    plt.close(fig)


def _comparable(histories: list) -> bool:
    """Two iteration runs recorded at the same iterations (train --update-order both)."""
    return (len(histories) == 2 and not any(h.epochs for h in histories)
            and histories[0].recorded == histories[1].recorded and len(histories[0].recorded) > 1)


def _telling_digits(finals: list[float]) -> int:
    """The fewest significant digits (3 to 12) that tell the final errors apart."""
    for digits in range(3, 13):
        if len({f"{e:.{digits}g}" for e in finals}) == len(set(finals)):
            return digits
    return 12


def _epochs(h, iterations: list[int]) -> list[float]:
    """Iteration counts of a data-set run as epochs (its iterations per epoch are constant)."""
    last = h.epochs[-1]
    per_epoch = last["iteration"] / last["epoch"] if last["epoch"] else 1.0
    return [i / per_epoch for i in iterations]


def _difference(ax, histories: list, digits: int) -> None:
    """The second run's E_total minus the first's: what the two curves on a log axis hide."""
    a, b = histories
    diff = [y - x for x, y in zip(a.errors, b.errors)]
    ax.plot(a.recorded, diff, color="tab:purple",
            label=f"{b.update_order} − {a.update_order}: {diff[-1]:.{max(3, digits - 2)}g} at the end")
    ax.axhline(0, color="#888", linewidth=0.8)
    ax.set_title(f"Difference: E_total({b.update_order}) − E_total({a.update_order})", fontsize=10)
    ax.set_xlabel("iteration")
    ax.set_ylabel("difference in E_total")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.legend(fontsize=8)

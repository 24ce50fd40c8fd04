"""The loss curve of training runs, as a .png or .svg file (matplotlib, the [plot] extra).

    >>> plot_histories([stepgrad.train(stepgrad.builtin(), 10_000)], "loss.png")
"""

from __future__ import annotations

from pathlib import Path

from .errors import StepgradError


def plot_histories(histories: list, path: str) -> None:
    """Draw E_total against the iteration for each run (and the accuracies of data-set runs); write `path` atomically."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise StepgradError("the plot file must end in .png or .svg", where="--plot")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise StepgradError("plots need matplotlib: pip install 'stepgrad[plot]'", where="--plot") from None
    with_accuracy = any(h.epochs and "train_accuracy" in h.epochs[-1] for h in histories)
    fig, axes = plt.subplots(1, 2 if with_accuracy else 1, figsize=(9 if with_accuracy else 6, 3.6), squeeze=False)
    loss_ax = axes[0][0]
    for n, h in enumerate(histories):
        label = h.optimizer if h.epochs else h.update_order
        end = f": {h.errors[-1]:.3g} after {h.recorded[-1]:,} iterations" if h.recorded and not h.epochs else ""
        (line,) = loss_ax.plot(h.recorded, h.errors, "--" if n % 2 else "-",
                               label=f"training ({label})" if h.epochs else label + end)
        if end:  # mark where the run ends
            loss_ax.plot(h.recorded[-1], h.errors[-1], "o", color=line.get_color())
        if h.epochs and "test_loss" in h.epochs[-1]:
            loss_ax.plot([e["iteration"] for e in h.epochs], [e["test_loss"] for e in h.epochs], "--", label="test")
    last = max((h.recorded[-1] for h in histories if h.recorded), default=0)
    loss_ax.set_title(f"E_total over {last:,} iterations", fontsize=10)
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("E_total (mean over samples)")
    loss_ax.set_yscale("log")
    loss_ax.legend()
    if with_accuracy:
        ax = axes[0][1]
        for h in histories:
            its = [e["iteration"] for e in h.epochs]
            ax.plot(its, [e["train_accuracy"] for e in h.epochs], label="training")
            if "test_accuracy" in h.epochs[-1]:
                ax.plot(its, [e["test_accuracy"] for e in h.epochs], "--", label="test")
        ax.set_xlabel("iteration")
        ax.set_ylabel("accuracy")
        ax.legend()
    fig.tight_layout()
    from io import BytesIO, StringIO

    from .files import write_atomic

    if suffix == ".svg":
        buffer = StringIO()
        fig.savefig(buffer, format="svg")
        write_atomic(path, buffer.getvalue())
    else:
        data = BytesIO()
        fig.savefig(data, format="png", dpi=110)
        write_atomic(path, data.getvalue())
    plt.close(fig)

"""The digits CNN: stepgrad's layer-table trainer against PyTorch on the same batches; writes CNN.md.

conv2d (1 -> 4 channels, 3x3, ReLU) + 2x2 max-pool + dense softmax, cross-entropy, SGD, batches of 32 from
scikit-learn's 8x8 digits, float64 in both (stepgrad's engine computes in float64), the same starting weights and
the same shuffled batches (stepgrad.training.loop.epoch_order). It checks that the trained parameters agree
(1e-9 relative) and reports median wall times as ratios to stepgrad's (above 1: stepgrad is faster). One thread
for BLAS and PyTorch. Run: .venv/bin/python benchmarks/cnn.py [--quick]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from stepgrad.core.layers.spec import LayerNetwork  # noqa: E402
from stepgrad.training.data import bundled  # noqa: E402
from stepgrad.training.layered import accuracy, as_images, fit_layers  # noqa: E402

QUICK = "--quick" in sys.argv
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.layer_helpers import DIGITS_CNN, digits_cnn_torch, torch_cross_entropy_epochs  # noqa: E402


def torch_run(net: LayerNetwork, train, epochs: int, batch: int) -> list[np.ndarray]:
    """PyTorch autograd + torch.optim.SGD on the same batches from the same weights: the trained parameters."""
    import torch

    model = digits_cnn_torch(net)
    torch_cross_entropy_epochs(model, torch.optim.SGD(model.parameters(), lr=net.learning_rate), train, epochs, batch)
    return [p.detach().numpy().copy() for p in model.parameters()]


def main() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    train, test = as_images(bundled("digits"), (1, 8, 8)).split(0.2, seed=0)
    epochs, batch, rounds = (2, 32, 2) if QUICK else (10, 32, 5)
    net = LayerNetwork.from_dict(DIGITS_CNN)

    def ours() -> list[np.ndarray]:
        model = fit_layers(net, train, None, epochs=epochs, batch_size=batch, seed=0).network
        return [model.layers[0].params["kernel"], model.layers[0].params["bias"],
                model.layers[3].params["weight"], model.layers[3].params["bias"]]

    impls = {"stepgrad fit_layers": ours, "PyTorch autograd+SGD": lambda: torch_run(net, train, epochs, batch)}
    results = {name: fn() for name, fn in impls.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in impls}
    names = list(impls)
    for r in range(rounds):  # interleaved, so that a busy machine slows both alike
        for name in names[r % 2:] + names[:r % 2]:
            start = time.perf_counter()
            results[name] = impls[name]()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(v) for name, v in times.items()}
    worst = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6)))
                for a, b in zip(results["stepgrad fit_layers"], results["PyTorch autograd+SGD"], strict=True))
    assert worst <= 1e-9, worst
    trained = fit_layers(net, train, test, epochs=epochs, batch_size=batch, seed=0)
    steps = epochs * -(-len(train) // batch)
    base = median["stepgrad fit_layers"]
    lines = ["# The digits CNN against PyTorch (benchmarks/cnn.py)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{', --quick' if QUICK else ''}; "
             f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}, numpy {np.__version__}, "
             f"torch {torch.__version__}; one thread each.", "",
             f"conv2d 1->4 3x3 ReLU, max-pool 2x2, dense 36->10 softmax, cross-entropy; SGD lr 0.5, {epochs} epochs of "
             f"batches of {batch} ({steps} steps) on {len(train)} digits, float64 in both, the same batches.", "",
             "| implementation | median time | per step | time / stepgrad's |", "|---|---:|---:|---:|"]
    for name, seconds in median.items():
        lines.append(f"| {name} | {seconds:.2f} s | {seconds / steps * 1e3:.2f} ms | {seconds / base:.2f} |")
    lines += ["", f"Trained parameters agree within {worst:.1e} relative; stepgrad's test accuracy "
                  f"{accuracy(trained.network, test):.3f}.", ""]
    text = "\n".join(lines)
    print(text)
    if not QUICK:
        (HERE / "CNN.md").write_text(text)
        print(f"wrote {HERE / 'CNN.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Training sequence networks: stepgrad's engine against PyTorch on the same batches; writes SEQUENCES.md.

The task is the bundled `sequence_sums` (600 sequences of 6 numbers, classed by the sign of their
sum; 480 train, 120 test). Each case starts both from the same weights (PyTorch's model is
stepgrad.to_torch of the network), takes the same shuffled mini-batches (training.loop.epoch_order)
with plain SGD in float64, then checks that the trained parameters agree before it compares times.
The PyTorch peer is the loop a PyTorch user writes: zero_grad, forward, nn.CrossEntropyLoss, backward,
step. Ratios: PyTorch's time / stepgrad's (above 1: stepgrad is faster).
Run: /work/main/.venv/bin/python benchmarks/sequences.py [--quick]
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as run.py: idle torch threads do not spin

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import THREADS, compare, machine  # noqa: E402

import stepgrad  # noqa: E402
from stepgrad.core.layers.spec import LayerNetwork  # noqa: E402
from stepgrad.training.data import load_data  # noqa: E402
from stepgrad.training.layered import accuracy, as_images, fit_layers  # noqa: E402
from stepgrad.training.loop import epoch_order  # noqa: E402

QUICK = "--quick" in sys.argv
EPOCHS = 2 if QUICK else 10
BATCH = 16
SEQUENCE = {"type": "sequence", "steps": 6, "features": 1}
SOFTMAX = {"type": "dense", "neurons": 2, "activation": "softmax"}
CASES = {
    "rnn 8 tanh, last state -> softmax 2": [SEQUENCE, {"type": "rnn", "hidden": 8}, SOFTMAX],
    "dense 4 per step -> attention head (causal, last) -> layernorm -> softmax 2": [
        SEQUENCE, {"type": "dense", "neurons": 4, "activation": "tanh"},
        {"type": "attention", "causal": True, "output": "last"}, {"type": "layernorm"}, SOFTMAX],
    "rnn 8 -> batchnorm (training mode) -> softmax 2": [
        SEQUENCE, {"type": "rnn", "hidden": 8}, {"type": "batchnorm", "momentum": 0.1}, SOFTMAX],
}


def torch_fit(model, inputs: np.ndarray, targets: np.ndarray, lr: float, epochs: int):
    """The PyTorch user's loop on the same batches: SGD, nn.CrossEntropyLoss (probability targets) on the logits."""
    import torch

    model = copy.deepcopy(model)
    x, t = torch.from_numpy(inputs), torch.from_numpy(targets)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    body = model[:-1]  # the network without its final Softmax: the logits
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(epoch_order(0, epoch, len(x)))
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            loss_fn(body(x[rows]), t[rows]).backward()
            optimizer.step()
    return model


def torch_accuracy(model, inputs: np.ndarray, targets: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        out = model.eval()(torch.from_numpy(inputs)).numpy()
    return float(np.mean(out.argmax(axis=1) == targets.argmax(axis=1)))


def run_case(name: str, layers: list) -> tuple[dict[str, float], str]:
    data = as_images(load_data("sequence_sums"), (6, 1))
    train, test = data.split(0.2, seed=0)
    net = LayerNetwork.from_dict({"layers": layers, "loss": "cross_entropy", "learning_rate": 0.1, "seed": 1,
                                  "update_biases": True})
    model = stepgrad.to_torch(net)
    impls = {
        "stepgrad": lambda: fit_layers(net, train, epochs=EPOCHS, batch_size=BATCH).network,
        "PyTorch autograd+SGD": lambda: torch_fit(model, train.inputs, train.targets, net.learning_rate, EPOCHS),
    }
    times, results = compare(impls, rounds=3 if QUICK else 5)
    ours, theirs = results["stepgrad"], results["PyTorch autograd+SGD"]
    read = stepgrad.from_torch(theirs, input_shape=(6, 1))  # the trained torch parameters, as stepgrad names them
    gap = max(float(np.abs(a.params[r] - b.params[r]).max()) for a, b in zip(ours.all_layers(), read.all_layers())
              for r in a.params)
    for a, b in zip(ours.all_layers(), read.all_layers()):  # batchnorm's running statistics too
        if a.kind == "batchnorm":
            gap = max(gap, float(np.abs(a.running_mean - b.running_mean).max()),
                      float(np.abs(a.running_var - b.running_var).max()))
    if gap > 1e-9:
        raise SystemExit(f"{name}: the trained parameters differ by {gap:.1e}: not the same work")
    ours_eval = ours.copy()
    for layer in ours_eval.all_layers():
        if layer.kind == "batchnorm":
            layer.mode = "evaluation"  # as torch's model.eval()
    acc = accuracy(ours_eval, test), torch_accuracy(theirs, test.inputs, test.targets)
    return times, f"same batches: parameters within {gap:.1e}; test accuracy {acc[0]:.3f}, {acc[1]:.3f}"


def main() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(THREADS)
    threadpool_limits(THREADS)
    rows = ["| case | implementation | median time | time / stepgrad's | agreement |", "|---|---|---:|---:|---|"]
    for name, layers in CASES.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        times, agree = run_case(name, layers)
        case = f"{name}, batch {BATCH}, {EPOCHS} epochs (float64)"
        for impl, seconds in times.items():
            shown = f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
            rows.append(f"| {case} | {impl} | {shown} | {seconds / times['stepgrad']:.2f} | {agree} |")
    report = ["# Training sequence networks (benchmarks/sequences.py)", "",
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{', --quick' if QUICK else ''}, {THREADS} "
              f"thread(s) for BLAS and PyTorch, load average {os.getloadavg()[0]:.1f} (a shared machine). "
              "Task: sequence_sums (480 training sequences of 6 steps). Ratios: time divided by stepgrad's "
              "(above 1: stepgrad is faster).", "", "## Machine", *machine(), "", "## Results", *rows, "",
              "## Notes",
              "- Same work: both start from the same weights (PyTorch's model is `stepgrad.to_torch(net)`), take the "
              "same shuffled batches and plain SGD in float64; the trained parameters (and batchnorm's running "
              "statistics) are compared before the times are.",
              "- stepgrad's time is `fit_layers` (a copy of the network, one engine.step and apply per batch); "
              "PyTorch's the user's loop (zero_grad, forward, nn.CrossEntropyLoss, backward, optimizer.step) on a copy.",
              "- Small sequences and batches are per-call overhead for PyTorch (autograd's graph, nn.RNN's dispatch) "
              "and per-step Python loops for stepgrad's rnn; the ratios say which costs more at this size, not at "
              "large ones.", ""]
    text = "\n".join(report)
    print(text)
    if not QUICK:
        (HERE / "SEQUENCES.md").write_text(text)
        print(f"wrote {HERE / 'SEQUENCES.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()

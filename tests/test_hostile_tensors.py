"""`import` refuses tensors that hold no real numbers (meta, sparse, complex) in one line, exit 2."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from conftest import run_cli, slow_after  # noqa: E402  (after importorskip: torch is needed)


@pytest.mark.parametrize("tensor, words", slow_after(1, [  # each runs the command line, which imports torch
    (lambda: torch.empty(2, 2, device="meta"), "meta tensor"),
    (lambda: torch.eye(2, dtype=torch.float64).to_sparse(), "sparse"),
    (lambda: torch.ones(2, 2, dtype=torch.complex128), "complex"),
]))
def test_tensors_without_real_values_are_refused(tmp_path, tensor, words):
    state = {"0.weight": tensor(), "0.bias": torch.zeros(2, dtype=torch.float64)}
    path = tmp_path / "model.pt"
    torch.save(state, path)
    proc = run_cli("import", str(path), "-o", str(tmp_path / "net.toml"))
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "0.weight" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

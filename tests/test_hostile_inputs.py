"""Careless and hostile input on the command line (issue 14): one line on standard error, exit 2, no
traceback, the file named, nothing computed and lost, nothing overwritten, no temporary file left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SEED_NET = """layers = [2, 2, 2]
weights = [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]
biases = [0.35, 0.6]
[[samples]]
inputs = [0.05, 0.1]
targets = [0.01, 0.99]
"""


def stepgrad(*args: str, cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stepgrad", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """The one error line of a refused command, checked: exit 2, no traceback, one line, the words."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("stepgrad: error:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


SPECS = {  # file name -> (text, words the error must contain)
    "deep.toml": ("layers = [2, 2, 2]\nx = " + "[" * 500 + "]" * 500 + "\n", ["deep.toml", "nested"]),
    "deep.json": ('{"layers": [2, 2, 2], "x": ' + "[" * 5000 + "]" * 5000 + "}", ["deep.json", "nested"]),
    "bigint.toml": ("layers = [2, 2, 2]\nlearning_rate = 1" + "0" * 400 + "\n", ["learning_rate", "too large"]),
    "seed.toml": ("layers = [2, 2, 2]\nseed = -1\n", ["seed.toml", "seed"]),
    "wide.toml": ("layers = [2, 9223372036854775807]\n", ["wide.toml", "layers", "too large"]),
    "square.toml": ("layers = [100000, 100000]\n", ["square.toml", "too large"]),
    "dup.json": ('{"layers": [2, 2], "layers": [3, 3]}', ["dup.json", "twice"]),
    "surrogate.json": ('{"layers": [2, 2], "\\ud800": 1}', ["surrogate.json", "surrogate"]),
    "escape.json": ('{"layers": [2, 2], "a\\u001b[2Jb\\nc": 1}', ["escape.json", "\\x1b[2J", "\\n"]),
    "training.toml": ("layers = [2, 2]\n[training]\niterations = -3\n", ["training.iterations"]),
    "extra.toml": ("layers = [2, 2]\n[training]\nspeed = 3\n", ["unknown key 'speed'"]),
    "history.toml": ("layers = [2, 2]\n[history]\niteration = [0]\nE_total = [1.0]\nnote = 'x'\n", ["history"]),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_bad_specs_are_one_line(tmp_path, name):
    text, words = SPECS[name]
    (tmp_path / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    result = refused(stepgrad("names", name, cwd=tmp_path), *words)
    assert "\x1b" not in result


def test_work_budget_refuses_at_once(tmp_path):
    n = 3000
    row = ", ".join(["0.1"] * n)
    (tmp_path / "big.toml").write_text(f"layers = [{n}, {n}]\n[[samples]]\ninputs = [{row}]\ntargets = [{row}]\n")
    # refused before any work is done (each call's time-out only stops a hang)
    refused(stepgrad("explain", "big.toml", "--only", "w1", cwd=tmp_path), "--max-work", "work budget")
    refused(stepgrad("train", "big.toml", "-n", "100000", cwd=tmp_path), "--max-work")
    (tmp_path / "huge.toml").write_text("layers = [20000, 20000]\n")
    refused(stepgrad("names", "huge.toml", cwd=tmp_path), "huge.toml", "too large")
    # raised on request: the same refusal names the new budget
    refused(stepgrad("train", "-n", "1000", "--max-work", "100", cwd=tmp_path), "1e+02")


def test_check_refuses_absurd_numbers_and_floods(tmp_path):
    (tmp_path / "zero.txt").write_text("out_h1 = 0e999999\nnet_h1 = 0.3775\n")
    # an unreadable line is reported with its number while the readable ones are still marked (exit 1)
    proc = stepgrad("check", "zero.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "1 correct" in proc.stdout and "1 unreadable" in proc.stdout
    (tmp_path / "many.txt").write_text("\n".join(f"zz{i} = 0.5" for i in range(50_000)))
    refused(stepgrad("check", "many.txt", cwd=tmp_path), "many.txt", "50,000")
    (tmp_path / "deep.json").write_text('{"a":' * 3000 + "1" + "}" * 3000)
    refused(stepgrad("check", "deep.json", cwd=tmp_path), "deep.json")


@pytest.mark.parametrize("csv_text, options, words", [
    ('a,y\n"1\n2",3\n', [], ["not a number"]),
    ("a,y\n1_000,3\n", [], ["'1_000' is not a number"]),
    ("a,y\n" + "1" * 200_000 + ",3\n", [], ["not valid CSV"]),
    ("a,b,y\n1,2,3\n", ["--inputs", "a", "--targets", "a"], ["both an input and a target"]),
])
def test_strict_csv(tmp_path, csv_text, options, words):
    (tmp_path / "d.csv").write_text(csv_text)
    refused(stepgrad("train", "--data", "d.csv", *options, cwd=tmp_path), "d.csv", *words)


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_outputs_checked_before_training(tmp_path):
    (tmp_path / "net.toml").write_text(SEED_NET)
    refused(stepgrad("train", "net.toml", "-n", "1000", "--plot", "missing/loss.png", "--save", "good.toml",
                     cwd=tmp_path), "--plot", "missing")
    refused(stepgrad("train", "net.toml", "--save", "missing/x.toml", cwd=tmp_path), "--save")
    refused(stepgrad("train", "net.toml", "-o", "/proc/x.txt", cwd=tmp_path), "--output")
    refused(stepgrad("train", "net.toml", "--save", "x" * 260 + ".toml", cwd=tmp_path), "--save", "255")
    assert sorted(os.listdir(tmp_path)) == ["net.toml"]
    long_name = "n" * 246 + ".toml"  # fits, but "." + name + random + ".tmp" would not
    result = stepgrad("train", "net.toml", "-n", "5", "--save", long_name, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(["net.toml", long_name])


def test_exercise_never_overwrites_edits(tmp_path):
    assert stepgrad("exercise", "--seed", "1", "-o", "ex1", cwd=tmp_path).returncode == 0
    assert stepgrad("exercise", "--seed", "1", "-o", "ex1", cwd=tmp_path).returncode == 0  # the same files
    key = tmp_path / "ex1" / "key.md"
    key.write_text(key.read_text() + "\nmy correction\n")
    refused(stepgrad("exercise", "--seed", "2", "-o", "ex1", cwd=tmp_path), "key.md", "--force")
    assert key.read_text().endswith("my correction\n")
    assert stepgrad("exercise", "--seed", "2", "-o", "ex1", "--force", cwd=tmp_path).returncode == 0
    assert "my correction" not in key.read_text()


def test_unreachable_targets_warn(tmp_path):
    (tmp_path / "t.toml").write_text("layers = [1, 1]\n[[samples]]\ninputs = [0]\ntargets = [2]\n")
    result = stepgrad("train", "t.toml", "-n", "5", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0 and "warning" in result.stderr and "sigmoid" in result.stderr
    json.loads(result.stdout)


KILLER = """
import sys
from stepgrad.core import files
big = "x" * 50_000_000
files.write_atomic(sys.argv[1], "old\\n") if sys.argv[2] == "old" else None
print("ready", flush=True)
while True:
    files.write_atomic(sys.argv[1], big)
"""


@pytest.mark.slow  # a process or a torch run: make test (CI)
@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and flock are POSIX")
def test_kill_9_during_saves_keeps_the_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "net.toml"
    target.write_text("previous\n")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(target), "keep"], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        content = target.read_text()
        assert content in ("previous\n", "x" * 50_000_000)  # whole, the old or the new
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    from stepgrad.core.files import write_atomic

    write_atomic(target, "next\n")
    assert target.read_text() == "next\n"
    assert [p.name for p in tmp_path.iterdir()] == ["net.toml"], leftovers


def test_npz_unpacked_size_is_limited(tmp_path, monkeypatch):
    import numpy as np

    from stepgrad.core.errors import DataError
    from stepgrad.training import data

    np.savez_compressed(tmp_path / "bomb.npz", inputs=np.zeros((1000, 100)), targets=np.zeros((1000, 1)))
    monkeypatch.setattr(data, "MAX_NPZ_BYTES", 100_000)  # the file is a few KB; 'inputs' unpacks to 800 KB
    with pytest.raises(DataError, match="unpacks to 800,128 bytes"):
        data.from_npz(tmp_path / "bomb.npz")
    np.savez(tmp_path / "complex.npz", inputs=np.array([[1 + 2j]]), targets=np.array([[1.0]]))
    with pytest.raises(DataError, match="complex128"):
        data.from_npz(tmp_path / "complex.npz")

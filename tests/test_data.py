"""Data sets: CSV, .npz, bundled; split and standardisation; bad data names the row, exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from stepgrad.core.errors import DataError
from stepgrad.training.data import from_csv, from_npz, load_data


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_inputs_and_targets_by_header(tmp_path):
    path = write(tmp_path, "a,b,y\n0.5,1,2\n3,4e-1,-5\n")
    d = from_csv(path)
    np.testing.assert_array_equal(d.inputs, [[0.5, 1.0], [3.0, 0.4]])
    np.testing.assert_array_equal(d.targets, [[2.0], [-5.0]])
    d = from_csv(path, inputs=["b"], targets=["a", "y"])
    np.testing.assert_array_equal(d.inputs, [[1.0], [0.4]])
    np.testing.assert_array_equal(d.targets, [[0.5, 2.0], [3.0, -5.0]])


def test_csv_label_column_becomes_one_hot(tmp_path):
    path = write(tmp_path, "x1,x2,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    d = from_csv(path, label="kind")
    assert d.classes == ["cat", "dog"] and d.task == "multiclass"
    np.testing.assert_array_equal(d.targets, [[1, 0], [0, 1], [1, 0]])
    d = from_csv(path, label="kind", classes=["dog", "cat", "bird"])
    np.testing.assert_array_equal(d.targets, [[0, 1, 0], [1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("text, options, where, what", [
    ("a,b,y\n1,2,3\n4,5\n", {}, "row 2 (line 3)", "expected 3 values"),
    ("a,b,y\n1,2,3\n4,five,6\n", {}, "row 2 (line 3), column 'b'", "'five' is not a number"),
    ("a,b,y\n1,2,3\n", {"targets": ["z"]}, "header", "no column named 'z'"),
    ("", {}, "d.csv", "empty file"),
    ("a,b,y\n", {}, "d.csv", "no data rows"),
    ("a,b,kind\n1,2,cat\n3,4,cow\n", {"label": "kind", "classes": ["cat", "dog"]}, "row 2 (line 3), column 'kind'",
     "label 'cow' is not one of the classes cat, dog"),
    ("a,b,y\n1,2,3\n\n4,nan,6\n", {}, "row 2 (line 4), column 'b'", "not a finite number"),
])
def test_bad_csv_names_the_row(tmp_path, text, options, where, what):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        from_csv(path, **options)
    message = str(info.value)
    assert where in message and what in message and str(path) in message
    assert "\n" not in message


def test_bad_csv_via_cli_exits_2_with_one_line(cli, tmp_path):
    path = write(tmp_path, "a,b,y\n0,0,0\n0,1,1\n1,x,1\n")
    result = cli("train", "--data", str(path), "--epochs", "1")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "row 3 (line 4)" in result.stderr and "'x' is not a number" in result.stderr


def test_wrong_width_for_the_network_via_cli(cli, tmp_path):
    path = write(tmp_path, "a,b,c,y\n0,0,0,0\n0,1,1,1\n")
    result = cli("train", "--data", str(path), "--epochs", "1")  # no spec: the default network fits the data
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "net.toml"
    spec.write_text('layers = [2, 2, 1]\n')
    result = cli("train", str(spec), "--data", str(path), "--epochs", "1")
    assert result.returncode == 2 and "2 inputs" in result.stderr and "3 input columns" in result.stderr


def test_npz_arrays_and_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(6.0).reshape(3, 2), y=np.array([2, 0, 2]))
    d = from_npz(path)
    np.testing.assert_array_equal(d.targets, [[0, 1], [1, 0], [0, 1]])
    assert d.classes == ["0", "2"]
    np.savez(path, inputs=np.ones((2, 3)), targets=np.array([[0.5], [np.inf]]))
    with pytest.raises(DataError, match=r"row 2, array 'targets'"):
        from_npz(path)
    np.savez(path, inputs=np.ones((2, 3)))
    with pytest.raises(DataError, match="no array named targets"):
        from_npz(path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        from_npz(bad)


def test_bundled_xor_and_digits():
    xor = load_data("xor")
    assert xor.task == "binary" and xor.targets[:, 0].tolist() == [0, 1, 1, 0]
    digits = load_data("digits")
    assert digits.inputs.shape == (1797, 64) and digits.targets.shape == (1797, 10)
    assert digits.inputs.max() == 1.0 and digits.task == "multiclass"


def test_split_is_seeded_and_standardisation_uses_training_rows():
    d = load_data("digits")
    a_train, a_test = d.split(0.25, seed=3)
    b_train, b_test = d.split(0.25, seed=3)
    np.testing.assert_array_equal(a_test.inputs, b_test.inputs)
    assert len(a_test) == round(1797 * 0.25) and len(a_train) + len(a_test) == 1797
    c_train, _ = d.split(0.25, seed=4)
    assert not np.array_equal(a_train.inputs, c_train.inputs)
    mean, scale = a_train.standardizer()
    s = a_train.standardized(mean, scale)
    varying = a_train.inputs.std(axis=0) > 0
    np.testing.assert_allclose(s.inputs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.inputs.std(axis=0)[varying], 1, rtol=1e-12)


@pytest.mark.parametrize("text, args, expected", [
    ("", [], "empty file"),
    ("a,b,y\n0,1,1\n", ["--targets", "z"], "no column named 'z'"),
    ("a,b,kind\n0,1,cat\n1,1,cow\n", ["--label", "kind", "--classes", "cat,dog"], "row 2 (line 3), column 'kind'"),
])
def test_bad_data_via_cli_is_one_line_exit_2(cli, tmp_path, text, args, expected):
    path = write(tmp_path, text)
    result = cli("train", "--data", str(path), "--epochs", "1", *args)
    assert result.returncode == 2
    assert expected in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

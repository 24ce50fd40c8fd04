"""The gallery under examples/gallery: its specs are the networks the format tests use, and the
build script writes every format of a network (PDFs are covered by test_documents_latex)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import stepgrad
from gallery import GALLERY, network

HERE = Path(__file__).parent.parent / "examples" / "gallery"


def _build_module():
    spec = importlib.util.spec_from_file_location("gallery_build", HERE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", list(GALLERY))
def test_the_specs_are_the_test_gallery(key):
    name = GALLERY[key]["name"]
    [path] = [p for p in HERE.glob("*.toml") if stepgrad.load(str(p)).name == name]
    loaded, expected = stepgrad.load(str(path)), network(key)
    assert loaded.layers == expected.layers and loaded.activations == expected.activations
    for a, b in zip(loaded.weights + loaded.biases, expected.weights + expected.biases):
        assert np.array_equal(a, b)
    for a, b in zip(loaded.require_samples(), expected.require_samples()):
        assert np.array_equal(a, b)


def test_build_writes_every_format(tmp_path):
    files = _build_module().build(HERE / "2-3-3-1-relu.toml", tmp_path, pdf=False)
    names = {f.name for f in files}
    assert {"step.txt", "step.md", "step.svg", "step.tex", "slides.tex", "step.html", "step.json"} <= names
    assert "![The network](step.svg)" in (tmp_path / "step.md").read_text()


def test_the_packaged_gallery_is_the_gallery():
    """The explorer's network list offers the gallery: the copies shipped in the package are examples/gallery's."""
    from importlib import resources
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "examples" / "gallery"
    package = resources.files("stepgrad.examples")
    for spec in root.glob("*.toml"):
        assert package.joinpath(f"gallery-{spec.name}").read_text() == spec.read_text(), spec.name

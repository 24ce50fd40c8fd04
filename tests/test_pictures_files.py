"""Every picture file is what its name says: `stepgrad diagram -o net.png` writes a real PNG (checked by
its signature and decoded by Pillow), .svg writes SVG, any other suffix is refused with one line, exit 2."""

from __future__ import annotations

import pytest

from stepgrad.core.errors import StepgradError
from stepgrad.pictures.picture_file import picture_format

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
def test_diagram_png_is_a_real_png(cli, tmp_path):
    pytest.importorskip("playwright")
    from tests.conftest import CHROMIUM, require_tool

    require_tool(CHROMIUM)
    out = tmp_path / "net.png"
    result = cli("diagram", "--show", "gradients", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = pytest.importorskip("PIL.Image").open(out)
    assert image.format == "PNG" and image.width >= 1200  # fit for slides


def test_diagram_svg_is_svg(cli, tmp_path):
    out = tmp_path / "net.svg"
    assert cli("diagram", "-o", str(out)).returncode == 0
    assert out.read_text().startswith("<svg")


@pytest.mark.parametrize("name", ["net.jpg", "net", "net.pdf"])
def test_other_suffixes_are_refused_with_one_line(cli, tmp_path, name):
    result = cli("diagram", "-o", str(tmp_path / name))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and ".svg or .png" in result.stderr
    assert not (tmp_path / name).exists()


def test_picture_format():
    assert picture_format("a/b/NET.PNG") == "png"
    with pytest.raises(StepgradError, match="must end in .svg or .png"):
        picture_format("x.gif")


def test_explain_refuses_a_picture_name_for_a_document(tmp_path):
    from conftest import run_cli

    proc = run_cli("explain", "-o", str(tmp_path / "step.png"))
    assert proc.returncode == 2 and "stepgrad diagram -o step.png" in proc.stderr
    assert not (tmp_path / "step.png").exists()

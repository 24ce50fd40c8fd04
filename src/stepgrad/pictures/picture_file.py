"""Picture files that are what their name says: an .svg file holds SVG, a .png file a real PNG.

    >>> picture_format("net.SVG"), picture_format("net.png")
    ('svg', 'png')
    >>> picture_format("net.jpg")
    Traceback (most recent call last):
    ...
    stepgrad.core.errors.StepgradError: --output: a picture file must end in .svg or .png, not '.jpg'

PNG is drawn by a rasteriser that is already installed: cairosvg if present, else Chromium through
Playwright (the [web] extra and a Chromium browser); with neither, the .png is refused with one line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic

FORMATS = {".svg": "svg", ".png": "png"}
SCALE = 2  # PNG pixels per SVG unit: a 740-unit diagram becomes 1480 px wide, sharp on slides


def picture_format(path: str) -> str:
    """'svg' or 'png' from the file's suffix; anything else is refused (StepgradError)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise StepgradError(f"a picture file must end in .svg or .png, not {suffix or '(none)'!r}", where="--output")
    return FORMATS[suffix]


def write_picture(svg: str, path: str) -> None:
    """Write `svg` to `path` as SVG text or as a PNG image, by the suffix; atomically."""
    if picture_format(path) == "svg":
        write_atomic(path, svg)
    else:
        write_atomic(path, svg_to_png(svg))


def svg_to_png(svg: str, scale: int = SCALE) -> bytes:
    """The SVG drawn as PNG bytes, by cairosvg or by Chromium; StepgradError if neither is installed."""
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return cairosvg.svg2png(bytestring=svg.encode(), scale=scale)
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise StepgradError("writing PNG needs cairosvg or Playwright with Chromium (pip install cairosvg); "
                            "or write .svg", where="--output") from None
    chromium = os.environ.get("STEPGRAD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(device_scale_factor=scale)
                page.set_content(f'<body style="margin:0;background:#fff">{svg}</body>')
                return page.locator("svg").first.screenshot(type="png")
            finally:
                browser.close()
    except Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepgradError(f"cannot draw the PNG with Chromium ({first}); write .svg instead", where="--output") from None

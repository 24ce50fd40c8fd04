"""Timings of the explorer on the gallery's 16-16-10 (and the deck) in Chromium: how long each stage or view
change takes from the click until the page has drawn the answer. A benchmark, not a test (the machine's load
changes the numbers: it prints the load per core with its table).

    python benchmarks/explorer.py            # prints a Markdown table
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from screenshots import serving  # noqa: E402  (docs/screenshots.py serves the app for Playwright)


def timed(page, action, answers: int = 1) -> float:
    """Milliseconds from `action` until the page has drawn its answer (body[data-drawn] counts them) and painted."""
    before = int(page.locator("body").get_attribute("data-drawn") or 0)
    start = time.perf_counter()
    action()
    page.locator(f'body[data-drawn="{before + answers}"]').wait_for()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    return (time.perf_counter() - start) * 1000


def run(key: str, repeat: int = 2) -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright
    from tests.gallery import network

    rows = []
    with serving(network(key)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        rows.append(("first load", (time.perf_counter() - start) * 1000))
        stages = page.locator("#stages .stage")
        for k in range(min(stages.count(), 8)):  # a stage clicked for the first time: the server is asked
            title = stages.nth(k).inner_text()
            rows.append((f"first visit: {title}", timed(page, lambda k=k: stages.nth(k).click())))
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        times = []
        for _ in range(min(stages.count(), 8) - 1):  # Next, as a reader goes: the next stage was fetched while reading
            page.wait_for_timeout(1500)
            times.append(timed(page, lambda: page.click("#stage-next")))
        rows.append(("Next, after reading (median of the stages)", statistics.median(times)))
        rows.append(("Next, after reading (slowest)", max(times)))
        times = []
        for value in ["weight", "layer"] * repeat:
            times.append(timed(page, lambda value=value: page.select_option("#group", value)))
        rows.append(("group by weight / by layer", statistics.median(times)))
        rows.append(("select a neuron (h1)", timed(page, lambda: page.locator("#diagram #neuron-h1").dispatch_event("click"))))
        rows.append(("matrix view", timed(page, lambda: page.get_by_label("Matrix form").check())))
        rows.append(("back to the chain rule", timed(page, lambda: page.get_by_label("Chain rule").check(), answers=0)))
        browser.close()
    return rows


def main() -> None:
    import os

    for key in sys.argv[1:] or ["16-16-10"]:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
        print(f"\n{key} at 1280 px, in ms (machine load per core at the start: {load:.1f})\n\n| change | ms |\n|---|---:|")
        for what, ms in run(key):
            print(f"| {what} | {ms:.0f} |")


if __name__ == "__main__":
    main()

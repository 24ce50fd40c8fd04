"""Timings of the explorer's stage and view changes on the gallery's 16-16-10 in Chromium: how long each change
takes from the click until the page has drawn the answer and painted, and how much of that the server took.
A benchmark, not a test (the machine's load changes the numbers: it prints the load per core with its table).

    python benchmarks/explorer_views.py              # 16-16-10, a Markdown table
    python benchmarks/explorer_views.py deck 8-6-4   # other gallery networks

The goal (issue 26): every stage or view change under 300 ms on 16-16-10.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from screenshots import serving  # noqa: E402  (docs/screenshots.py serves the app for Playwright)

SERVER_TIME = """t0 => performance.getEntriesByType("resource")
  .filter(e => e.name.includes("/api/") && e.startTime >= t0)
  .reduce((ms, e) => ms + e.responseEnd - e.requestStart, 0)"""


def page_cpu(cdp) -> float:
    """Seconds of CPU the page's main thread has used so far (script, style, layout, paint)."""
    return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ThreadTime")


def timed(page, action, answers: int = 1) -> tuple[float, float, float, float]:
    """(ms from `action` until the page has drawn its answer and painted, ms of it spent waiting for the server,
    CPU ms of the page's main thread, CPU ms of this process: the server's threads and the driver).
    body[data-drawn] counts the answers the page has drawn.

    The CPU times are the work done, which a loaded machine does not stretch as it stretches the wall clock:
    on an idle machine a change takes about their sum (the page waits for the server)."""
    cdp = getattr(page, "_cdp", None) or page.context.new_cdp_session(page)
    page._cdp = cdp
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    before = int(page.locator("body").get_attribute("data-drawn") or 0)
    t0 = page.evaluate("() => performance.now()")
    work, python = page_cpu(cdp), time.process_time()
    start = time.perf_counter()
    action()
    page.locator(f'body[data-drawn="{before + answers}"]').wait_for()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    total = (time.perf_counter() - start) * 1000
    return (total, page.evaluate(SERVER_TIME, t0), (page_cpu(cdp) - work) * 1000,
            (time.process_time() - python) * 1000)


def run(key: str) -> list[tuple[str, float, float, float, float]]:
    """[(change, ms, server ms)] for the gallery network `key` at 1280 px."""
    from playwright.sync_api import sync_playwright
    from tests.gallery import network

    rows: list[tuple[str, float, float, float, float]] = []
    with serving(network(key)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        rows.append(("first load", (time.perf_counter() - start) * 1000, 0.0, 0.0, 0.0))
        stages = page.locator("#stages .stage")
        count = stages.count()
        for k in list(range(1, count)) + [0]:  # a stage clicked at once, out of order: nothing fetched ahead
            title = stages.nth(k).inner_text()
            rows.append((f"stage (first visit): {title}", *timed(page, lambda k=k: stages.nth(k).click())))
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        nexts = []
        for _ in range(count - 1):  # Next, as a reader goes: the next stage was fetched while reading
            page.wait_for_timeout(1000)
            nexts.append(timed(page, lambda: page.click("#stage-next")))
        rows.append(("Next after reading (median)", *map(statistics.median, zip(*nexts))))
        rows.append(("Next after reading (slowest)", *max(nexts)))
        rows.append(("group by weight", *timed(page, lambda: page.select_option("#group", "weight"))))
        contents = page.locator("#stages summary")
        if contents.count():
            rows.append(("open a contents group (by weight)", *timed(page, lambda: contents.last.click(), answers=0)))
            group_stage = page.locator("#stages details[open] .substage").nth(5)
            rows.append(("a weight's stage (by weight)", *timed(page, lambda: group_stage.click())))
        rows.append(("group by layer", *timed(page, lambda: page.select_option("#group", "layer"))))
        rows.append(("select a neuron (h1)", *timed(page, lambda: page.locator('#diagram [data-name="h1"]').first.dispatch_event("click"))))
        rows.append(("select a weight (w1)", *timed(page, lambda: page.locator('#diagram [data-name="w1"]').first.dispatch_event("click"))))
        rows.append(("graph view (of w1)", *timed(page, lambda: page.locator('.views input[value="graph"]').check())))
        rows.append(("chain rule view", *timed(page, lambda: page.locator('.views input[value="steps"]').check(), answers=0)))
        rows.append(("back to the stage", *timed(page, lambda: page.click("#clear-selection"))))
        rows.append(("matrix view", *timed(page, lambda: page.locator('.views input[value="matrix"]').check())))
        rows.append(("chain rule view", *timed(page, lambda: page.locator('.views input[value="steps"]').check(), answers=0)))
        rows.append(("matrix view again", *timed(page, lambda: page.locator('.views input[value="matrix"]').check())))
        browser.close()
    return rows


def main() -> None:
    for key in sys.argv[1:] or ["16-16-10"]:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
        rows = run(key)
        print(f"\n{key} at 1280 px, in ms (machine load per core at the start: {load:.1f})\n\n"
              "| change | ms | waiting for the server | page CPU | server CPU |\n|---|---:|---:|---:|---:|")
        for what, ms, server, page, python in rows:
            print(f"| {what} | {ms:.0f} | {server:.0f} | {page:.0f} | {python:.0f} |")
        changes = [(ms, page + python) for what, ms, _, page, python in rows if what != "first load"]
        print(f"\nslowest change: {max(ms for ms, _ in changes):.0f} ms; over 300 ms: {sum(ms > 300 for ms, _ in changes)} "
              f"of {len(changes)}; page + server CPU over 300 ms: {sum(cpu > 300 for _, cpu in changes)}, "
              f"slowest {max(cpu for _, cpu in changes):.0f} ms")


if __name__ == "__main__":
    main()

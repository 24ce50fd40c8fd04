"""Regenerate the README's pictures from the commands that make them (run from the repository root):

    .venv/bin/python docs/make_pictures.py

docs/network.svg    stepgrad diagram -o docs/network.svg
docs/loss.png       stepgrad train --iterations 10000 --update-order both --plot docs/loss.png
docs/training-digits.png  stepgrad train --data digits --epochs 20 --batch-size 32 --optimizer sgd --seed 0 --plot ...
docs/explain.html   stepgrad explain --format html -o docs/explain.html
docs/explain-html.png     that page in Chromium at 1280 px (Playwright)
docs/serve.png      STEPGRAD_DOCS_SCREENSHOT=1 pytest tests/test_web_browser.py (the explorer, from its test)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
COMMANDS = [
    ["diagram", "-o", "docs/network.svg"],
    ["train", "--iterations", "10000", "--update-order", "both", "--plot", "docs/loss.png"],
    ["train", "--data", "digits", "--epochs", "20", "--batch-size", "32", "--optimizer", "sgd", "--seed", "0",
     "--plot", "docs/training-digits.png"],
    ["explain", "--format", "html", "-o", "docs/explain.html"],
]


def main() -> None:
    root = DOCS.parent
    for args in COMMANDS:
        print("stepgrad", *args, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "stepgrad", *args], check=True, cwd=root, stdout=subprocess.DEVNULL)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((DOCS / "explain.html").as_uri())
        page.screenshot(path=str(DOCS / "explain-html.png"))
        browser.close()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_web_browser.py", "-k", "screenshot"], cwd=root,
                   check=True, env={**__import__("os").environ, "STEPGRAD_DOCS_SCREENSHOT": "1"})


if __name__ == "__main__":
    main()

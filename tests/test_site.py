"""`stepgrad site -o DIR`: the explorer as a static site whose answers are precomputed (stepgrad.web.site says
why Pyodide is not used). In Chromium, served as plain files: the page says it is precomputed, shows the numbers
of `stepgrad explain` at each stage and for a clicked name, and refuses what needs Python in one line."""

from __future__ import annotations

import functools
import http.server
import json
import socketserver
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from tests.browser_helpers import expect

import stepgrad


def test_a_folder_that_is_not_a_site_is_never_replaced(tmp_path):
    from stepgrad.web.site import build_site

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(stepgrad.StepgradError, match="not a stepgrad site"):
        build_site(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@contextmanager
def files_served(folder):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_static_site_shows_the_clis_numbers_and_refuses_the_rest(browser, tmp_path):
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "stepgrad", "site", "-o", str(site)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    cli = {order: json.loads(subprocess.run([sys.executable, "-m", "stepgrad", "explain", "--format", "json",
                                              "--update-order", order], capture_output=True, text=True,
                                             check=True).stdout)["values"] for order in ("synchronous", "sequential")}
    with files_served(site) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]", state="attached")
            expect(page.locator(".site-banner")).to_contain_text("precomputed")
            values = cli["synchronous"]
            expect(page.locator("#diagram .error-node")).to_have_text(f"E_total = {values['E_total']:.9g}")
            page.locator('#diagram [data-name="w1"]').first.dispatch_event("click")
            expect(page.locator("#derivation")).to_contain_text(f"{values['dE_total/dw1']:.9g}")
            page.click("#clear-selection")
            for _ in range(4):  # the stages, up to the backward pass
                page.click("#stage-next")
            expect(page.locator("#derivation")).to_contain_text(f"{values['dE_total/dw5']:.9g}")
            page.check('input[name="order"][value="sequential"]')
            page.click("#stages button >> text=The new weights")
            expect(page.locator("#derivation")).to_contain_text(f"{cli['sequential']['w1+']:.9g}")
            page.click("#train")
            expect(page.locator("#error")).to_contain_text("training: this needs stepgrad running in Python")
            assert page.locator("#error").text_content().count("\n") == 0
            page.get_by_label("Matrix form").check()
            cell = page.locator('#view-output .values mtd[data-name="w5"]').first
            expect(cell).to_have_attribute("title", f"w5 = {cli['sequential']['w5']:.9g}")
            assert not errors, errors
        finally:
            page.close()

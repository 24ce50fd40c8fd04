"""Opening the explorer in the browser tests and waiting for what a test reads next, never for a fixed time.

The explorer draws an answer in one go (diagram, stages, title, the first steps of the derivation, values) and
counts it in body[data-drawn]; the derivation's steps past the first screenful are typeset after that (each a
`.step-later` slot until then), and the matrix and graph views draw their own answer later still (counted too).
So a test that reads the derivation, a view or the diagram after a click does the click inside `redrawn(page)`,
or waits for the title and then `typeset(page)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def expect(locator: Any) -> Any:
    """Playwright's expect (imported when a browser test runs: the module loads without Playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def open_page(browser: Any, url: str, width: int = 1280, height: int = 900, touch: bool = False) -> Any:
    """A new page on the explorer at `url`, ready and with every step of its first derivation typeset."""
    page = browser.new_page(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    typeset(page)
    return page


def typeset(page: Any) -> None:
    """Wait until every step of the derivation drawn is typeset (call it once the new title is there)."""
    expect(page.locator("#derivation .step-later")).to_have_count(0, timeout=20_000)


def drawn(page: Any) -> int:
    """How many answers the page has drawn so far (body[data-drawn])."""
    return int(page.evaluate("Number(document.body.dataset.drawn || 0)"))


@contextmanager
def redrawn(page: Any, answers: int = 1) -> Iterator[None]:
    """Around an action (a click, a key, a changed control): wait until the page has drawn `answers` more answers
    and typeset the derivation's steps, so that what is read next is the action's outcome, not the page before."""
    before = drawn(page)
    yield
    page.wait_for_function("n => Number(document.body.dataset.drawn || 0) >= n", arg=before + answers, timeout=20_000)
    typeset(page)


def settle(page: Any) -> None:
    """Wait until every step of the derivation drawn is typeset (to wait for an action's answer: `redrawn`)."""
    typeset(page)

"""`stepgrad serve`: the interactive explorer in the browser (needs the [web] extra)."""

from __future__ import annotations

import click

from ..jobs import is_loopback, serve_job  # noqa: F401  (is_loopback: tested here)
from ._common import note, spec_argument


@click.command("serve")
@spec_argument
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback lets other machines use the server.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
def command(spec, host, port, open_browser):
    """Explore backpropagation in the browser: edit, step, click any number for its derivation.

    Serves SPEC (default: the seed deck's network) at http://HOST:PORT/ with a JSON API under /api
    (see the README). Stop with Ctrl-C.

    \b
    Examples:
      stepgrad serve --open
      stepgrad serve my-net.toml --port 8080
    """
    serve_job(spec, host=host, port=port, open_browser=open_browser, note=note)

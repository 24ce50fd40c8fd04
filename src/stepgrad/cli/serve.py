"""`stepgrad serve`: the interactive explorer in the browser (needs the [web] extra)."""

from __future__ import annotations

import click

from stepgrad.api import is_loopback, serve_job  # noqa: F401  (is_loopback: tested here)
from stepgrad.cli._common import note, spec_argument


@click.command("serve")
@spec_argument
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback lets other machines use the server.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests for this host name (repeatable; '*' for any), e.g. to serve a classroom "
                   "with --host 0.0.0.0 --allow-host teacher-pc.local. Other names are refused (DNS rebinding).")
@click.option("--max-work", type=click.FloatRange(min=1), default=None, metavar="N",
              help="Work budget of one training request, in multiply-adds (samples x parameters x iterations). "
                   "Default: 2e10.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Stop a training request after this long. Default: 30.")
def command(spec, host, port, open_browser, **limits):
    """Explore backpropagation in the browser: edit, step, click any number for its derivation.

    Serves SPEC (default: the seed deck's network) at http://HOST:PORT/ with a JSON API under /api
    (see the README). Stop with Ctrl-C.

    \b
    Examples:
      stepgrad serve --open
      stepgrad serve my-net.toml --port 8080
      stepgrad serve --host 0.0.0.0 --allow-host classroom.example.org
    """
    serve_job(spec, host=host, port=port, open_browser=open_browser, note=note, **limits)

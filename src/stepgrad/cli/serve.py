"""`stepgrad serve`: the interactive explorer in the browser, needs the [web] extra (stepgrad.api.serve_explorer)."""

from __future__ import annotations

import click

from stepgrad.api import is_loopback, serve_explorer  # noqa: F401  (is_loopback: tested here)
from stepgrad.cli._common import api_option, note, spec_argument

API = serve_explorer


@click.command("serve")
@spec_argument
@api_option(API, "--host", help="Address to listen on. Anything but loopback lets other machines use the server.")
@api_option(API, "--port", type=click.IntRange(0, 65535), help="Port to listen on.")
@api_option(API, "--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
@api_option(API, "--allow-host", "allow_hosts", multiple=True, metavar="NAME",
            help="Also answer requests for this host name (repeatable; '*' for any), e.g. to serve a classroom "
                 "with --host 0.0.0.0 --allow-host teacher-pc.local. Other names are refused (DNS rebinding).")
@api_option(API, "--max-work", type=click.FloatRange(min=1), metavar="N",
            help="Work budget of one training request, in multiply-adds (samples x parameters x iterations). "
                 "Default: 2e10.")
@api_option(API, "--time-limit", type=click.FloatRange(min=0.1), metavar="SECONDS",
            help="Stop a training request after this long. Default: 30.")
def command(spec, host, port, open_browser, allow_hosts, max_work, time_limit):
    """Explore backpropagation in the browser: edit, step, click any number for its derivation.

    Serves SPEC (default: the seed deck's network) at http://HOST:PORT/ with a JSON API under /api
    (see the README). Stop with Ctrl-C.

    \b
    Examples:
      stepgrad serve --open
      stepgrad serve my-net.toml --port 8080
      stepgrad serve --host 0.0.0.0 --allow-host classroom.example.org
    """
    serve_explorer(spec, host=host, port=port, open_browser=open_browser, allow_hosts=allow_hosts,
                   max_work=max_work, time_limit=time_limit, note=note)

"""`stepgrad serve`: the interactive explorer in the browser (needs the [web] extra)."""

from __future__ import annotations

import ipaddress
import threading
import webbrowser

import click

from ..errors import StepgradError
from ._common import load_spec, spec_argument


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    net = load_spec(spec)
    try:
        import uvicorn

        from ..web.app import create_app
    except ModuleNotFoundError as exc:
        raise StepgradError(f"stepgrad serve needs the web extra ({exc.name} is missing): "
                            "pip install 'stepgrad[web]'") from None
    if not is_loopback(host):
        click.echo(f"stepgrad: warning: listening on {host}, not loopback: other machines can reach this "
                   "server (it has no authentication)", err=True)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    click.echo(f"stepgrad explorer on {url} (Ctrl-C to stop)", err=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(net), host=host, port=port, log_level="warning")

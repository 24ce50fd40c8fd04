"""`stepgrad site`: the explorer as a static site for a course page (stepgrad.api.build_static_site)."""

from __future__ import annotations

import click

from stepgrad.api import build_static_site
from stepgrad.cli._common import api_option, note

API = build_static_site


@click.command("site")
@api_option(API, "-o", "--output", type=click.Path(file_okay=False), metavar="DIR",
            help="Folder to write the site into (required; replaced whole: new, empty or an earlier site).")
@api_option(API, "--network", "networks", multiple=True, metavar="NAME",
            help="A bundled network to include (repeatable; the first is shown first). Default: the seed deck's.")
def command(output, networks):
    """Write the explorer as a static site: stages, derivations and the matrix view, precomputed.

    The site's answers are computed now by stepgrad (the same numbers as `stepgrad explain`) and stored
    beside the page, which a banner labels as precomputed; editing a network and training need
    `stepgrad serve`. (Running stepgrad itself in the browser with Pyodide needs numpy built for
    Pyodide, which only Pyodide's CDN provides.) Serve the folder with any web server.

    \b
    Examples:
      stepgrad site -o course-site
      stepgrad site -o course-site --network mazur --network gallery-3-4-2-tanh-softmax
      python -m http.server -d course-site     # then open http://localhost:8000/
    """
    build_static_site(output=output, networks=networks, note=note)

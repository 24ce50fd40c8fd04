"""`stepgrad course-pack`: a week of teaching for one network as one folder (stepgrad.api.make_course_pack)."""

from __future__ import annotations

import click

from stepgrad.api import PackOptions, make_course_pack
from stepgrad.cli._common import api_option, emit, note, spec_argument

API = make_course_pack


@click.command("course-pack")
@spec_argument
@api_option(API, "-o", "--output", type=click.Path(file_okay=False), help="The folder to write (required).")
@api_option(API, "--roster", type=click.Path(dir_okay=False),
            help="A CSV with an `id` column: a problem per student (and a question bank in the LMS quiz).")
@api_option(API, "--seed", type=int, help="The same network and seed give the same pack.")
@api_option(API, "--fade", type=click.IntRange(0, 20), metavar="K",
            help="Stages the faded example leaves blank. Default: half of them.")
@api_option(API, "--find-error", type=click.IntRange(1, 5), metavar="N", help="Mistakes planted in the find-the-error sheet.")
@api_option(API, "--format", "fmt", type=click.Choice(["markdown", "latex", "html", "text"]), help="The sheets' format.")
@api_option(API, "--pdf", is_flag=True, help="Also the faded and find-the-error sheets as PDF (pdflatex).")
@api_option(API, "--force", is_flag=True, help="Replace files in the folder that differ from this pack's.")
def command(spec, output, roster, seed, fade, find_error, fmt, pdf, force):
    """A course pack for one network: the worked example (Beamer slides and notes), a faded example
    with self-explanation prompts, a find-the-error sheet, a problem per student with keys, and a
    Moodle quiz, with a README saying how `stepgrad check` marks each part.

    \b
    Examples:
      stepgrad course-pack -o week3
      stepgrad course-pack net.toml --roster students.csv --fade 3 -o week3
    """
    emit(make_course_pack(spec, output=output, options=PackOptions(roster=roster, seed=seed, fade=fade,
                                                                   find_error=find_error, fmt=fmt, pdf=pdf, force=force),
                          note=note), None)

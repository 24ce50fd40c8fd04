"""`stepgrad explain`: the step-by-step derivation of one training step."""

from __future__ import annotations

import click

from ..errors import StepgradError
from ._common import digits_option, emit, load_spec, output_option, spec_argument, split_names, update_order_option


@click.command("explain")
@spec_argument
@click.option("--only", default=None, metavar="NAMES",
              help="Comma-separated names to derive, e.g. w5,w1 or out_h1 (with the factors they need).")
@digits_option
@update_order_option
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "markdown", "latex", "slides", "html"]), help="Output format.")
@click.option("--sample", type=click.IntRange(1), default=None, help="Explain only this sample (1-based).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="sgd", show_default=True,
              help="Show this optimizer's update: momentum's velocity v_w5, Adam's moments m_w5, s_w5 and m_hat_w5, s_hat_w5.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: round every computed value to K decimals and carry the rounded value on.")
@click.option("--train-iterations", type=click.IntRange(0), default=10_000, show_default=True, metavar="N",
              help="Slides: train N iterations for the deck's closing table (0 leaves it out).")
@output_option
def command(spec, only, digits, update_order, fmt, sample, optimizer, round_to, train_iterations, output):
    """Show every quantity of one training step: formula, numbers, value.

    SPEC is a TOML or JSON network spec; without it, the seed deck's network.

    \b
    Examples:
      stepgrad explain --only w5,w1
      stepgrad explain net.toml --format json -o step.json
      stepgrad explain --optimizer adam --only w5
      stepgrad explain --round 4          # as a person with a calculator gets it
      stepgrad explain --format slides -o deck.tex && pdflatex deck.tex
    """
    from ..explain import explain
    from ..render import render
    from ..select import unknown

    net = load_spec(spec)
    if sample is not None:
        inputs, _ = net.require_samples(spec or "<built-in>")
        if sample > len(inputs):
            raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    if optimizer != "sgd" and update_order is None:
        update_order = "synchronous"  # momentum and Adam take the synchronous gradients
    trace = explain(net, sample=None if sample is None else sample - 1, update_order=update_order,
                    optimizer=optimizer, round_to=round_to)
    names = split_names(only)
    if names:
        missing = unknown(trace, names)
        if missing:
            from difflib import get_close_matches

            hint = get_close_matches(missing[0], list(trace.values), n=3)
            raise StepgradError(f"no quantity named {missing[0]!r}" + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
                                where="--only")
    if fmt == "text" and output is None:
        from rich.console import Console

        from ..render.text import rich_renderable

        Console(highlight=False).print(rich_renderable(trace.select(names) if names else trace, digits))
        return
    options = {}
    if fmt == "slides" and train_iterations:
        from ..train import train

        try:
            options["history"] = train(net, train_iterations, update_order=trace.meta.get("update_order"),
                                       every=max(1, train_iterations // 100), optimizer=optimizer)
        except StepgradError as exc:  # the derivation stands without the closing table
            click.echo(f"note: the deck has no training table: {exc}", err=True)
    emit(render(trace, fmt, digits=digits, only=names, **options), output)

"""`stepgrad exercise`: a new problem with nice numbers (or one per student), its key, a template, a quiz (stepgrad.api.make_exercise)."""

from __future__ import annotations

import click

from stepgrad.api import Problem, make_exercise
from stepgrad.cli._common import LOSS_CHOICES, api_option, digits_option, emit, note
from stepgrad.teach.exercise import ACTIVATION_CHOICES
from stepgrad.teach.exercise_layers import SHAPES

API = make_exercise


@click.command("exercise")
@api_option(API, "--layers", help="Neurons per layer, inputs first; or 'conv' for a convolution problem "
                                    "(4x4 image, 2x2 kernel, max-pool, dense; sheet, key, template, network.json; "
                                    "--roster, --format, --pdf and the LMS quizzes as for the dense ones); "
                                    "or 'rnn', 'attention', 'layernorm', 'batchnorm' for a sequence-model problem.")
@api_option(API, "--shape", type=click.Choice(SHAPES),
            help="With --layers conv, the convention drilled: basic (1 channel, 4x4, 2x2 kernel, stride 1, no "
                 "padding, max-pool), strided (stride 2, padding 1), channels (2 in, 2 out channels on a 3x3 "
                 "image), avgpool (an average pool). Every student of a --roster gets the same shape.")
@api_option(API, "--activation", type=click.Choice(ACTIVATION_CHOICES))
@api_option(API, "--output-activation", type=click.Choice(["softmax", *ACTIVATION_CHOICES]),
            help="The output layer's activation (softmax with --loss cross_entropy). Default: --activation.")
@api_option(API, "--loss", type=click.Choice(LOSS_CHOICES))
@api_option(API, "--samples", type=click.IntRange(1, 4), help="Samples in the batch (the gradient is their mean).")
@api_option(API, "--seed", type=int, help="The same seed gives the same exercise.")
@api_option(API, "--learning-rate", type=click.FloatRange(min=0, min_open=True),
            help="Default: chosen by the seed from 0.5, 0.25, 0.1.")
@api_option(API, "--round", "round_to", type=click.IntRange(0, 15), metavar="K",
            help="Hand-calculation key: every value rounded to K decimals and carried on, as by hand.")
@api_option(API, "--min-digits", type=click.IntRange(1, 17), metavar="K",
            help="The precision the sheet asks for (written to check.toml, used by `stepgrad check`).")
@api_option(API, "--roster", type=click.Path(dir_okay=False),
            help="A CSV with an `id` column: one exercise per student, seeded by their id (needs -o).")
@api_option(API, "--format", "fmt", type=click.Choice(["markdown", "latex", "html", "text", "moodle", "gift", "qti"]),
            help="Format of the sheet and the key, or a quiz for an LMS (moodle XML, gift, qti zip for Canvas).")
@api_option(API, "--pdf", is_flag=True, help="Also sheet.pdf (pdflatex; the network drawn with TikZ).")
@digits_option(API)
@api_option(API, "-o", "--output", type=click.Path(file_okay=False),
            help="Write sheet, key, solution-template.txt, key-values.txt and network.toml into this folder.")
@api_option(API, "--force", is_flag=True, help="With -o: replace files in the folder that differ from this exercise's.")
@api_option(API, "--fade", type=click.IntRange(0, 20), metavar="K",
            help="A faded worked example: the last K stages blank, every worked step with a self-explanation prompt. "
                 "With --layers conv|rnn|...: worked, faded and a problem on three problems (1-worked, 2-faded, 3-problem).")
@api_option(API, "--fade-names", metavar="PATTERNS",
            help="A faded worked example with these quantities blank (name patterns: 'dE_total/dw*,w*+').")
@api_option(API, "--fade-sequence", is_flag=True,
            help="With -o: sheets fade-0 (worked) ... fade-N (the problem), one more stage blank each.")
@api_option(API, "--find-error", type=click.IntRange(1, 5), is_flag=False, flag_value=1, metavar="[N]",
            help="A worked solution with N (default 1) planted mistakes to find, name and correct.")
@api_option(API, "--mistakes", metavar="KEYS",
            help="With --find-error: plant only these mistakes (catalogue keys, comma-separated: learning_rate,one_path).")
def command(layers, shape, activation, output_activation, loss, samples, seed, learning_rate, round_to, min_digits,
            roster, fmt, pdf, digits, output, force, fade, fade_names, fade_sequence, find_error, mistakes):
    """Generate an exercise: a problem sheet, its answer key and a blank solution template.

    Without -o, prints the problem sheet. With -o DIR, writes sheet.EXT, key.EXT (the full
    derivation), solution-template.txt (the `stepgrad check` format), key-values.txt (the template
    filled with the key's values) and network.toml, the network to check solutions against. With
    --roster, DIR gets students/<id>/ (sheet, template, network) for everyone, keys/ and keys.csv.

    \b
    Examples:
      stepgrad exercise --seed 7 -o week3
      stepgrad exercise --layers 2-3-2 --activation tanh --round 4 --format latex -o sheet
      stepgrad exercise --roster students.csv --min-digits 4 --pdf -o week3
      stepgrad exercise --roster students.csv --format moodle -o week3-quiz
      stepgrad check returned/ --variants week3
      stepgrad exercise --seed 7 --fade 3 -o faded        # worked, the last 3 stages yours
      stepgrad exercise --seed 7 --fade-sequence -o fading
      stepgrad exercise --seed 7 --find-error 2 -o spot   # mark with: stepgrad check answer.txt --network spot/network.toml
      stepgrad exercise --find-error --roster students.csv --format moodle -o spot-quiz
      stepgrad exercise --layers conv --seed 3 -o conv   # then: stepgrad check --network conv/network.json ...
      stepgrad exercise --layers conv --roster students.csv --pdf -o week5
      stepgrad exercise --layers conv --shape strided -o week6   # stride 2, padding 1
      stepgrad exercise --layers rnn --roster students.csv -o bptt   # BPTT, a network per student
      stepgrad exercise --layers conv --fade 3 -o conv-faded   # worked, faded, then a problem
    """
    problem = Problem(layers=layers, activation=activation, output_activation=output_activation, loss=loss,
                      samples=samples, seed=seed, learning_rate=learning_rate, round_to=round_to, min_digits=min_digits,
                      fade=fade, fade_names=fade_names, fade_sequence=fade_sequence, find_error=find_error, mistakes=mistakes,
                      shape=shape)
    emit(make_exercise(problem, fmt=fmt, digits=digits, output=output, roster=roster, pdf=pdf, force=force, note=note),
         None)

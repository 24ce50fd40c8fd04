"""Conv + pool + dense exercises: fair numbers (no saturation, no kink, no max-pool tie), the same seed the same
exercise, and the key's values marked correct by `check` against the exercise's own network.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.exercise_layers import MAX_CONV_NET, MIN_GAP, MIN_MISS, generate_conv


@pytest.mark.parametrize("seed", range(6))
def test_numbers_are_fair(seed: int) -> None:
    ex = generate_conv(seed)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    fwd = engine.forward(net, net.inputs, net.targets)
    z, out = fwd.values["c1"].net[0, 0], fwd.values["c1"].out[0, 0]
    if net.layers[0].activation == "tanh":
        assert np.abs(z).max() <= MAX_CONV_NET
    else:
        assert np.abs(z).min() >= 0.05
    for r in range(2):
        for c in range(2):
            top = np.sort(out[r:r + 2, c:c + 2].ravel())
            assert top[-1] - top[-2] >= MIN_GAP  # one clear maximum: the route is unambiguous
    assert np.abs(fwd.output - net.targets).min() >= MIN_MISS
    assert generate_conv(seed).spec == ex.spec


def test_the_key_is_correct_and_the_template_blank() -> None:
    ex = generate_conv(2)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    answers = "\n".join(f"{s.name} = {s.value:.6g}" for s in ex.trace if s.text)
    report = check(net, solution.loads(answers))
    assert report.ok and report.counts["correct"] == len([s for s in ex.trace if s.text])
    blank = check(net, solution.loads(ex.template()))
    assert not blank.ok and blank.counts["unanswered"] == report.counts["correct"]


def test_the_command_writes_the_files(tmp_path, capsys) -> None:
    from stepgrad.cli import main

    main(["exercise", "--layers", "conv", "--seed", "4", "-o", str(tmp_path / "conv")])
    written = sorted(p.name for p in (tmp_path / "conv").iterdir())
    assert written == ["key-values.txt", "key.md", "network.json", "sheet.md", "solution-template.txt"]
    with pytest.raises(SystemExit) as exit_:
        main(["exercise", "--layers", "conv", "--round", "3", "--find-error", "1"])
    assert exit_.value.code == 2 and "--round" in capsys.readouterr().err


ROSTER = "id,name\ns1,Ada Lovelace\ns2,Émile Borel\ns3,Grace Hopper\ns4,Kurt Gödel\n"


def _roster(tmp_path) -> str:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return str(path)


def test_one_exercise_per_student_and_every_key_marked_correct(tmp_path) -> None:
    """exercise --layers conv --roster: each student's own numbers; each key (keys.csv's row) marked all correct by
    `check` against that student's network.json, read as `check --variants` reads it."""
    import csv

    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants import network_for

    out = tmp_path / "week5"
    make_exercise(Problem(layers="conv", seed=11, min_digits=4), roster=_roster(tmp_path), output=str(out))
    rows = list(csv.DictReader((out / "keys.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["s1", "s2", "s3", "s4"]
    assert len({r["seed"] for r in rows}) == 4  # a different problem per student
    assert (out / "check.toml").read_text() == "[check]\nmin_digits = 4\n"
    pick = network_for(str(out))
    for row in rows:
        home = out / "students" / row["id"]
        assert sorted(p.name for p in home.iterdir()) == ["network.json", "sheet.md", "solution-template.txt"]
        assert row["name"] in (home / "sheet.md").read_text(encoding="utf-8")
        assert "stride 1x1, padding 0x0, cross-correlation" in (home / "sheet.md").read_text(encoding="utf-8")
        net = pick(row["id"])
        key = solution.loads("\n".join(f"{name} = {value}" for name, value in row.items()
                                       if name not in ("id", "name", "seed") and value))
        report = check(net, key)
        assert report.ok and report.counts["correct"] == len(key.answers), report.summary()
        assert (out / "keys" / f"{row['id']}.md").is_file()


def test_latex_sheet_and_key(tmp_path) -> None:
    from stepgrad.api import Problem, make_exercise

    make_exercise(Problem(layers="conv", seed=5), fmt="latex", output=str(tmp_path / "tex"))
    sheet = (tmp_path / "tex" / "sheet.tex").read_text(encoding="utf-8")
    assert sheet.startswith("\\documentclass") and "\\title{Convolution exercise (seed 5)}" in sheet
    assert "cross-correlation" in sheet and sheet.rstrip().endswith("\\end{document}")
    assert (tmp_path / "tex" / "key.tex").is_file()


@pytest.mark.latex
def test_pdf_sheets_compile(tmp_path) -> None:
    from conftest import require_tool
    from stepgrad.api import Problem, make_exercise

    require_tool("pdflatex")
    make_exercise(Problem(layers="conv", seed=5), pdf=True, roster=_roster(tmp_path), output=str(tmp_path / "pdf"))
    for sid in ("s1", "s2", "s3", "s4"):
        assert (tmp_path / "pdf" / "students" / sid / "sheet.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_lms_quizzes_parse(tmp_path) -> None:
    """Moodle XML (a category and a numerical question per quantity, per student), GIFT (read back by the strict
    reader of test_lms_export) and QTI zips (one per student) of the conv exercises; the right answer is the key's."""
    import io
    import xml.etree.ElementTree as ET
    import zipfile

    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants_layers import conv_variants
    from test_lms_export import strict_gift

    roster = _roster(tmp_path)
    exercises = {sid: ex for sid, _, ex in conv_variants(roster, 2)}
    keys = {sid: {s.name: s.value for s in ex.trace if s.text} for sid, ex in exercises.items()}
    xml = make_exercise(Problem(layers="conv", seed=2), fmt="moodle", roster=roster)
    root = ET.fromstring(xml.encode())
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == [f"$course$/stepgrad/{sid}" for sid in keys]
    numerical = root.findall("question[@type='numerical']")
    assert len(numerical) == sum(len(k) for k in keys.values())
    for q in numerical:
        sid, name = q.findtext("name/text").split(": ", 1)
        right = [a for a in q.findall("answer") if a.get("fraction") == "100"]
        assert float(right[0].findtext("text")) == pytest.approx(keys[sid][name], rel=1e-11)
    named = {a.findtext("feedback/text").split(":")[0] for q in numerical for a in q.findall("answer")
             if a.get("fraction") == "0"}
    assert {"kernel flipped", "max-pool gradient sent to every cell"} <= named  # the conv mistakes as wrong answers
    parsed = strict_gift(make_exercise(Problem(layers="conv", seed=2), fmt="gift", roster=roster))
    assert len(parsed) == len(numerical)
    pytest.importorskip("text2qti")
    make_exercise(Problem(layers="conv", seed=2), fmt="qti", roster=roster, output=str(tmp_path / "qti"))
    for sid in keys:
        with zipfile.ZipFile(io.BytesIO((tmp_path / "qti" / "quiz-qti" / f"{sid}.zip").read_bytes())) as archive:
            assert "imsmanifest.xml" in archive.namelist()
            for name in archive.namelist():
                if name.endswith(".xml"):
                    ET.fromstring(archive.read(name))


# --- problem shapes (exercise --layers conv --shape): each drills one convention, its classic mistake visible ---

SHAPES = ["basic", "strided", "channels", "avgpool"]
SHAPE_SEEDS = range(4)


def _student_problem(ex):
    """The exercise's numbers as tests/conv_students.py's independent hand calculation reads them."""
    from conv_students import Problem as StudentProblem

    conv, pool, dense = ex.spec["layers"][1], ex.spec["layers"][2], ex.spec["layers"][4]
    sample = ex.spec["samples"][0]
    image = sample["inputs"] if ex.spec["layers"][0]["shape"][0] > 1 else [sample["inputs"]]
    return StudentProblem(inputs=[image], targets=[sample["targets"]], kernel=conv["weights"], bias=conv["biases"],
                          stride=conv.get("stride", 1), padding=conv.get("padding", 0), pool=pool["type"][:3],
                          pool_kernel=pool["kernel"], pool_stride=pool["stride"], weights=dense["weights"],
                          dense_bias=dense["biases"], learning_rate=ex.spec["learning_rate"],
                          activation=conv["activation"])


def _mark(ex, slips=None):
    from conv_students import solve

    sheet = solve(_student_problem(ex), slips)
    report = check(ex.network, solution.loads("\n".join(f"{k} = {v!r}" for k, v in sheet.items())))  # every digit
    return {r.name: (r.verdict, r.mistake, str(r.diagnosis)) for r in report.results if r.verdict != "unanswered"}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_has_its_geometry_and_fair_numbers(shape: str) -> None:
    ex = generate_conv(1, shape)
    conv, pool = ex.network.layers[0], ex.network.layers[1]
    expected = {"basic": ((1, 1), (0, 0), 1, "maxpool"), "strided": ((2, 2), (1, 1), 1, "maxpool"),
                "channels": ((1, 1), (0, 0), 2, "maxpool"), "avgpool": ((1, 1), (0, 0), 1, "avgpool")}[shape]
    assert (conv.stride, conv.padding, conv.out_shape[0], ex.spec["layers"][2]["type"]) == expected
    assert conv.in_shape[0] == expected[2] and pool.kernel_size == (2, 2)
    assert generate_conv(1, shape).spec == ex.spec and ex.shape == shape
    fwd = engine.forward(ex.network, ex.network.inputs, ex.network.targets)
    assert np.abs(fwd.output - ex.network.targets).min() >= MIN_MISS
    if conv.activation == "tanh":
        assert np.abs(fwd.values["c1"].net).max() <= MAX_CONV_NET


@pytest.mark.parametrize("shape", SHAPES)
def test_every_variant_key_of_a_shape_is_marked_correct(tmp_path, shape: str) -> None:
    """--roster --shape S: every student gets shape S; keys.csv's row is marked all correct against their network."""
    import csv

    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants import network_for

    out = tmp_path / shape
    make_exercise(Problem(layers="conv", seed=3, shape=shape), roster=_roster(tmp_path), output=str(out))
    rows = list(csv.DictReader((out / "keys.csv").open(encoding="utf-8")))
    assert len(rows) == 4 and len({r["seed"] for r in rows}) == 4
    pick = network_for(str(out))
    for row in rows:
        net = pick(row["id"])
        spec = json.loads((out / "students" / row["id"] / "network.json").read_text(encoding="utf-8"))
        assert spec == generate_conv(int(row["seed"]), shape).spec  # the student's variant keeps the shape
        key = solution.loads("\n".join(f"{name} = {value}" for name, value in row.items()
                                       if name not in ("id", "name", "seed") and value))
        report = check(net, key)
        assert report.ok and report.counts["correct"] == len(key.answers), report.summary()


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_an_independent_correct_student_is_correct(shape: str, seed: int) -> None:
    """The hand calculation of tests/conv_students.py (plain Python, not stepgrad's engine) agrees with the key."""
    got = _mark(generate_conv(seed, shape))
    assert len(got) > 20 and {v for v, _, _ in got.values()} == {"correct"}, \
        {k: v for k, v in got.items() if v[0] != "correct"}


CLASSIC = {  # shape -> (the student's slip, the mistake named, the quantities it must change)
    "basic": ({"flip": True}, "kernel_flipped", ("net_c1", "dE_total/dk1")),
    "strided": ({"backward_stride": 1}, "stride_off", "dE_total/dk1"),
    "channels": ({"channels_summed": True}, "channels_summed", "dE_total/dk1"),
    "avgpool": ({"avg_unscaled": True}, "avgpool_without_scale", "dE_total/dout_c1"),
}


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("shape", [*SHAPES, "strided-padding"])
def test_the_shapes_classic_mistake_is_named(shape: str, seed: int) -> None:
    """A student making the shape's classic mistake: the lines it changes are wrong, with that mistake named (leading
    on some; where another mistake gives the same number, as 'also fits'); nothing is wrong for another reason."""
    from conv_students import Slips
    from stepgrad.teach.check.verdicts import MISTAKES_BY_KEY

    slips, key, prefix = ({"backward_padding": 0}, "padding_off", "dE_total/dk1") if shape == "strided-padding" \
        else CLASSIC[shape]
    got = _mark(generate_conv(seed, shape.split("-")[0]), Slips(**slips))
    wrong = {name: v for name, v in got.items() if v[0] == "wrong"}
    changed = [name for name in wrong if name.startswith(prefix)]
    assert changed, got  # the mistake changes an asked quantity visibly
    label = MISTAKES_BY_KEY[key].label
    for name in changed:
        assert wrong[name][1] == key or label in wrong[name][2], (name, wrong[name])
    assert any(wrong[name][1] == key for name in changed)
    assert all(name.startswith(prefix) for name in wrong), {k: v for k, v in wrong.items() if not k.startswith(prefix)}

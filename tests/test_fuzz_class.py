"""Property-based fuzz of a class's files and saved networks (issue 22): a saved `[training]` table, a roster
and a folder of submissions. Whatever comes in, the answer is a result or one StepgradError; never another
exception, never a file written outside the folder asked for."""

from __future__ import annotations

import copy

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import stepgrad  # noqa: E402
from stepgrad.core.errors import StepgradError  # noqa: E402
from stepgrad.core.persist import dumps  # noqa: E402
from stepgrad.core.spec import loads  # noqa: E402
from stepgrad.teach.classroom import mark_class  # noqa: E402
from stepgrad.teach.variants import variants  # noqa: E402

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
HOSTILE = ["\x1b[2J", "\n", "'", '"', "\\", "=", "#", ",", "\x00", "<script>", r"\input{x}", "../", "%", "&"]
texts = st.lists(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(HOSTILE),
                 max_size=12).map("".join)
numbers = st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -5, 2**63, 1e308]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=12)

_SAVED = stepgrad.train(stepgrad.builtin(), 3, optimizer="adam").network.to_dict()


@FUZZ
@given(st.sampled_from(["iterations", "epochs", "update_order", "optimizer", "stray"]),
       st.sampled_from(["name", "t", "hyper", "slots", "beta1", "m", None]), values)
def test_fuzz_saved_training_tables(key, inner, value):
    data = copy.deepcopy(_SAVED)
    table = data["training"]
    if key == "optimizer" and inner is not None:
        target = table["optimizer"]
        if inner in ("beta1",):
            target = target["hyper"]
        elif inner == "m":
            target = target["slots"]
        target[inner] = value
    else:
        table[key] = value
    try:
        net = stepgrad.Network.from_dict(data, "saved.toml")
    except StepgradError:
        return
    # what loads must train and explain without any other exception
    try:
        stepgrad.train(net, 2)
        stepgrad.explain(net)
        loads(dumps(net))
    except StepgradError:
        pass


@FUZZ
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=4))
def test_fuzz_rosters(tmp_path_factory, rows):
    roster = tmp_path_factory.mktemp("roster") / "roster.csv"
    import csv

    with roster.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name"])
        writer.writerows(rows)
    try:
        made = variants(str(roster))
    except StepgradError:
        return
    assert len(made) == len(rows)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["anna", "a b", "a_b", "A_B", ".hidden", "x" * 200, "李雷", "../up"]),
                          st.sampled_from([".txt", ".json", ".yaml", ".exe"]), texts), max_size=5))
@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_fuzz_class_folders(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("class")
    returned = root / "returned"
    returned.mkdir()
    for stem, suffix, text in files:
        name = stem.replace("/", "_") + suffix
        try:
            (returned / name).write_text(text, encoding="utf-8")
        except OSError:
            continue
    book = mark_class(str(returned), lambda student: stepgrad.builtin())
    written = book.write(str(root / "marked"), force=True)
    assert all(str(root) in path for path in written)
    assert not [p for p in root.parent.iterdir() if p.name in ("up.txt", "up")]

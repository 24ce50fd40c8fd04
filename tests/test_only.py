"""`--only` (CLI) and "only" (web API) follow one rule, resolved by stepgrad.tracing.only.

A neuron name stands for its net and out (and an output's error), `error` for E_total and every
output's error; a name in the wrong case or one that does not exist is refused with a "did you
mean". Values are checked against the deck's published figures ("Step by step Backpropagation").
"""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

from stepgrad.cli import cli

OUT_H1 = 0.593269992  # the deck's out_h1
E_TOTAL = 0.298371109  # the deck's E_total
DE_DW5 = 0.082167041  # the deck's dE_total/dw5

CASES = [  # --only, names that must be selected, names that must not
    ("h1", {"net_h1", "out_h1"}, {"dE_total/dw5", "E_o1"}),
    ("o1", {"net_o1", "out_o1", "E_o1"}, {"net_o2", "dE_total/dw1"}),
    ("error", {"E_total", "E_o1", "E_o2"}, {"dE_total/dw5"}),
    ("E_total", {"E_total", "E_o1", "E_o2"}, {"dE_total/dw5"}),
    ("w5", {"dE_total/dw5", "w5+"}, {"dE_total/dw1", "net_h1"}),
    ("w5, h1", {"dE_total/dw5", "out_h1"}, {"dE_total/dw1"}),
]
REFUSED = [  # --only, what the one error line must say
    ("W5", ["'W5'", "did you mean w5?"]),
    ("w9", ["'w9'", "did you mean one of w1 .. w8?"]),
    ("h3", ["'h3'", "did you mean h1, h2?"]),
    ("w5,zz", ["'zz'"]),
]


def _cli(*args: str):
    return CliRunner().invoke(cli, ["explain", *args], catch_exceptions=True)


def _names(sections: list[dict]) -> dict[str, float]:
    return {step["name"]: step["value"] for sec in sections for step in sec["steps"]}


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("starlette")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from stepgrad.web.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.parametrize(("only", "wanted", "left_out"), CASES)
def test_cli_and_api_select_the_same_steps(client, only, wanted, left_out):
    result = _cli("--only", only, "--format", "json")
    assert result.exit_code == 0, result.output
    from_cli = _names(json.loads(result.output)["sections"])
    response = client.post("/api/explain", json={"only": [n.strip() for n in only.split(",")]})
    assert response.status_code == 200, response.text
    from_api = _names(response.json()["selected"]["sections"])
    assert wanted <= set(from_cli) and not left_out & set(from_cli), (only, sorted(from_cli))
    assert set(from_api) == set(from_cli)


def test_selected_values_are_the_decks():
    values = _names(json.loads(_cli("--only", "h1,error,w5", "--format", "json").output)["sections"])
    assert round(values["out_h1"], 9) == OUT_H1
    assert round(values["E_total"], 9) == E_TOTAL
    assert round(values["dE_total/dw5"], 9) == DE_DW5


@pytest.mark.parametrize(("only", "said"), REFUSED)
def test_unknown_names_are_refused_alike_with_a_hint(client, cli, only, said):
    result = cli("explain", "--only", only)
    assert result.returncode == 2 and not result.stdout
    line = result.stderr.strip()
    assert line.startswith("stepgrad: error: --only: no quantity named"), line
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    response = client.post("/api/explain", json={"only": [n.strip() for n in only.split(",")]})
    assert response.status_code == 422 and response.json()["field"] == "only"
    for text in said:
        assert text in line, line
        assert text in response.json()["error"], response.json()
    export = client.post("/api/export", json={"format": "text", "only": [n.strip() for n in only.split(",")]})
    assert export.status_code == 422 and said[0] in export.json()["error"]

"""Study mode on the maps page (conv) and the sequence page: worked -> faded -> problem for the served layer-table
network (stepgrad.teach.study_layers), every answer marked by the checker with the student's earlier answers.

    POST /api/study/layers/plan    {digits?, state? | spec?} -> {"parts": [{kind, title, focus, steps: [{name,
                                   blank, line?, prompt?: {question, choices}}]}], "network"}: worked lines
                                   (name = formula = numbers = value), a rule prompt on the first step of each
                                   rule in each layer
    POST /api/study/layers/rule    {state? | spec?, name, choice} -> {right, message}: the rule and why
    POST /api/study/layers/answer  {state? | spec?, name, answers: {name: "0.5933", ...}} -> {verdict, message,
                                   used, hint}

`state` (optional) is the page's edited network as the Edit and train panel holds it (web/layer_state.py: the
served network's values changed), `spec` a whole layer-table spec as JSON; without either, the served network.
The server keeps nothing between requests: the page sends every answer given so far with each one, so an answer
computed from the student's own earlier slip is marked "follows" and the feedback names the values it used. A
hint is the step's rule and formula in names, never its value. The routes are added by api/study_routes.routes()
for `stepgrad serve`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.formats.formula import equation
from stepgrad.teach import study
from stepgrad.teach.check.solution import NUMBER_HINT, parse_number
from stepgrad.teach.study_layers import LayerQuiz, prompted, session
from stepgrad.web import inputs
from stepgrad.web.api import _unstoppable, stoppable
from stepgrad.web.inputs import ApiError

FIELDS = {"plan": ("spec", "state", "digits"), "rule": ("spec", "state", "name", "choice"),
          "answer": ("spec", "state", "name", "answers")}
MAX_ANSWER = 40  # characters of one written number
MAX_PARAMETERS = 5_000  # a spec sent with the request: larger is not a hand calculation


def _known(data: dict[str, Any], endpoint: str) -> dict[str, Any]:
    for key in data:
        if key not in FIELDS[endpoint]:
            raise ApiError(422, f"unknown field {key!r}; expected {', '.join(FIELDS[endpoint])}", key)
    return data


def served(request: Request) -> LayerNetwork | None:
    """The layer-table network the page shows: a sequence model (state.layers) or a conv network (state.spec)."""
    state = request.app.state
    for net in (getattr(state, "layers", None), getattr(state, "spec", None)):
        if isinstance(net, LayerNetwork):
            return net
    return None


def _quiz(data: dict[str, Any], net: LayerNetwork | None) -> LayerQuiz:
    spec, state = data.get("spec"), data.get("state")
    if spec is not None and state is not None:
        raise ApiError(422, "send the page's network as 'spec' or as 'state', not both", "state")
    if state is not None:  # the served network with the values the page's Edit and train panel set
        if net is None:
            raise ApiError(422, "this server shows a dense network: its study mode is at /api/study/plan", "state")
        from stepgrad.web.layer_state import network_from

        net = network_from(net, state)
    if spec is not None:
        if not isinstance(spec, dict):
            raise ApiError(422, "'spec' must be a layer-table spec as a JSON object", "spec")
        try:
            net = LayerNetwork.from_dict(spec, "<the page's network>")
        except StepgradError as exc:
            raise ApiError(422, exc.message, "spec") from None
        if net.parameter_count > MAX_PARAMETERS:
            raise ApiError(422, f"{net.parameter_count:,} parameters: study mode walks networks of up to "
                                f"{MAX_PARAMETERS:,}", "spec")
    if net is None:
        raise ApiError(422, "this server shows a dense network: its study mode is at /api/study/plan", "spec")
    try:
        return LayerQuiz(net.copy())
    except StepgradError as exc:
        raise ApiError(422, exc.message, "spec") from None


def _plan(data: dict[str, Any], net: LayerNetwork | None) -> dict[str, Any]:
    quiz = _quiz(data, net)
    digits = inputs.integer(data, "digits", 9, 1, 17)
    try:
        parts = session(quiz)
    except StepgradError as exc:
        raise ApiError(422, exc.message, "spec") from None
    shown = []
    for part in parts:
        asked = prompted(quiz, part)
        rows = []
        for step in part.steps:
            if step.name in part.blanks:
                rows.append({"name": step.name, "blank": True})
                continue
            ask = quiz.prompt(step) if step.name in asked else None
            rows.append({"name": step.name, "blank": False, "line": equation(step, quiz.trace, digits, "text"),
                         "prompt": None if ask is None else {"question": ask.question, "choices": list(ask.choices)}})
        shown.append({"kind": part.kind, "title": part.title, "focus": part.focus, "steps": rows})
    return {"parts": shown, "network": quiz.net.name or "the served network"}


def _step(quiz: LayerQuiz, name: Any, field: str = "name"):
    if not isinstance(name, str) or name not in {s.name for s in quiz.trace if s.text}:
        raise ApiError(422, f"{str(name)[:60]!r} is not a quantity of this step (see the study plan)", field)
    return quiz.trace.step(name)


def _rule(data: dict[str, Any], net: LayerNetwork | None) -> dict[str, Any]:
    quiz = _quiz(data, net)
    step = _step(quiz, data.get("name"))
    choice = data.get("choice")
    if choice is not None and (not isinstance(choice, int) or isinstance(choice, bool)):
        raise ApiError(422, "'choice' must be the number of a choice (0, 1, 2) or null to skip", "choice")
    right, message = study.rule_feedback(step, choice, quiz.prompt)
    return {"right": right, "message": message}


def _answer(data: dict[str, Any], net: LayerNetwork | None) -> dict[str, Any]:
    quiz = _quiz(data, net)
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(v, str) and len(v) <= MAX_ANSWER for v in answers.values()):
        raise ApiError(422, f"'answers' must map quantity names to numbers as written (up to {MAX_ANSWER} characters)",
                       "answers")
    step = _step(quiz, data.get("name"))
    if step.name not in answers:
        raise ApiError(422, f"no answer for {step.name!r} in 'answers'", "answers")
    known = {s.name for s in quiz.trace if s.text}
    for other, text in answers.items():  # the student's earlier values, as written
        if other not in known:
            raise ApiError(422, f"{str(other)[:60]!r} is not a quantity of this step (see the study plan)", "answers")
        if parse_number(text) is None:
            raise ApiError(422, f"{other}: {text.strip()[:MAX_ANSWER]!r} is not a number ({NUMBER_HINT})", "answers")
        if other != step.name:
            quiz.answers[other] = text.strip()
    try:
        result = quiz.answer(step.name, answers[step.name])
    except StepgradError as exc:
        raise ApiError(422, exc.message, "answers") from None
    return study.feedback(quiz, step, result, quiz.prompt).to_dict()


def _endpoint(endpoint: str, job):
    async def handle(request: Request) -> JSONResponse:
        data = _known(await inputs.read_json(request), endpoint)
        return JSONResponse(await stoppable(request, _unstoppable(job), data, served(request), quick=True))

    return handle


def routes() -> list[Route]:
    """The layer-table study endpoints, for the app's route table."""
    return [Route(f"/api/study/layers/{name}", _endpoint(name, job), methods=["POST"])
            for name, job in (("plan", _plan), ("rule", _rule), ("answer", _answer))]

"""Study mode in the explorer: worked -> faded -> problem for the served network (stepgrad.teach.study), marked by
the checker. The routes live in the API layer, which may use both the explorer (stepgrad.web) and the teaching
package (the two do not import each other); `stepgrad serve` adds them to the app (create_app's extra_routes).

    POST /api/study/plan    {spec?, update_order?, digits?} -> the three parts: worked lines with their rule
                            prompts (the question and the choices, not the answer), faded and problem blanks
    POST /api/study/rule    {spec?, update_order?, name, choice} -> {right, message}: the rule and why
    POST /api/study/answer  {spec?, update_order?, name, answers: {name: "0.5933", ...}} -> {verdict, message,
                            used, hint}: the checker's verdict on answers[name] with every other answer as the
                            student's own earlier values (error carried forward: "follows: right from your ...")

The server keeps nothing between requests: the page sends the answers given so far with each one. A hint is
the step's rule and formula in names, never its value.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network
from stepgrad.core.trace import SLOT
from stepgrad.teach import study
from stepgrad.teach.check.solution import NUMBER_HINT, parse_number
from stepgrad.teach.fading import written
from stepgrad.teach.prompts import prompt
from stepgrad.teach.quiz import Quiz
from stepgrad.tracing.derive import derive
from stepgrad.web import inputs
from stepgrad.web.api import _unstoppable, stoppable
from stepgrad.web.inputs import ApiError

FIELDS = {"plan": (*inputs.SPEC_FIELDS, "update_order", "digits"),
          "rule": (*inputs.SPEC_FIELDS, "update_order", "name", "choice"),
          "answer": (*inputs.SPEC_FIELDS, "update_order", "name", "answers")}
MAX_ANSWER = 40  # characters of one written number


def _known(data: dict[str, Any], endpoint: str) -> dict[str, Any]:
    for key in data:
        if key not in FIELDS[endpoint]:
            raise ApiError(422, f"unknown field {key!r}; expected {', '.join(FIELDS[endpoint])}", key)
    return data


def _quiz(data: dict[str, Any], served: Network) -> tuple[Quiz, Network]:
    if not isinstance(served, Network):  # a conv or sequence model served: its own page, no study mode yet
        raise ApiError(422, "a layer-table network's study mode is at /api/study/layers/plan", "spec")
    net = inputs.spec_from(data, served)
    net.require_samples(inputs.SOURCE)
    inputs.check_explainable(net)
    return Quiz(net, None, inputs.update_order(data) or net.update_order), net


def _plan(data: dict[str, Any], served: Network) -> dict[str, Any]:
    quiz, net = _quiz(data, served)
    digits = inputs.integer(data, "digits", 9, 1, 17)
    trace = derive(quiz.trace)
    steps = {s.name: s for s in trace}

    def show(v: float) -> str:
        return f"{v:.{digits}g}"

    parts = []
    for part in study.session(quiz, net):
        rows = []
        for s in part.steps:
            step = steps[s.name]
            if s.name in part.blanks:
                rows.append({"name": s.name, "blank": True})
                continue
            ask = None if SLOT.fullmatch(step.text) else prompt(step)
            rows.append({"name": s.name, "blank": False, "line": written(step, trace.values, step.value, show),
                         "prompt": None if ask is None else {"question": ask.question, "choices": list(ask.choices)}})
        parts.append({"kind": part.kind, "title": part.title, "focus": part.focus, "steps": rows})
    return {"parts": parts, "network": net.name or "the served network"}


def _step(quiz: Quiz, name: Any, field: str = "name"):
    if not isinstance(name, str) or name not in {s.name for s in quiz.trace if s.text}:
        raise ApiError(422, f"{name!r} is not a quantity of this step (see the study plan)", field)
    return derive(quiz.trace).step(name)


def _rule(data: dict[str, Any], served: Network) -> dict[str, Any]:
    quiz, _ = _quiz(data, served)
    step = _step(quiz, data.get("name"))
    choice = data.get("choice")
    if choice is not None and (not isinstance(choice, int) or isinstance(choice, bool)):
        raise ApiError(422, "'choice' must be the number of a choice (0, 1, 2) or null to skip", "choice")
    right, message = study.rule_feedback(step, choice)
    return {"right": right, "message": message}


def _answer(data: dict[str, Any], served: Network) -> dict[str, Any]:
    quiz, _ = _quiz(data, served)
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(v, str) and len(v) <= MAX_ANSWER for v in answers.values()):
        raise ApiError(422, f"'answers' must map quantity names to numbers as written (up to {MAX_ANSWER} characters)",
                       "answers")
    step = _step(quiz, data.get("name"))
    name = step.name
    if name not in answers:
        raise ApiError(422, f"no answer for {name!r} in 'answers'", "answers")
    known = {s.name for s in quiz.trace if s.text}
    for other, text in answers.items():  # the student's earlier values, as written
        if other not in known:
            raise ApiError(422, f"{other!r} is not a quantity of this step (see the study plan)", "answers")
        if parse_number(text) is None:
            raise ApiError(422, f"{other}: {text.strip()[:MAX_ANSWER]!r} is not a number ({NUMBER_HINT})", "answers")
        if other != name:
            quiz.answers[other] = text.strip()
    try:
        result = quiz.answer(name, answers[name])
    except StepgradError as exc:
        raise ApiError(422, exc.message, "answers") from None
    return study.feedback(quiz, step, result).to_dict()


def _endpoint(endpoint: str, job):
    async def handle(request: Request) -> JSONResponse:
        data = _known(await inputs.read_json(request), endpoint)
        return JSONResponse(await stoppable(request, _unstoppable(job), data, request.app.state.spec, quick=True))

    return handle


def routes() -> list[Route]:
    """The study endpoints, for the app's route table (a layer-table network's: api/study_layer_routes.py)."""
    from stepgrad.api.study_layer_routes import routes as layer_routes

    return [*(Route(f"/api/study/{name}", _endpoint(name, job), methods=["POST"])
              for name, job in (("plan", _plan), ("rule", _rule), ("answer", _answer))), *layer_routes()]

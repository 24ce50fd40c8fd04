// Study mode: a worked example with rule prompts, a faded one, then a problem, for the network on the page.
// The server plans the three parts and marks every answer with the checker (POST /api/study/*, stepgrad.web.study);
// this file only shows them. The answers given so far go with each one, so an answer computed from the
// student's own earlier (wrong) value is marked "follows", and the feedback names the values it used.

import { postJSON } from "./api.js";

let studyBase = "/api/study";
const VERDICT_TEXT = { correct: "Correct", follows: "Follows", close: "Close", wrong: "Wrong" };

/** Add the "Study mode" button to the header and the study panel below the explorer; current() gives the
 *  network on the page as the endpoints take it ({spec, update_order}; a layer page's {state}); `base` is the endpoints' path (study_layers.js: a conv or
 *  sequence model's, /api/study/layers), `header` the page's header. */
export function setupStudy(current, { base = "/api/study", header = "header.top" } = {}) {
  studyBase = base;
  const open = Object.assign(document.createElement("button"), { type: "button", id: "study-open", textContent: "Study mode" });
  open.title = "Worked example, faded example, then a problem on this network, every answer marked";
  document.querySelector(header).append(open);
  const panel = document.createElement("section");
  panel.id = "study";
  panel.className = "panel study-panel";
  panel.hidden = true;
  panel.setAttribute("aria-labelledby", "study-title");
  document.querySelector("main").after(panel);
  open.addEventListener("click", () => start(panel, current()));
}

async function start(panel, network) {
  panel.hidden = false;
  panel.replaceChildren(heading(panel), Object.assign(document.createElement("p"), { className: "hint", textContent: "…" }));
  let plan;
  try {
    plan = await postJSON(`${studyBase}/plan`, network);
  } catch (err) {
    panel.lastChild.textContent = `Study mode: ${err.message}`;
    return;
  }
  const session = { network, answers: {}, verdicts: {}, blanks: 0 }; // network: {spec, update_order} or {state}
  const intro = Object.assign(document.createElement("p"), { className: "hint", textContent:
    "Three parts, each on other weights of the same network: read the worked steps and name each rule; then "
    + "fill in the blanks. Every answer is marked at once; when it uses your own earlier values, the feedback "
    + "says which. A wrong answer gets a hint from the step's rule, never the value." });
  panel.replaceChildren(heading(panel), intro);
  for (const part of plan.parts) panel.append(partNode(part, session));
  const score = Object.assign(document.createElement("p"), { className: "study-score", id: "study-score" });
  score.setAttribute("aria-live", "polite");
  panel.append(score);
  session.score = score;
  showScore(session);
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
  document.body.dataset.study = "ready";
}

function heading(panel) {
  const bar = Object.assign(document.createElement("div"), { className: "study-bar" });
  const title = Object.assign(document.createElement("h2"), { id: "study-title", textContent: "Study mode" });
  const close = Object.assign(document.createElement("button"), { type: "button", className: "study-close", textContent: "Close" });
  close.addEventListener("click", () => { panel.hidden = true; document.getElementById("study-open").focus(); });
  bar.append(title, close);
  return bar;
}

function partNode(part, session) {
  const section = Object.assign(document.createElement("section"), { className: `study-part study-${part.kind}` });
  section.append(Object.assign(document.createElement("h3"), { textContent: part.title }));
  const list = Object.assign(document.createElement("ol"), { className: "study-steps" });
  for (const step of part.steps) list.append(step.blank ? blankNode(step, session) : workedNode(step, session));
  section.append(list);
  return section;
}

function workedNode(step, session) {
  const li = document.createElement("li");
  li.dataset.name = step.name;
  li.append(Object.assign(document.createElement("code"), { className: "study-line", textContent: step.line }));
  if (!step.prompt) return li;
  const group = Object.assign(document.createElement("fieldset"), { className: "study-prompt" });
  group.append(Object.assign(document.createElement("legend"), { textContent: step.prompt.question }));
  const said = feedbackNode();
  step.prompt.choices.forEach((choice, k) => {
    const b = Object.assign(document.createElement("button"), { type: "button", className: "study-choice", textContent: choice });
    b.addEventListener("click", async () => {
      try {
        const r = await postJSON(`${studyBase}/rule`, { ...session.network, name: step.name, choice: k });
        said.dataset.verdict = r.right ? "correct" : "wrong";
        said.textContent = r.message.charAt(0).toUpperCase() + r.message.slice(1);
        for (const other of group.querySelectorAll(".study-choice")) other.setAttribute("aria-pressed", String(other === b));
      } catch (err) {
        said.dataset.verdict = "error";
        said.textContent = err.message;
      }
    });
    group.append(b);
  });
  group.append(said);
  li.append(group);
  return li;
}

function feedbackNode() {
  const p = Object.assign(document.createElement("p"), { className: "study-feedback" });
  p.setAttribute("aria-live", "polite");
  return p;
}

let blankId = 0;

function blankNode(step, session) {
  session.blanks += 1;
  const li = document.createElement("li");
  li.dataset.name = step.name;
  li.className = "study-blank";
  const id = `study-input-${++blankId}`;
  const form = Object.assign(document.createElement("form"), { className: "study-answer" });
  const label = Object.assign(document.createElement("label"), { htmlFor: id });
  label.append(Object.assign(document.createElement("code"), { textContent: `${step.name} =` }));
  const input = Object.assign(document.createElement("input"), { type: "text", id, inputMode: "decimal", autocomplete: "off",
                                                                  spellcheck: false });
  const check = Object.assign(document.createElement("button"), { type: "submit", textContent: "Check" });
  form.append(label, input, check);
  const said = feedbackNode();
  const hint = Object.assign(document.createElement("p"), { className: "study-hint", hidden: true });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const answers = { ...session.answers, [step.name]: text };
    try {
      const r = await postJSON(`${studyBase}/answer`, { ...session.network, name: step.name, answers });
      session.answers = answers; // kept even when wrong: a later answer may follow from it
      session.verdicts[step.name] = r.verdict;
      said.dataset.verdict = r.verdict;
      said.textContent = `${VERDICT_TEXT[r.verdict] || r.verdict}: ${r.message.replace(/^\w+(: |, )?/, "")}`.replace(/: $/, "");
      input.setAttribute("aria-invalid", String(r.verdict === "wrong"));
      hint.hidden = !r.hint;
      hint.textContent = r.hint ? `Hint: ${r.hint}` : "";
    } catch (err) {
      said.dataset.verdict = "error";
      said.textContent = err.message;
      input.setAttribute("aria-invalid", "true");
    }
    showScore(session);
  });
  li.append(form, said, hint);
  return li;
}

function showScore(session) {
  const good = Object.values(session.verdicts).filter((v) => v === "correct" || v === "follows").length;
  session.score.textContent = `${good} of ${session.blanks} blanks right (or right from your own earlier values).`;
}

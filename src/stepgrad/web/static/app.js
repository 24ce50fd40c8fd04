// The explorer page: state, the calls to the API, and drawing what comes back. Every number is
// computed by the server (the same engine and trace as the CLI); this file only shows them.

import { ApiError, getJSON, hosted, post, postJSON } from "./api.js";
import { drawCurve, formatNumber, setDigits } from "./curve.js";
import { renderEditor, structureKey } from "./editor.js";
import { DiagramView } from "./diagram.js";
import { animateStage, reducedMotion } from "./flow.js";
import { OtherOrder } from "./orders.js";
import { buildStages, highlighted, stageShow } from "./stages.js";
import { stepNode } from "./steps.js";
import { setupViews } from "./views.js";
import { setupStudy } from "./study.js";
import { labelTorch } from "./torchnames.js";

const $ = (id) => document.getElementById(id);
// steps shown with their formulas at first (a screenful and more; a button asks for more): a big network's
// formulas are long, and a few fill the screen
const MATH_PAGE = 40, BIG_MATH_PAGE = 8;
function mathPage(spec = state.spec) {
  const layers = spec && typeof spec === "object" && Array.isArray(spec.layers) ? spec.layers : [];
  return layers.slice(1).reduce((n, k, i) => n + k * layers[i], 0) > 40 ? BIG_MATH_PAGE : MATH_PAGE;
}
const SERVED = ""; // the built-in list's value for the network `stepgrad serve` was started with
const state = {
  spec: null, original: null, order: "synchronous", selected: null, stage: 0, stages: [],
  result: null, history: [], choices: null, limits: { body_bytes: 512 * 1024 }, seq: 0, networkKey: 0, mathSteps: MATH_PAGE, training: false, stop: false, editorKey: null,
};

// ---------------------------------------------------------------- errors
function showError(err, context = "") {
  const box = $("error");
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const field = err && err.field ? `${err.field}: ` : "";
  box.textContent = `${context}${field}${message}`;
  box.hidden = false;
}
function clearError() { $("error").hidden = true; $("error").textContent = ""; }

// ---------------------------------------------------------------- the explain call
/** Explain `spec` (default: the current one); on success it becomes the current network. */
/** The /api/explain request for `stage` (default: the current one) of `spec`. */
function explainBody(spec, stage = state.stages[state.stage], selected = state.selected) {
  const body = {
    spec, update_order: state.order, show: stageShow(stage), digits: Number($("digits").value),
    group: $("group").value, derive: $("derive").checked,
  };
  if (selected) body.only = [selected];
  body.math_for = selected ? [] : [stage ? stage.key : "given"]; // MathML only for what is shown ...
  body.math_steps = state.mathSteps; // ... and for its first steps: the rest is listed by value
  return body;
}

// Answers already had, by request: going back to a stage costs nothing, and the stages on either side of
// the current one are asked for while the reader reads (so Next and Back answer at once).
const answers = new Map();
const ANSWERS_KEPT = 16;

function explainCached(body) {
  const key = JSON.stringify(body);
  if (!answers.has(key)) {
    const request = postJSON("/api/explain", body);
    answers.set(key, request);
    request.catch(() => answers.delete(key));
    while (answers.size > ANSWERS_KEPT) answers.delete(answers.keys().next().value);
  }
  return answers.get(key);
}

function prefetchNeighbours() {
  if (state.training || !state.spec || typeof state.spec !== "object") return;
  for (const k of [state.stage + 1, state.stage - 1]) {
    const stage = state.stages[k];
    if (stage) explainCached(explainBody(state.spec, stage, stage.weight || null)).catch(() => {});
  }
}

async function refresh({ spec = state.spec, fromEditor = false, specFormat = null, context = "" } = {}) {
  const seq = ++state.seq;
  const body = explainBody(spec);
  let result;
  try {
    // a spec file's text (an upload) is read once by the server: never cached
    result = await (specFormat ? postJSON("/api/explain", { ...body, spec_format: specFormat }) : explainCached(body));
  } catch (err) {
    if (seq === state.seq) showError(err, context);
    return false;
  }
  if (seq !== state.seq) return false; // a newer request is on its way
  clearError();
  state.result = result;
  state.spec = result.spec;
  state.stages = buildStages(result);
  state.stage = Math.min(state.stage, state.stages.length - 1);
  draw(fromEditor);
  setTimeout(prefetchNeighbours, 50);
  return true;
}

// ---------------------------------------------------------------- drawing
function draw(fromEditor) {
  const r = state.result;
  drawDiagram(r);
  drawStages();
  drawDerivation(r);
  drawValues(r);
  drawCompare(r);
  const key = structureKey(r.spec);
  if (!fromEditor || key !== state.editorKey) {
    renderEditor($("editor"), r.spec, r.meta, state.choices, onEdit, (msg) => showError(msg));
    state.editorKey = key;
  }
  drawn();
}

/** Count the answers drawn (body[data-drawn]): tests and benchmarks wait for the next one. */
export function drawn() { document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1); }

let viewer = null;

function drawDiagram(r) {
  const box = $("diagram");
  if (!r.diagrams || !r.diagrams.length) {
    viewer = null;
    box.replaceChildren(Object.assign(document.createElement("p"), {
      className: "hint", textContent: "The network diagram is not available in this version; use the values list.",
    }));
    return;
  }
  if (!viewer) viewer = new DiagramView(box, (svg) => decorateDiagram(svg, state.result));
  viewer.show(r.diagrams, `${state.networkKey}:${structureKey(r.spec)}`);
  if (state.animate) { // Next / Back reached this stage: its values (or error signals) flow along the edges
    state.animate = false;
    animateStage(box.querySelector(".diagram-view svg"), state.stages[state.stage], r.meta);
  }
  let error = box.querySelector(".error-node");
  if (!error) {
    error = document.createElement("button");
    error.type = "button";
    error.className = "error-node";
    error.dataset.name = "E_total";
    box.append(error);
  }
  const active = highlighted(state.stages[state.stage], r.meta);
  error.classList.toggle("selected", state.selected === "E_total");
  error.classList.toggle("active", active.has("E_total"));
  error.textContent = `E_total = ${formatNumber(r.values.E_total)}`;
  error.setAttribute("aria-label", `the error E_total = ${formatNumber(r.values.E_total)}: show its derivation`);
}

/** Mark the stage's and the selection's parts of a freshly drawn diagram, and make every part focusable. */
function decorateDiagram(svg, r) {
  const active = highlighted(state.stages[state.stage], r.meta);
  const related = relatedTo(state.selected, r.meta);
  // focus mode: on a big network everything but the selection and its neighbours fades
  svg.classList.toggle("focus", Boolean(state.selected) && svg.classList.contains("sg-big"));
  const focusable = new Set();
  for (const node of svg.querySelectorAll("[data-name]")) {
    const name = node.getAttribute("data-name");
    node.classList.toggle("selected", name === state.selected);
    node.classList.toggle("active", active.has(name));
    node.classList.toggle("related", related.has(name));
    if (focusable.has(name)) continue; // one tab stop per name (an edge's label repeats its name)
    focusable.add(name);
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    const value = r.values[name] ?? r.values[`out_${name}`];
    node.setAttribute("aria-label", value === undefined ? `${name}: show its derivation` : `${name} = ${formatNumber(value)}: show its derivation`);
  }
}

/** The selected name and its neighbours: a weight's two neurons, a neuron's edges and the neurons they join. */
function relatedTo(name, meta) {
  const near = new Set(name ? [name] : []);
  if (!name || !meta || !meta.weights) return near;
  meta.weights.forEach((rows, l) => rows.forEach((row, j) => row.forEach((w, i) => {
    const from = meta.neurons[l][i], to = meta.neurons[l + 1][j];
    if (w === name) { near.add(from); near.add(to); }
    if (from === name || to === name) { near.add(w); near.add(from); near.add(to); }
  })));
  return near;
}

function drawStages() {
  const list = $("stages");
  list.replaceChildren();
  const button = (stage, i, text, className) => {
    const b = Object.assign(document.createElement("button"), { type: "button", className, textContent: text, title: stage.title });
    if (i === state.stage) b.setAttribute("aria-current", "step");
    b.addEventListener("click", () => goToStage(i));
    return b;
  };
  // a long trace told weight by weight (hundreds of sections): a contents list, one folding group per layer of
  // weights, whose buttons are made only when it is opened
  const layerOf = new Map();
  if (state.stages.length > 24 && state.result) {
    state.result.meta.weights.forEach((rows, l) => rows.flat().forEach((w) => layerOf.set(`weight_${w}`, l + 1)));
  }
  let current = null, group = null;
  state.stages.forEach((stage, i) => {
    const layer = layerOf.get(stage.key);
    if (layer === undefined) {
      group = null;
      if (!stage.weight) { current = document.createElement("li"); list.append(current); }
      current.append(button(stage, i, stage.weight || stage.title, stage.weight ? "substage" : "stage"));
      return;
    }
    if (!group || group.layer !== layer) {
      const details = document.createElement("details");
      details.className = "stage-group";
      const summary = document.createElement("summary");
      const li = document.createElement("li");
      li.append(details);
      list.append(li);
      details.append(summary);
      const box = Object.assign(document.createElement("div"), { className: "stage-group-items" });
      details.append(box);
      group = { layer, details, summary, box, items: [] };
      const mine = group;
      details.addEventListener("toggle", () => { if (details.open && !box.childElementCount) fill(mine); });
    }
    group.items.push([stage, i]);
    const names = group.items.map(([s]) => s.key.slice("weight_".length));
    group.summary.textContent = `The weight changes of layer ${layer} (${names[0]}..${names[names.length - 1]}): ${names.length}`;
    if (i === state.stage) group.details.open = true;
  });
  for (const details of list.querySelectorAll("details[open]")) details.dispatchEvent(new Event("toggle"));
  function fill(g) {
    for (const [stage, i] of g.items) g.box.append(button(stage, i, stage.key.slice("weight_".length), "substage"));
  }
  $("stage-prev").disabled = state.stage <= 0;
  $("stage-next").disabled = state.stage >= state.stages.length - 1;
}

function drawDerivation(r) {
  const box = $("derivation");
  box.replaceChildren();
  let sections, heading;
  if (state.selected && r.selected) {
    sections = r.selected.sections;
    heading = `Derivation of ${state.selected}`;
  } else {
    const stage = state.stages[state.stage];
    sections = stage ? [r.sections[stage.index]] : [];
    heading = stage ? stage.title : "Derivation";
  }
  $("derivation-title").textContent = heading;
  if (state.selected) {
    const back = document.createElement("button");
    back.type = "button";
    back.id = "clear-selection";
    back.textContent = "Back to the stage";
    back.addEventListener("click", () => select(null));
    box.append(back);
  }
  let shown = 0;
  const later = [];
  for (const sec of sections) {
    if (sec.title !== heading) { // the panel's heading already names a lone section
      const h = document.createElement("h3");
      h.textContent = sec.title;
      box.append(h);
    }
    if (sec.intro && !state.selected) box.append(Object.assign(document.createElement("p"), { className: "intro", textContent: sec.intro }));
    const rest = [];
    for (const step of sec.steps) {
      if (!step.formula && !state.selected) rest.push(step); // past the first page the server sends no MathML
      else if (shown++ < FIRST_SCREEN) box.append(stepNode(step));
      else { const slot = Object.assign(document.createElement("div"), { className: "step-later" }); box.append(slot); later.push([slot, step]); }
    }
    if (rest.length) box.append(compactSteps(rest));
  }
  drawLater(later);
}

// Render what is visible first: the steps past the first screenful are typeset once the page has painted
// (a 16-16-10 forward step is a 16-term formula, substituted: hundreds of MathML elements each).
const FIRST_SCREEN = 4;
let laterTurn = 0;
function drawLater(later) {
  const turn = ++laterTurn;
  if (!later.length) return;
  const fill = () => { if (turn === laterTurn) for (const [slot, step] of later) slot.replaceWith(stepNode(step)); };
  if (window.requestIdleCallback) requestIdleCallback(fill, { timeout: 400 });
  else setTimeout(fill, 50);
}

/** Steps past the first MATH_PAGE of a long section: one line each (name = value; a click derives it), and a
 *  button that asks the server for the next page of formulas. Only what is on screen costs MathML. */
function compactSteps(steps) {
  const wrap = document.createElement("div");
  wrap.className = "compact-steps";
  const more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.textContent = `Formulas for the next ${Math.min(mathPage(), steps.length)} of ${steps.length} more steps`;
  more.addEventListener("click", () => { state.mathSteps += mathPage(); refresh(); });
  const list = document.createElement("ol");
  list.className = "values compact";
  for (const step of steps) {
    const li = document.createElement("li");
    const b = Object.assign(document.createElement("button"), { type: "button", className: "name", textContent: step.name });
    b.dataset.name = step.name;
    b.setAttribute("aria-label", `${step.name}: show its derivation`);
    li.append(b, ` = ${step.shown}`);
    list.append(li);
  }
  list.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-name]");
    if (b) select(b.dataset.name);
  });
  wrap.append(more, list);
  return wrap;
}

let valuesKey = null; // what the values list shows: it is rebuilt only when that changes, not at each stage

function drawValues(r) {
  const list = $("values");
  const key = JSON.stringify([r.spec, r.update_order, r.digits]);
  if (key === valuesKey) {
    for (const b of list.querySelectorAll("button.selected")) b.classList.remove("selected");
    if (state.selected) list.querySelector(`button[data-name="${CSS.escape(state.selected)}"]`)?.classList.add("selected");
    return;
  }
  valuesKey = key;
  list.replaceChildren();
  const keys = new Set(["given", "forward", "error", "error_after"]);
  let count = 0;
  for (const sec of r.sections) {
    if (!keys.has(sec.key)) continue;
    for (const step of sec.steps) {
      if (count++ >= 300) break;
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "name";
      b.dataset.name = step.name;
      b.textContent = step.name;
      b.setAttribute("aria-label", `${step.name}: show its derivation`);
      if (step.name === state.selected) b.classList.add("selected");
      li.append(b, ` = ${step.shown}`);
      labelTorch(li, r.meta, step.name); // a network from PyTorch: fc1.weight[0, 1] beside w2
      list.append(li);
    }
  }
}

function drawCompare(r) {
  const c = r.compare;
  $("compare").textContent = `E_total after one update: synchronous ${formatNumber(c.synchronous)} · sequential ${formatNumber(c.sequential)}`;
  for (const radio of document.querySelectorAll('input[name="order"]')) radio.checked = radio.value === state.order;
}

// ---------------------------------------------------------------- actions
function select(name) {
  state.selected = name;
  return refresh();
}

function goToStage(i) {
  state.stage = Math.max(0, Math.min(i, state.stages.length - 1));
  state.mathSteps = mathPage();
  const stage = state.stages[state.stage];
  state.selected = stage && stage.weight ? stage.weight : null;
  state.animate = true;
  return refresh();
}

function onEdit(spec, structural) {
  if (structural) { state.selected = null; }
  refresh({ spec: structuredClone(spec), fromEditor: !structural });
}

async function setSpec(spec, opts = {}) {
  state.selected = null;
  state.stage = 0;
  state.networkKey += 1; // a new network: the diagram's zoom starts again
  state.mathSteps = mathPage(spec);
  const ok = await refresh({ spec, ...opts });
  if (ok) {
    state.original = structuredClone(state.spec);
    clearCurve();
  }
  return ok;
}

/** Add a training run's points to the curve; `from` is the network they were trained from. */
function addHistory(points, from) {
  if (!state.history.length) { state.curveStart = structuredClone(from); state.curveOrder = state.order; }
  const last = state.history.length ? state.history[state.history.length - 1].iteration : -1;
  for (const p of points) if (p.iteration > last || state.history.length === 0) state.history.push(p);
  drawLossCurve();
}

// the other update order's run beside the page's, when asked (orders.js)
const otherOrder = new OtherOrder();
function drawLossCurve() { drawCurve($("loss-curve"), state.history, otherOrder.curve(state.curveOrder || state.order)); }
function clearCurve() {
  state.history = [];
  if (otherOrder.run) otherOrder.start(state.spec, state.order, []);
  drawLossCurve();
}
function toggleBothOrders() {
  if (!$("both-orders").checked) otherOrder.stop();
  else otherOrder.start(state.history.length ? state.curveStart : state.spec, state.curveOrder || state.order, state.history);
  drawLossCurve();
}

async function applyUpdate() {
  try {
    const from = state.spec;
    if (otherOrder.run && !state.history.length) otherOrder.start(from, state.order, []); // a fresh curve: both from here
    const r = await postJSON("/api/train", { spec: from, iterations: 1, update_order: state.order });
    await otherOrder.train(1, 1);
    addHistory(r.history, from);
    state.stage = 0;
    await refresh({ spec: r.spec });
  } catch (err) {
    showError(err);
  }
}

async function trainN() {
  if (state.training) {  // Stop: end the loop, and cancel the running request so the server stops at once
    state.stop = true;
    if (state.abort) state.abort.abort();
    return;
  }
  const n = Number($("train-n").value);
  if (!Number.isInteger(n) || n < 1 || n > 100000) {
    showError("iterations: give a whole number from 1 to 100,000");
    return;
  }
  state.training = true;
  state.stop = false;
  const button = $("train"), progress = $("train-progress"), status = $("train-status");
  button.textContent = "Stop";
  const locked = ["update", "reset", "stage-prev", "stage-next", "load-builtin", "upload"].map($);
  for (const el of locked) el.disabled = true;
  $("editor").inert = true;
  progress.max = n;
  progress.value = 0;
  if (otherOrder.run && !state.history.length) otherOrder.start(state.spec, state.order, []); // a fresh curve: both from here
  const chunk = Math.max(1, Math.min(5000, Math.ceil(n / 20)));
  const every = Math.max(1, Math.floor(n / 400));
  let done = 0, spec = state.spec;
  try {
    while (done < n && !state.stop) {
      const k = Math.min(chunk, n - done);
      state.abort = new AbortController();
      let r;
      try {
        r = await postJSON("/api/train", { spec, iterations: k, update_order: state.order, every }, state.abort.signal);
      } catch (err) {
        if (err.name === "AbortError") break;  // stopped: the work done so far stays
        throw err;
      }
      try {
        await otherOrder.train(k, every, state.abort.signal); // the other update order, chunk for chunk
      } catch (err) {
        if (err.name !== "AbortError") throw err;
      }
      addHistory(r.history, spec);
      spec = r.spec;
      done += k;
      progress.value = done;
      status.textContent = `${done.toLocaleString("en")} / ${n.toLocaleString("en")} iterations, E_total = ${formatNumber(r.final_error)}`;
    }
    const last = state.history[state.history.length - 1];
    status.textContent = `${state.stop ? "stopped after" : "trained"} ${done.toLocaleString("en")} iterations`
      + (last ? `; E_total = ${formatNumber(last.E_total)}` : "");
  } catch (err) {
    showError(err, "training: ");
  } finally {
    state.training = false;
    button.textContent = "Train";
    for (const el of locked) el.disabled = false;
    $("editor").inert = false;
    if (spec !== state.spec) await refresh({ spec }); // (nothing trained: the error, if any, stays on screen)
  }
}

async function download() {
  const format = $("download-format").value;
  const body = { spec: state.spec, format, update_order: state.order, digits: Number($("digits").value) };
  if (state.selected) body.only = [state.selected];
  try {
    const response = await post("/api/export", body);
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = match ? match[1] : "stepgrad-download";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    showError(err, `download (${format}): `);
  }
}

async function upload(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  if (file.size > state.limits.body_bytes) {
    showError(`${file.name}: the file is larger than ${state.limits.body_bytes / 1024} KiB`);
    return;
  }
  const text = await file.text();
  const format = file.name.toLowerCase().endsWith(".json") ? "json" : "toml";
  await setSpec(text, { specFormat: format, context: `${file.name}: ` });
}

async function loadBuiltin() {
  try {
    const choice = $("builtin").value;
    const data = await getJSON(choice === SERVED ? "/api/network" : `/api/network?builtin=${encodeURIComponent(choice)}`);
    await setSpec(data.spec);
  } catch (err) {
    showError(err);
  }
}

function onDiagramActivate(event) {
  const target = event.target.closest("[data-name]");
  if (!target) return;
  if (event.type === "keydown" && target.tagName === "BUTTON") return; // a button clicks itself
  if (event.type === "keydown") {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
  }
  const name = target.getAttribute("data-name");
  select(state.selected === name ? null : name).then(() => {
    const again = document.querySelector(`#diagram [data-name="${CSS.escape(name)}"]`);
    if (again && event.type === "keydown") again.focus();
    // one column (a phone): the derivation is below the diagram, so bring it into view
    if (event.type === "click" && state.selected && window.matchMedia("(max-width: 900px)").matches) {
      $("derivation-title").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
}

/** ArrowLeft / ArrowRight step through the stages, unless the key belongs to a field or a list. */
function onArrowKey(event) {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  if (event.altKey || event.ctrlKey || event.metaKey || state.training) return;
  const t = event.target;
  if (t.closest && t.closest("input, select, textarea, [contenteditable], .views")) return;
  event.preventDefault();
  goToStage(state.stage + (event.key === "ArrowRight" ? 1 : -1));
}

// ---------------------------------------------------------------- start
async function start() {
  $("diagram").addEventListener("click", onDiagramActivate);
  $("diagram").addEventListener("keydown", onDiagramActivate);
  $("values").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-name]");
    if (b) select(b.dataset.name);
  });
  $("stage-prev").addEventListener("click", () => goToStage(state.stage - 1));
  $("stage-next").addEventListener("click", () => goToStage(state.stage + 1));
  $("replay").addEventListener("click", () => animateStage($("diagram").querySelector(".diagram-view svg"),
                                                             state.stages[state.stage], state.result.meta));
  $("replay").hidden = reducedMotion();
  $("update").addEventListener("click", applyUpdate);
  $("reset").addEventListener("click", () => { clearCurve(); setSpec(structuredClone(state.original)); });
  $("both-orders").addEventListener("change", toggleBothOrders);
  $("train").addEventListener("click", trainN);
  $("digits").addEventListener("change", () => { setDigits(Number($("digits").value)); refresh(); });
  $("group").addEventListener("change", () => { state.stage = 0; state.selected = null; refresh(); });
  $("derive").addEventListener("change", () => refresh());
  document.addEventListener("keydown", onArrowKey);
  $("editor").addEventListener("submit", (e) => e.preventDefault());
  $("download").addEventListener("click", download);
  $("upload").addEventListener("change", upload);
  $("load-builtin").addEventListener("click", loadBuiltin);
  for (const radio of document.querySelectorAll('input[name="order"]')) {
    radio.addEventListener("change", () => { state.order = radio.value; refresh(); });
  }
  setDigits(Number($("digits").value));
  drawCurve($("loss-curve"), []);
  let curveWidth = 0; // the curve is drawn at the size it has on screen: redraw it when that changes
  new ResizeObserver(([entry]) => {
    const width = Math.round(entry.contentRect.width);
    if (Math.abs(width - curveWidth) > 4) { curveWidth = width; drawLossCurve(); }
  }).observe($("loss-curve"));
  setupViews(() => ({ spec: state.spec, update_order: state.order, digits: Number($("digits").value), selected: state.selected }));
  if (!hosted()) setupStudy(() => ({ spec: state.spec, update_order: state.order })); // the server's study mode
  try {
    const data = await getJSON("/api/network");
    state.choices = { activations: data.activations, losses: data.losses };
    state.limits = data.limits;
    // the network being served first, under its own name; then every network shipped with stepgrad
    const served = data.spec.name || "unnamed network";
    $("builtin").append(new Option(`${served} (served)`, SERVED, true, true));
    for (const name of data.builtins) $("builtin").append(new Option(name, name));
    for (const option of $("download-format").options) option.disabled = !data.formats.includes(option.value);
    state.order = data.spec.update_order || "synchronous";
    await setSpec(data.spec);
    document.body.dataset.ready = "true";
  } catch (err) {
    showError(err);
  }
}

start();

// Editing and training on the maps page and the sequence page (web/layer_routes.py). A value clicked on the page (a
// kernel weight, an input cell, any parameter in the list) can be set to a new number; Step takes one
// gradient-descent step, Train takes N with the loss curve, Reset goes back to the served network. The page holds
// the network as a state (web/layer_state.py) and sends it with every request; the server checks each value and
// recomputes the whole page with the engine. This module computes nothing: it sends, and shows what comes back.

import { getJSON, postJSON } from "./api.js";
import { drawCurve, formatNumber } from "./curve.js";

const DIGITS = 6;
const MAX_ITERATIONS = 100000;

function show(x) { return x === null || x === undefined ? "–" : formatNumber(x, DIGITS); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function curveSvg() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const attrs = { id: "le-curve", class: "curve", viewBox: "0 0 480 220", role: "img", "aria-labelledby": "le-curve-caption" };
  for (const [key, value] of Object.entries(attrs)) svg.setAttribute(key, value);
  return svg;
}

function controls() {
  const rate = el("input", { id: "le-rate", type: "text", inputmode: "decimal", size: "8", autocomplete: "off",
    "aria-label": "learning rate" });
  const count = el("input", { id: "le-n", type: "number", min: "1", max: String(MAX_ITERATIONS), step: "1", value: "100",
    inputmode: "numeric", "aria-label": "iterations to train" });
  return el("div", { class: "le-body" },
    el("h2", { text: "Edit and train" }),
    el("p", { id: "le-hint", class: "le-hint" }),
    el("div", { class: "le-row", role: "group", "aria-label": "Learning rate and one step" },
      el("label", { for: "le-rate", text: "learning rate η" }), rate,
      el("button", { type: "button", id: "le-rate-set", text: "Set" }),
      el("button", { type: "button", id: "le-step", class: "le-main", text: "Step" }),
      el("button", { type: "button", id: "le-reset", text: "Reset" })),
    el("div", { class: "le-row", role: "group", "aria-label": "Train" },
      el("label", { for: "le-n", text: "Train for" }), count, el("span", { text: "iterations" }),
      el("button", { type: "button", id: "le-train", class: "le-main", text: "Train" }),
      el("progress", { id: "le-progress", max: "1", value: "0", "aria-label": "Training progress" }),
      el("span", { id: "le-status", "aria-live": "polite" })),
    el("div", { id: "le-error", class: "le-error", role: "alert", hidden: "" }),
    el("p", { id: "le-total", class: "le-total", "aria-live": "polite" }),
    el("div", { id: "le-last", class: "le-last", hidden: "" }),
    el("figure", { class: "curve-figure", id: "le-figure", hidden: "" }, curveSvg(),
      el("figcaption", { id: "le-curve-caption", text: "E_total during training (log scale)" })),
    el("details", { id: "le-parameters", class: "le-parameters" },
      el("summary", { text: "Parameters: each value, dE_total/d of it, and its value after one step" }),
      el("div", { id: "le-tables" })));
}

function dock() {
  return el("form", { id: "le-dock", class: "le-dock", hidden: "", "aria-label": "Set a value", autocomplete: "off" },
    el("div", { class: "le-row" },
      el("input", { id: "le-name", type: "text", size: "14", spellcheck: "false", "aria-label": "name of the value" }),
      el("span", { text: "=" }),
      el("input", { id: "le-value", type: "text", inputmode: "decimal", size: "10", "aria-label": "new value" }),
      el("button", { type: "submit", class: "le-main", text: "Set" }),
      el("button", { type: "button", id: "le-cancel", "aria-label": "Cancel", title: "Cancel (Esc)", text: "✕" })),
    el("p", { id: "le-dock-error", class: "le-error", role: "alert", hidden: "" }));
}

// A table per parameter tensor: name, value (click to edit), dE_total/d, value after one step.
function parameterTable(table) {
  const box = el("div", { class: "le-table" });
  box.append(el("h4", { text: `${table.layer} · ${table.role}${table.trained ? "" : " (kept: update_biases = false)"}` }));
  const grid = el("table", { class: "le-grid" });
  grid.append(el("thead", {}, el("tr", {}, ...["name", "value", "dE_total/d", "after step"].map((t) =>
    el("th", { scope: "col", text: t })))));
  const body = el("tbody");
  for (const entry of table.entries) {
    body.append(el("tr", {},
      el("th", { scope: "row", text: entry.name }),
      el("td", { class: "le-value", "data-edit-name": entry.name, "data-name": entry.name, tabindex: "0",
        title: `${entry.name} = ${entry.value} (click to edit)`, text: show(entry.value) }),
      el("td", { "data-name": entry.gradient_name, title: String(entry.gradient), text: show(entry.gradient) }),
      el("td", { "data-name": entry.updated_name, title: String(entry.updated), text: show(entry.updated) })));
  }
  grid.append(body);
  box.append(el("div", { class: "le-scroll" }, grid));
  if (table.left_out) {
    box.append(el("p", { class: "le-hint", text: `${table.left_out.toLocaleString("en")} more entries not listed: `
      + "type a name into the Set box to edit one." }));
  }
  return box;
}

/** Editing and training for a layer page. `mount`: where the controls go; `draw(page)`: the page's own drawing of
 *  an answer of GET /api/maps or /api/sequence; `sample()`: the sample shown; `roots`: the elements the page draws
 *  into (their input cells and kernel weights become editable). Returns {active, show}: `active()` is true once the
 *  network differs from the served one (the page then asks `show(sample)` instead of its GET). */
export function attachEditing({ mount, draw, sample, roots = [] }) {
  const $ = (id) => document.getElementById(id);
  const s = { served: null, current: null, edited: false, values: new Map(), inputs: new Map(), history: [],
    training: false, stop: false, abort: null, busy: false };
  mount.append(controls());
  document.body.append(dock());

  function error(message, where = "le-error") {
    const box = $(where);
    box.textContent = message || "";
    box.hidden = !message;
  }

  // Marks every value of the page that can be edited: a kernel weight, an input cell, a named input of a sequence.
  function mark() {
    for (const root of roots) {
      root.querySelectorAll('.map[data-map="x"] td[data-pos]').forEach((td) => {
        const input = s.inputs.get(td.dataset.pos);
        if (!input) return;
        td.dataset.editName = input.name;
        td.tabIndex = 0;
        td.classList.add("le-editable");
      });
      root.querySelectorAll("[data-name]").forEach((node) => {
        if (s.values.has(node.dataset.name)) {
          node.dataset.editName = node.dataset.name;
          node.classList.add("le-editable");
        }
      });
    }
  }
  for (const root of roots) new MutationObserver(mark).observe(root, { childList: true, subtree: true });

  function panels(answer) {
    s.values = new Map();
    for (const table of answer.parameters) for (const e of table.entries) s.values.set(e.name, e.value);
    s.inputs = new Map(answer.inputs.map((cell) => [cell.position, cell]));
    for (const cell of answer.inputs) s.values.set(cell.name, cell.value);
    $("le-tables").replaceChildren(...answer.parameters.map(parameterTable));
    if (document.activeElement !== $("le-rate")) $("le-rate").value = String(answer.learning_rate);
    $("le-total").textContent = `E_total = ${show(answer.E_total)}; after one step E_total+ = ${show(answer["E_total+"])}`
      + ` (iteration ${answer.iteration.toLocaleString("en")}${s.edited ? ", edited" : ""}).`;
    mark();
  }

  function apply(answer) {
    s.current = answer.state;
    s.edited = true;
    draw(answer.page);
    panels(answer);
  }

  async function showSample(n = sample()) {
    error("");
    try {
      apply(await postJSON("/api/layers/page", { state: s.current, sample: n }));
    } catch (err) {
      error(err.message);
    }
  }

  function openDock(name) {
    if (s.training) return;
    $("le-dock").hidden = false;
    $("le-name").value = name;
    $("le-value").value = s.values.has(name) ? String(s.values.get(name)) : "";
    error("", "le-dock-error");
    $("le-value").focus();
    $("le-value").select();
  }
  function closeDock() { $("le-dock").hidden = true; error("", "le-dock-error"); }

  async function edit(name, value, where) {
    if (s.busy) return false;
    s.busy = true;
    try {
      apply(await postJSON("/api/layers/edit", { state: s.current, sample: sample(), name, value }));
      return true;
    } catch (err) {
      error(err.message, where);
      return false;
    } finally {
      s.busy = false;
    }
  }

  function addHistory(points) {
    for (const p of points) {
      const last = s.history[s.history.length - 1];
      if (last && last.iteration === p.iteration) s.history[s.history.length - 1] = p;
      else s.history.push(p);
    }
    curve();
  }

  function curve() {  // drawn once there is a run to draw (an empty frame would only take room)
    $("le-figure").hidden = s.history.length < 2;
    drawCurve($("le-curve"), s.history);
  }

  function lastStep(step) {
    const box = $("le-last");
    const rows = step.parameters.flatMap((t) => t.entries).map((e) => el("tr", {},
      el("th", { scope: "row", text: e.name }), el("td", { text: show(e.value) }), el("td", { text: show(e.gradient) }),
      el("td", { "data-name": e.updated_name, text: show(e.updated) })));
    const grid = el("table", { class: "le-grid" },
      el("thead", {}, el("tr", {}, ...["name", "before", "dE_total/d", "after"].map((t) => el("th", { scope: "col", text: t })))),
      el("tbody", {}, ...rows));
    box.replaceChildren(
      el("p", { id: "le-step-summary", text: `Step ${step.iteration.toLocaleString("en")}: E_total = ${show(step.E_total)}`
        + ` → E_total+ = ${show(step["E_total+"])}.` }),
      el("details", {}, el("summary", { text: "the updated parameters (before, gradient, after)" }),
        el("div", { class: "le-scroll" }, grid)));
    box.hidden = false;
  }

  async function step() {
    if (s.busy || s.training) return;
    s.busy = true;
    error("");
    try {
      const answer = await postJSON("/api/layers/step", { state: s.current, sample: sample() });
      apply(answer);
      lastStep(answer.step);
      addHistory([{ iteration: answer.step.iteration - 1, E_total: answer.step.E_total },
        { iteration: answer.step.iteration, E_total: answer.step["E_total+"] }]);
    } catch (err) {
      error(err.message);
    } finally {
      s.busy = false;
    }
  }

  async function train() {
    if (s.training) {  // Stop: end the loop and cancel the running request (the server stops at once)
      s.stop = true;
      if (s.abort) s.abort.abort();
      return;
    }
    const n = Number($("le-n").value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_ITERATIONS) {
      error(`iterations: give a whole number from 1 to ${MAX_ITERATIONS.toLocaleString("en")}`);
      return;
    }
    error("");
    closeDock();
    s.training = true;
    s.stop = false;
    const locked = ["le-step", "le-reset", "le-rate-set"].map($);
    for (const b of locked) b.disabled = true;
    $("le-train").textContent = "Stop";
    const progress = $("le-progress"), status = $("le-status");
    progress.max = n;
    progress.value = 0;
    const chunk = Math.max(1, Math.min(5000, Math.ceil(n / 20)));
    const every = Math.max(1, Math.floor(n / 400));
    let state = s.current, done = 0;
    try {
      while (done < n && !s.stop) {
        const k = Math.min(chunk, n - done);
        s.abort = new AbortController();
        let answer;
        try {
          answer = await postJSON("/api/layers/train", { state, iterations: k, every }, s.abort.signal);
        } catch (err) {
          if (err.name === "AbortError") break;  // stopped: the steps done so far stay
          throw err;
        }
        addHistory(answer.history);
        state = answer.state;
        done += k;
        progress.value = done;
        status.textContent = `${done.toLocaleString("en")} / ${n.toLocaleString("en")} iterations, E_total = ${show(answer.final_error)}`;
      }
      status.textContent = `${s.stop ? "stopped after" : "trained"} ${done.toLocaleString("en")} iterations`
        + (s.history.length ? `; E_total = ${show(s.history[s.history.length - 1].E_total)}` : "");
    } catch (err) {
      error(`training: ${err.message}`);
    } finally {
      s.training = false;
      $("le-train").textContent = "Train";
      for (const b of locked) b.disabled = false;
      if (state !== s.current) {
        s.current = state;
        await showSample();
      }
    }
  }

  async function reset() {
    if (s.training || s.busy) return;
    s.current = structuredClone(s.served);
    s.history = [];
    curve();
    $("le-last").hidden = true;
    $("le-status").textContent = "";
    closeDock();
    await showSample();
    s.edited = false;
  }

  // a click (or Enter) on an editable value opens the Set box with its name and value
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-edit-name]");
    if (target && !target.closest("#le-dock")) openDock(target.dataset.editName);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("le-dock").hidden) closeDock();
    const target = event.target.closest ? event.target.closest("[data-edit-name]") : null;
    if (target && event.key === "Enter") {
      event.preventDefault();  // the Enter that opens the Set box must not also submit it
      if (target.tagName === "BUTTON") target.click();  // a kernel weight: selected too (maps.js), then the box
      else openDock(target.dataset.editName);
    }
  });
  $("le-dock").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await edit($("le-name").value.trim(), $("le-value").value, "le-dock-error")) closeDock();
  });
  $("le-cancel").addEventListener("click", closeDock);
  $("le-rate-set").addEventListener("click", () => edit("learning_rate", $("le-rate").value, "le-error"));
  $("le-rate").addEventListener("keydown", (event) => {
    if (event.key === "Enter") edit("learning_rate", $("le-rate").value, "le-error");
  });
  $("le-step").addEventListener("click", step);
  $("le-train").addEventListener("click", train);
  $("le-reset").addEventListener("click", reset);

  (async () => {  // the served network's state, and its parameters and inputs for the lists (the page draws itself)
    try {
      const served = await getJSON("/api/layers/state");
      if (served.refused) {  // too large to send back and forth: the page is shown, the panel says why it cannot edit
        $("le-hint").textContent = served.refused;
        mount.querySelectorAll("button, input").forEach((node) => { node.disabled = true; });
        mount.dataset.ready = "refused";
        return;
      }
      s.served = served.state;
      const where = served.kind === "maps" ? "a kernel weight or an input cell in the maps" : "an input in the first table";
      $("le-hint").textContent = `Click a value to give it a new one: any parameter in the list below, or ${where}. `
        + "Step takes one gradient-descent step, Train takes N; the server recomputes every number on the page.";
      s.current = structuredClone(served.state);
      panels(await postJSON("/api/layers/page", { state: s.current, sample: sample() }));
      mount.dataset.ready = "true";
    } catch (err) {
      error(err.message);
    }
  })();

  return { active: () => s.edited, show: showSample };
}

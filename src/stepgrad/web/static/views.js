// The derivation panel's other views of the same step: the chain rule (the page's own), the matrix
// form and the computation graph. The numbers come from the server (POST /api/view, the same trace
// as everything else); this file only shows them.

import { postJSON } from "./api.js";
import { DiagramView } from "./diagram.js";
import { showLazily } from "./lazy.js";

const VIEWS = [["steps", "Chain rule"], ["matrix", "Matrix form"], ["graph", "Computation graph"]];

/** Add the view toggle above #derivation; current() gives {spec, update_order, digits, selected}. */
export function setupViews(current) {
  const panel = document.getElementById("derivation");
  const bar = document.createElement("div");
  bar.className = "views";

  bar.setAttribute("role", "radiogroup");
  bar.setAttribute("aria-label", "How to show the step");
  for (const [value, text] of VIEWS) {
    const label = document.createElement("label");
    const radio = document.createElement("input");
    Object.assign(radio, { type: "radio", name: "view", value, checked: value === "steps" });
    radio.addEventListener("change", show);
    label.append(radio, ` ${text} `);
    bar.append(label);
  }
  const out = document.createElement("div");
  out.id = "view-output";
  out.className = "view-output";

  out.setAttribute("aria-live", "polite");
  out.hidden = true;
  panel.before(bar);
  panel.after(out);
  let seq = 0;

  async function show() {
    const view = bar.querySelector("input:checked").value;
    panel.hidden = view !== "steps";
    out.hidden = view === "steps";
    if (view === "steps") return;
    const mine = ++seq;
    const { spec, update_order, digits, selected } = current();
    const body = { spec, update_order, digits, view };
    out.textContent = "…";
    let result;
    try {
      // The graph narrows to the selected weight or bias when there is one (the server says if it is not).
      result = await postJSON("/api/view", view === "graph" && selected ? { ...body, only: selected } : body);
    } catch (err) {
      try {
        if (!(view === "graph" && selected && err.field === "only")) throw err;
        result = await postJSON("/api/view", body);
      } catch (err2) {
        if (mine === seq) out.textContent = err2.message;
        return;
      }
    }
    if (mine !== seq) return; // a newer request is on its way
    out.dataset.view = view;
    requestAnimationFrame(() => { document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1); });
    if (view === "graph") { // fitted to the panel, with the diagram's zoom and pan
      const holder = document.createElement("div");
      holder.className = "graph-view";
      const hint = Object.assign(document.createElement("p"), { className: "hint",
        textContent: selected ? `The part of the graph ${selected}'s gradient flows through (dashed: the operands it meets). `
          + "Zoom in to read it." : "Every multiply, add, activation and loss of the step. Select a weight in the diagram "
          + "to see only its part; zoom in to read it." });
      out.replaceChildren(hint, holder);
      const svg = result.svg; // laid out by Graphviz from the trace's computation graph; the server escapes names
      const box = /viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) ([0-9.]+)"/.exec(svg);
      const level = { digits: 6, width: box ? Number(box[1]) : 800, height: box ? Number(box[2]) : 600, svg };
      new DiagramView(holder, () => {}, { focus: false, fitFirst: true }).show([level], "graph");
      return;
    }
    // the server's writers escape every name; a big network's later blocks are asked for as they are scrolled to
    showLazily(out, result.html, async (block) => (await postJSON("/api/view", { ...body, block })).html);
  }

  // The page redraws the derivation after every change (network, order, digits, selection): follow it.
  new MutationObserver(() => { if (!out.hidden) show(); }).observe(panel, { childList: true });
}

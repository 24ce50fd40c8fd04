// The derivation panel's other views of the same step: the chain rule (the page's own), the matrix
// form and the computation graph. The numbers come from the server (POST /api/view, the same trace
// as everything else); this file only shows them.

import { postJSON } from "./api.js";

const VIEWS = [["steps", "Chain rule"], ["matrix", "Matrix form"], ["graph", "Computation graph"]];

/** Add the view toggle above #derivation; current() gives {spec, update_order, digits, selected}. */
export function setupViews(current) {
  const panel = document.getElementById("derivation");
  const bar = document.createElement("div");
  bar.className = "views";
  bar.style.cssText = "display:flex;flex-wrap:wrap;gap:.8rem;margin:.2rem 0 .6rem";
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
  out.style.cssText = "overflow:auto;max-height:85vh";
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
    out.innerHTML = result.html || result.svg; // the server's writers escape every name
    out.dataset.view = view;
  }

  // The page redraws the derivation after every change (network, order, digits, selection): follow it.
  new MutationObserver(() => { if (!out.hidden) show(); }).observe(panel, { childList: true });
}

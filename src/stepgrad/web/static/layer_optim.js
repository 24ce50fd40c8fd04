// The Edit and train panel's optimizer (web/layer_optimizer.py) and targets. Any optimizer of the registry
// (core/optim.py: gradient descent, momentum, Adam, torch.optim's SGD, Adam, AdamW, RMSprop, Adagrad, NAdam) with its
// hyperparameters: "Use" sends them, the server checks each (as torch.optim does) and answers the page with that
// optimizer; Step and Train then take its steps, its state (velocities, moments, t) carried in the page's state. The
// targets are listed under the parameters, each editable like an input. This module computes nothing.

import { formatNumber } from "./curve.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function hyperText(hyper) {
  const pairs = Object.entries(hyper || {});
  return pairs.length ? ` (${pairs.map(([k, v]) => `${k} = ${v}`).join(", ")})` : "";
}

/** The optimizer row in `mount` and the targets' table, kept up to date with every answer `editing` shows. */
export function attachOptimizer(editing, mount) {
  const choose = el("select", { id: "le-opt", "aria-label": "optimizer" });
  const fields = el("span", { id: "le-hyper", class: "le-hyper" });
  const use = el("button", { type: "button", id: "le-opt-set", text: "Use" });
  const line = el("p", { id: "le-opt-line", class: "le-hint", "aria-live": "polite" });
  mount.append(el("div", { class: "le-row", role: "group", "aria-label": "Optimizer" },
    el("label", { for: "le-opt", text: "optimizer" }), choose, fields, use), line);
  let current = null;  // the answer's optimizer: {name, title, hyper, t}

  function showFields(name) {
    const entry = editing.optimizers().find((o) => o.name === name);
    const values = current && current.name === name ? current.hyper : entry ? entry.hyper : {};
    fields.replaceChildren(...Object.keys(entry ? entry.hyper : {}).map((key) => el("label", { class: "le-hyper-field",
      title: entry.notes[key] || key }, `${key} `, el("input", { type: "text", inputmode: "decimal", size: "6",
      "data-hyper": key, value: String(values[key]), "aria-label": `${key}: ${entry.notes[key] || key}` }))));
  }

  editing.onAnswer((answer) => {
    if (!choose.options.length) {
      choose.replaceChildren(...editing.optimizers().map((o) => el("option", { value: o.name, text: `${o.name}: ${o.title}` })));
    }
    current = answer.optimizer;
    const typing = document.activeElement && fields.contains(document.activeElement);
    if (current && !typing) {  // the select and fields show the optimizer in use
      choose.value = current.name;
      showFields(current.name);
    }
    if (current) {
      line.textContent = `Step and Train use ${current.title}${hyperText(current.hyper)}`
        + (current.name === "sgd" ? "" : `, its state after ${current.t.toLocaleString("en")} steps`)
        + ". Choosing another optimizer starts it from zero; new hyperparameters of the same one apply from the next step.";
    }
    targets(answer.targets || []);
  });

  choose.addEventListener("change", () => showFields(choose.value));
  use.addEventListener("click", () => {
    const hyper = {};
    for (const input of fields.querySelectorAll("input[data-hyper]")) hyper[input.dataset.hyper] = input.value.trim();
    editing.send("/api/layers/optimizer", { name: choose.value, hyper });
  });

  function targets(list) {  // a table of every sample's targets under the parameters (click one to set it)
    const tables = document.getElementById("le-tables");
    if (!tables || !list.length) return;
    let box = document.getElementById("le-target-list");
    if (!box) {
      box = el("div", { id: "le-target-list" });
      tables.after(box);
    }
    const rows = list.map((t) => el("tr", {}, el("th", { scope: "row", text: t.name }),
      el("td", { class: "le-value", "data-edit-name": t.name, "data-name": t.name, tabindex: "0",
        title: `${t.name} = ${t.value} (click to edit)`, text: formatNumber(t.value, 6) })));
    box.replaceChildren(el("div", { class: "le-table", id: "le-targets" }, el("h4", { text: "targets (the samples')" }),
      el("div", { class: "le-scroll" }, el("table", { class: "le-grid" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "name" }), el("th", { scope: "col", text: "value" }))),
        el("tbody", {}, ...rows)))));
  }
}

// The maps page of a layer-table network (web/maps.py): every feature map as grids of its values; a click on a
// kernel weight marks the input cells it meets and the output positions it touches, and lists its plan. Every
// number is the trace's (GET /api/maps); this page only formats them.

import { attachEditing } from "./layer_edit.js";

const DIGITS = 4;

function fmt(value) {
  if (value === null || value === undefined) return "";
  return String(Number(value.toPrecision(DIGITS)));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(message) {
  const box = document.getElementById("maps-error");
  box.textContent = message;
  box.hidden = !message;
}

// One map: a grid per channel, each cell carrying its position (data-pos "channel,row,column", "channel,index"
// or "unit") so that a kernel weight's positions can be found.
function mapBlock(title, grids) {
  const block = el("div", {class: "map", "data-map": title}, el("h4", {text: title}));
  const channels = el("div", {class: "channels"});
  for (const grid of grids || []) {
    const box = el("div", {class: "channel"});
    if (grid.channel !== null) box.append(el("div", {class: "label", text: `channel ${grid.channel}`}));
    const table = el("table", {class: "cells"});
    grid.rows.forEach((row, r) => {
      const tr = el("tr");
      row.forEach((value, c) => {
        let pos;
        if (grid.channel === null) pos = `${c + 1}`;
        else if (grid.rows.length === 1 && grids.oneD) pos = `${grid.channel},${c + 1}`;
        else pos = `${grid.channel},${r + 1},${c + 1}`;
        tr.append(el("td", {"data-pos": pos, title: `${title}[${pos}] = ${value}`, text: fmt(value)}));
      });
      table.append(tr);
    });
    box.append(table);
    channels.append(box);
  }
  block.append(channels);
  return block;
}

function clearMarks(root) {
  root.querySelectorAll("td.met, td.touched").forEach((td) => td.classList.remove("met", "touched"));
  root.querySelectorAll('button.weight[aria-pressed="true"]').forEach((b) => b.setAttribute("aria-pressed", "false"));
}

function mark(root, mapName, pos, cls) {
  const block = root.querySelector(`.map[data-map="${CSS.escape(mapName)}"]`);
  if (!block) return;
  const cell = block.querySelector(`td[data-pos="${pos}"]`);
  if (cell) cell.classList.add(cls);
}

function select(root, kernel, entry, layer, plan, button) {
  clearMarks(root);
  button.setAttribute("aria-pressed", "true");
  for (const touch of entry.touches) {
    if (touch.in) mark(root, kernel.input, touch.in.join(","), "met");
    for (const name of layer.maps) mark(root, name, touch.out.join(","), "touched");
  }
  plan.replaceChildren();
  plan.hidden = false;
  const where = entry.plan || `it touches ${entry.touches.length} positions of ${layer.label}'s channel ${entry.position[0]}`;
  plan.append(el("p", {text: `${entry.name} = ${fmt(entry.value)}: ${where}. The positions are marked blue; at each `
    + `it meets one cell of ${kernel.input} (marked yellow). Its gradient is the sum over those positions of the `
    + `error signal there times the cell it met.`}));
  const list = el("ol");
  for (const touch of entry.touches) {
    list.append(el("li", {text: `at (${touch.out.slice(1).join(",")}): ${touch.input} = ${fmt(touch.factor)}, `
      + `dE_total/d${kernel.output}[${touch.out.join(",")}] = ${fmt(touch.signal)}`}));
  }
  plan.append(list);
  const after = entry.updated === null ? "" : `; after the update ${entry.name}+ = ${fmt(entry.updated)}`;
  plan.append(el("p", {text: `dE_total/d${entry.name} = ${fmt(entry.gradient)}${after}.`}));
}

function kernelBlock(root, kernel, layer) {
  const block = el("div", {class: "map kernel", "data-kernel": kernel.name},
    el("h4", {text: `${kernel.name}: ${kernel.shape.join(" × ")} (out channel, in channel, rows, columns) — click a weight`}));
  const channels = el("div", {class: "channels"});
  const plan = el("div", {class: "plan", "aria-live": "polite", hidden: ""});
  const [outs, ins] = kernel.shape;
  const rows = kernel.shape.length === 4 ? kernel.shape[2] : 1;
  const cols = kernel.shape[kernel.shape.length - 1];
  for (let o = 1; o <= outs; o++) {
    for (let i = 1; i <= ins; i++) {
      const box = el("div", {class: "channel"}, el("div", {class: "label", text: `[${o},${i},·,·]`}));
      const table = el("table", {class: "cells"});
      for (let r = 1; r <= rows; r++) {
        const tr = el("tr");
        for (let c = 1; c <= cols; c++) {
          const position = kernel.shape.length === 4 ? [o, i, r, c] : [o, i, c];
          const entry = kernel.entries.find((e) => e.position.join(",") === position.join(","));
          const button = el("button", {type: "button", class: "weight", "aria-pressed": "false",
            "data-name": entry.name, title: `${entry.name} = ${entry.value}`, text: fmt(entry.value)});
          button.addEventListener("click", () => select(root, kernel, entry, layer, plan, button));
          tr.append(el("td", {}, button));
        }
        table.append(tr);
      }
      box.append(table);
      channels.append(box);
    }
  }
  block.append(channels, plan);
  return block;
}

function draw(data) {
  const root = document.getElementById("maps");
  root.replaceChildren();
  const oneD = (shape) => shape.length === 2;
  const input = el("div", {class: "layer"}, el("h3", {text: "x · the input"}));
  const grids = data.maps.x;
  if (grids) grids.oneD = data.network.length && oneD(data.network[0].shape);
  input.append(mapBlock("x", grids));
  root.append(input);
  for (const layer of data.network) {
    const section = el("div", {class: "layer", "data-layer": layer.label},
      el("h3", {text: `${layer.label} · ${layer.kind}`}), el("p", {class: "what", text: layer.description}));
    const kernel = data.kernels.find((k) => k.layer === layer.label);
    if (kernel) section.append(kernelBlock(root, kernel, layer));
    const row = el("div", {class: "layer-maps"});  // side by side where the screen is wide enough
    for (const name of layer.maps) {
      const mapGrids = data.maps[name];
      if (mapGrids) mapGrids.oneD = oneD(layer.shape);
      row.append(mapBlock(name, mapGrids));
    }
    section.append(row);
    root.append(section);
  }
  const summary = document.getElementById("maps-summary");
  summary.textContent = `${data.network.map((l) => l.description).join(" → ")}. E_total = ${fmt(data.error)}`
    + (data.samples > 1 ? ` (sample ${data.sample} of ${data.samples}: its maps, its E_total and the gradients of a step on `
      + "it alone; the parameter list above gives the batch's)" : "") + ".";
}

async function load(sample) {
  if (editing.active()) return editing.show(sample);  // an edited network: recomputed by the server (layer_edit.js)
  showError("");
  const response = await fetch(`/api/maps?sample=${sample}`);
  const data = await response.json();
  if (!response.ok) {
    showError(data.error || `the server answered ${response.status}`);
    return null;
  }
  draw(data);
  return data;
}

async function start() {
  const data = await load(1);
  if (!data) return;
  const choose = document.getElementById("maps-sample");
  for (let s = 1; s <= data.samples; s++) choose.append(el("option", {value: String(s), text: String(s)}));
  choose.addEventListener("change", () => load(Number(choose.value)));
}

const editing = attachEditing({ mount: document.getElementById("layer-edit"), draw,
  sample: () => Number(document.getElementById("maps-sample").value || 1), roots: [document.getElementById("maps")] });
start();

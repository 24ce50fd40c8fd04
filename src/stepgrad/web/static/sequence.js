// The sequence page: fetches GET /api/sequence?sample=S and shows its panels. It computes nothing: every number
// comes with its name from the server (stepgrad/web/sequence.py); this file only lays them out.

import { attachEditing } from "./layer_edit.js";

const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function shown(value, digits) {
  if (!Number.isFinite(value)) return String(value);
  const text = value.toPrecision(digits);
  return text.includes("e") ? text : String(Number(text));
}

function numberCell(cell, digits, extra = "") {
  if (cell === null) return element("td", { class: `none ${extra}`.trim() }, "–");
  const td = element("td", { title: cell.name, "data-name": cell.name, tabindex: "0",
    class: extra, "aria-label": `${cell.name} = ${shown(cell.value, digits)}` }, shown(cell.value, digits));
  return td;
}

function grid(panel, digits) {
  const table = element("table", { class: "grid" });
  table.append(element("caption", { class: "sr-only" }, panel.title));
  const head = element("tr");
  head.append(element("th", { scope: "col" }, "quantity"));
  for (const column of panel.columns) head.append(element("th", { scope: "col" }, column));
  table.appendChild(element("thead")).append(head);
  const body = table.appendChild(element("tbody"));
  for (const row of panel.rows) {
    const tr = body.appendChild(element("tr"));
    tr.append(element("th", { scope: "row" }, row.label));
    row.cells.forEach((cell, k) => {
      tr.append(numberCell(cell, digits, panel.columns[k] === "sum" ? "sum" : ""));
    });
  }
  return table;
}

// Weights a[i,j] from 0 to 1: white to blue; scores: blue below 0, orange above, by their largest size.
function shade(which, value, largest) {
  if (which === "a") {
    const t = Math.max(0, Math.min(1, value));
    return [`rgb(${Math.round(255 - 200 * t)}, ${Math.round(255 - 150 * t)}, ${Math.round(255 - 60 * t)})`, t > 0.55];
  }
  const t = largest > 0 ? Math.min(1, Math.abs(value) / largest) : 0;
  const colour = value < 0 ? [255 - 170 * t, 255 - 120 * t, 255 - 30 * t] : [255 - 20 * t, 255 - 110 * t, 255 - 190 * t];
  return [`rgb(${colour.map(Math.round).join(", ")})`, t > 0.6];
}

function heatmap(panel, digits) {
  const table = element("table", { class: "grid heat", "data-which": panel.which });
  const head = element("tr");
  head.append(element("th", { scope: "col" }, ""));
  for (const column of panel.columns) head.append(element("th", { scope: "col" }, column));
  table.appendChild(element("thead")).append(head);
  const body = table.appendChild(element("tbody"));
  const largest = Math.max(0, ...panel.cells.flat().filter((c) => c !== null).map((c) => Math.abs(c.value)));
  panel.cells.forEach((row, i) => {
    const tr = body.appendChild(element("tr"));
    tr.append(element("th", { scope: "row" }, panel.rows[i]));
    for (const cell of row) {
      if (cell === null) {
        tr.append(element("td", { class: "masked", title: "masked: a key after the query (a = 0)" }, "masked"));
        continue;
      }
      const td = numberCell(cell, digits);
      const [background, dark] = shade(panel.which, cell.value, largest);
      td.style.background = background;
      if (dark) td.style.color = "#fff";
      tr.append(td);
    }
  });
  return table;
}

function render(data) {
  const digits = Number($("digits").value);
  $("layers").replaceChildren(...data.layers.map((line) => element("li", {}, line)));
  $("total").textContent = shown(data.E_total, digits);
  const panels = data.panels.map((panel, k) => {
    const section = element("section", { class: "panel", "data-kind": panel.kind, "aria-labelledby": `panel-${k}` });
    section.append(element("h3", { id: `panel-${k}` }, panel.title));
    const wrap = section.appendChild(element("div", { class: "scroll" }));
    wrap.append(panel.kind === "heatmap" ? heatmap(panel, digits) : grid(panel, digits));
    if (panel.kind === "heatmap" && panel.which === "a") {
      section.append(element("p", { class: "note" }, "Darker: a larger weight. Each row (a query) adds to 1."));
    }
    return section;
  });
  $("panels").replaceChildren(...panels);
}

let last = null;

async function load(sample) {
  if (editing.active()) return editing.show(Number(sample));  // an edited network: recomputed by the server (layer_edit.js)
  const answer = await fetch(`/api/sequence?sample=${sample}`);
  const data = await answer.json();
  if (!answer.ok) {
    $("error").textContent = data.error;
    $("error").hidden = false;
    return;
  }
  $("error").hidden = true;
  last = data;
  if ($("sample").options.length !== data.samples) {
    $("sample").replaceChildren(...Array.from({ length: data.samples }, (_, k) =>
      element("option", { value: String(k + 1) }, String(k + 1))));
  }
  $("sample").value = String(data.sample);
  render(data);
}

const editing = attachEditing({ mount: $("layer-edit"), draw: (data) => { last = data; render(data); },
  sample: () => Number($("sample").value || 1), roots: [$("panels")] });
$("sample").addEventListener("change", () => load($("sample").value));
$("digits").addEventListener("change", () => last && render(last));
load(1).finally(() => { document.body.dataset.ready = "true"; });

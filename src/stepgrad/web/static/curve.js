// The loss curve, drawn as SVG: E_total (log scale) against the iteration.

const NS = "http://www.w3.org/2000/svg";
const H = 220, LEFT = 62, RIGHT = 12, TOP = 12, BOTTOM = 34;
let W = 480; // the picture's width: the room it has on screen, so its text is drawn at its own size

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

let chosenDigits = 9;

/** The page's one number format follows the digits control: set it here. */
export function setDigits(digits) { chosenDigits = digits; }

/** x to `digits` significant digits written as the server writes them (Python's "g": 0.0123, 3.51e-05). */
export function formatNumber(x, digits = chosenDigits) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const [mantissa, exp] = x.toExponential(digits - 1).split("e");
  const e = Number(exp);
  const trim = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (e < -4 || e >= digits) return `${trim(mantissa)}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return trim(x.toFixed(Math.max(0, digits - 1 - e)));
}

const STEPS = [1, 2, 3, 5, 10, 20, 25, 50, 100];

/** The decades of a log axis from 10^y0 to 10^y1 (whole numbers): at most 8 labelled, the rest as faint lines. */
export function logTicks(y0, y1) {
  const span = y1 - y0;
  const step = STEPS.find((k) => Math.floor(y1 / k) - Math.ceil(y0 / k) + 1 <= 8) ?? Math.ceil(span / 7);
  const labelled = [];
  for (let e = Math.ceil(y0 / step) * step; e <= y1; e += step) labelled.push(e);
  const minor = [];
  if (step > 1 && span <= 60) for (let e = y0; e <= y1; e++) if (e % step !== 0) minor.push(e);
  return { labelled, minor };
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** 10 to the power e, written 10⁻³ (1 for e = 0, 10 for e = 1). */
function power(e) {
  if (e === 0) return "1";
  if (e === 1) return "10";
  return `10${String(e).replace(/./g, (c) => SUPERSCRIPT[c])}`;
}

/** Hover or touch the curve: a line and a label give the iteration and E_total of the nearest point (of each
 *  run when two are drawn). */
function addReadout(svg, runs, px, py) {
  const points = runs[0].points;
  const mark = el("g", { class: "curve-readout", visibility: "hidden" });
  const line = el("line", { y1: TOP, y2: H - BOTTOM, class: "curve-cursor" });
  const dot = el("circle", { r: 4, class: "curve-dot" });
  const card = el("rect", { height: 18, rx: 3, class: "curve-card" });
  const text = el("text", { class: "curve-label strong" });
  mark.append(line, dot, card, text);
  svg.append(mark);
  const nearest = (list, x) => {
    let best = list[0];
    for (const p of list) if (Math.abs(px(p.iteration) - x) < Math.abs(px(best.iteration) - x)) best = p;
    return best;
  };
  const move = (event) => {
    const m = svg.getScreenCTM();
    if (!m) return;
    const x = (event.clientX - m.e) / m.a;
    const best = nearest(points, x);
    const cx = px(best.iteration), cy = py(Math.log10(best.E_total));
    line.setAttribute("x1", cx); line.setAttribute("x2", cx);
    dot.setAttribute("cx", cx); dot.setAttribute("cy", cy);
    // one line; with two runs, one line for the iteration and one per run (narrow enough for a phone)
    const lines = runs.length === 1
      ? [`iteration ${best.iteration.toLocaleString("en")}: E_total = ${formatNumber(best.E_total)}`]
      : [`iteration ${best.iteration.toLocaleString("en")}`, ...runs.map((run) => {
        const p = nearest(run.points, x);
        return `${run.label}: ${formatNumber(p.E_total, 6)}${p.iteration === best.iteration ? "" : ` (at ${p.iteration.toLocaleString("en")})`}`;
      })];
    text.replaceChildren(...lines.map((line, k) => el("tspan", { dy: k ? 14 : 0 }, line)));
    const width = Math.max(...[...text.children].map((t) => t.getComputedTextLength())) + 10;
    const height = 18 + 14 * (lines.length - 1);
    let left = cx + 8;  // right of the line, or left of it near the right edge
    if (left + width > W - RIGHT) left = Math.max(LEFT + 2, cx - 8 - width);
    if (left + width > W - RIGHT) left = Math.max(2, W - RIGHT - width);
    const top = cy < TOP + 20 + height ? cy + 10 : cy - 10 - height;
    card.setAttribute("x", left); card.setAttribute("y", top); card.setAttribute("width", width); card.setAttribute("height", height);
    text.setAttribute("x", left + 5); text.setAttribute("y", top + 13);
    for (const t of text.children) t.setAttribute("x", left + 5);
    mark.setAttribute("visibility", "visible");
  };
  svg.onpointermove = move;
  svg.onpointerdown = move;
  svg.onpointerleave = () => mark.setAttribute("visibility", "hidden");
}

/** Draw `points` ([{iteration, E_total}]) into the <svg> element; an empty list shows a hint. `others`
 *  ([{label, points}]) are further runs drawn dashed beside it (the other update order), with a legend that
 *  names `label` (the first run) and each of them. */
export function drawCurve(svg, points, { label = "", others = [] } = {}) {
  svg.replaceChildren();
  W = Math.round(Math.max(300, Math.min(760, svg.clientWidth || 480)));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const usableOf = (list) => list.filter((p) => p.E_total > 0 && Number.isFinite(p.E_total));
  const runs = [{ label, points: usableOf(points) }, ...others.map((o) => ({ label: o.label, points: usableOf(o.points) }))]
    .filter((run, k) => k === 0 || run.points.length >= 2);
  const usable = runs[0].points;
  if (usable.length < 2) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "curve-hint" },
      "Train to draw the error curve"));
    return;
  }
  const all = runs.flatMap((run) => run.points);
  const xs = all.map((p) => p.iteration), ys = all.map((p) => Math.log10(p.E_total));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.floor(Math.min(...ys)), y1 = Math.ceil(Math.max(...ys));
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const px = (x) => LEFT + ((x - x0) / Math.max(1, x1 - x0)) * (W - LEFT - RIGHT);
  const py = (y) => TOP + ((y1 - y) / (y1 - y0)) * (H - TOP - BOTTOM);
  svg.append(el("rect", { x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - TOP - BOTTOM, class: "curve-frame" }));
  const { labelled, minor } = logTicks(y0, y1);
  for (const e of minor) svg.append(el("line", { x1: LEFT, x2: W - RIGHT, y1: py(e), y2: py(e), class: "curve-grid minor" }));
  for (const e of labelled) {
    svg.append(el("line", { x1: LEFT, x2: W - RIGHT, y1: py(e), y2: py(e), class: "curve-grid" }));
    svg.append(el("text", { x: LEFT - 6, y: py(e) + 4, "text-anchor": "end", class: "curve-label tick" }, power(e)));
  }
  for (const x of [x0, x1]) {
    svg.append(el("text", { x: px(x), y: H - 12, "text-anchor": x === x0 ? "start" : "end", class: "curve-label" },
      x.toLocaleString("en")));
  }
  svg.append(el("text", { x: (LEFT + W) / 2, y: H - 12, "text-anchor": "middle", class: "curve-label" }, "iteration"));
  const lasts = [];
  runs.slice().reverse().forEach((run, r) => { // the first run on top
    const k = runs.length - 1 - r;
    const d = run.points.map((p, i) => `${i ? "L" : "M"}${px(p.iteration).toFixed(1)},${py(Math.log10(p.E_total)).toFixed(1)}`).join("");
    svg.append(el("path", { d, class: k ? "curve-line other" : "curve-line" }));
    const last = run.points[run.points.length - 1];
    svg.append(el("circle", { cx: px(last.iteration), cy: py(Math.log10(last.E_total)), r: 3.5, class: k ? "curve-dot other" : "curve-dot" }));
    lasts[k] = last;
  });
  const last = lasts[0];
  if (runs.length === 1) {
    svg.append(el("text", { x: W - RIGHT - 4, y: TOP + 14, "text-anchor": "end", class: "curve-label strong" },
      `E_total = ${formatNumber(last.E_total, 6)} at ${last.iteration.toLocaleString("en")}`));
  } else { // the legend: a sample of each line, its run's name and where it ended
    const legend = el("g", { class: "curve-legend" });
    runs.forEach((run, k) => {
      const y = TOP + 16 + 16 * k, end = lasts[k];
      legend.append(el("line", { x1: W - RIGHT - 30, x2: W - RIGHT - 6, y1: y - 4, y2: y - 4, class: k ? "curve-line other" : "curve-line" }));
      legend.append(el("text", { x: W - RIGHT - 36, y, "text-anchor": "end", class: "curve-label strong" },
        `${run.label}: E_total = ${formatNumber(end.E_total, 6)}`));
    });
    const box = el("rect", { class: "curve-card" });
    svg.append(box, legend);
    const b = legend.getBBox ? legend.getBBox() : null;
    if (b && b.width) for (const [k, v] of Object.entries({ x: b.x - 4, y: b.y - 2, width: b.width + 8, height: b.height + 4 })) box.setAttribute(k, v);
  }
  addReadout(svg, runs, px, py);
  svg.setAttribute("aria-label", runs.length === 1
    ? `Error curve from iteration ${x0} to ${x1}: E_total falls to ${formatNumber(last.E_total, 6)}`
    : `Error curves from iteration ${x0} to ${x1}: ` + runs.map((run, k) => `${run.label} ends at E_total ${formatNumber(lasts[k].E_total, 6)}`).join("; "));
}

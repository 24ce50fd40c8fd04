// The loss curve, drawn as SVG: E_total (log scale) against the iteration.

const NS = "http://www.w3.org/2000/svg";
const W = 480, H = 220, LEFT = 62, RIGHT = 12, TOP = 12, BOTTOM = 34;

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

/** Draw `points` ([{iteration, E_total}]) into the <svg> element; an empty list shows a hint. */
export function drawCurve(svg, points) {
  svg.replaceChildren();
  const usable = points.filter((p) => p.E_total > 0 && Number.isFinite(p.E_total));
  if (usable.length < 2) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "curve-hint" },
      "Train to draw the error curve"));
    return;
  }
  const xs = usable.map((p) => p.iteration), ys = usable.map((p) => Math.log10(p.E_total));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.floor(Math.min(...ys)), y1 = Math.ceil(Math.max(...ys));
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const px = (x) => LEFT + ((x - x0) / Math.max(1, x1 - x0)) * (W - LEFT - RIGHT);
  const py = (y) => TOP + ((y1 - y) / (y1 - y0)) * (H - TOP - BOTTOM);
  svg.append(el("rect", { x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - TOP - BOTTOM, class: "curve-frame" }));
  for (let e = y0; e <= y1; e++) {
    svg.append(el("line", { x1: LEFT, x2: W - RIGHT, y1: py(e), y2: py(e), class: "curve-grid" }));
    svg.append(el("text", { x: LEFT - 6, y: py(e) + 4, "text-anchor": "end", class: "curve-label" }, `1e${e}`));
  }
  for (const x of [x0, x1]) {
    svg.append(el("text", { x: px(x), y: H - 12, "text-anchor": x === x0 ? "start" : "end", class: "curve-label" },
      x.toLocaleString("en")));
  }
  svg.append(el("text", { x: (LEFT + W) / 2, y: H - 12, "text-anchor": "middle", class: "curve-label" }, "iteration"));
  const d = usable.map((p, i) => `${i ? "L" : "M"}${px(p.iteration).toFixed(1)},${py(Math.log10(p.E_total)).toFixed(1)}`).join("");
  svg.append(el("path", { d, class: "curve-line" }));
  const last = usable[usable.length - 1];
  svg.append(el("circle", { cx: px(last.iteration), cy: py(Math.log10(last.E_total)), r: 3.5, class: "curve-dot" }));
  svg.append(el("text", { x: W - RIGHT - 4, y: TOP + 14, "text-anchor": "end", class: "curve-label strong" },
    `E_total = ${formatNumber(last.E_total, 6)} at ${last.iteration.toLocaleString("en")}`));
  svg.setAttribute("aria-label", `Error curve from iteration ${x0} to ${x1}: E_total falls to ${formatNumber(last.E_total, 6)}`);
}

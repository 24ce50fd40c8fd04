// Values flowing: when Next or Back reaches a forward stage, a dot runs along every edge of each layer in
// turn, from the inputs to the outputs, and each neuron's net and out appear as its dots arrive; when it
// reaches a backward stage, error signals run back from the layer's neurons along its edges, and each edge's
// gradient label appears as its signal gets there. The numbers are the diagram's own (the trace's); this file
// only times their appearance. Nothing moves when the reader asks for reduced motion.

const NS = "http://www.w3.org/2000/svg";
const RUN = 900;      // ms a dot takes along one edge
const PAUSE = 150;    // ms between two layers
const MOST = 48;      // dots per layer at most (a big network: its largest edges)

/** True when the reader's system asks for less motion. */
export function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

/** The weight layers a stage runs through, in order, and which way: [[l, forward], ...] (l 0-based). */
function runs(stage, meta) {
  const layers = meta.weights.length;
  if (stage.key === "forward" || stage.key === "after") return [...Array(layers).keys()].map((l) => [l, true]);
  const m = /^backward_(\d+)$/.exec(stage.key);
  if (m && !stage.weight) return [[Number(m[1]) - 1, false]];
  return [];
}

/** Animate `stage` on the diagram `svg` (meta: the trace's names); returns how long it runs (ms), 0 if nothing. */
export function animateStage(svg, stage, meta) {
  if (!svg || !stage || reducedMotion()) return 0;
  const plan = runs(stage, meta);
  if (!plan.length) return 0;
  const layer = document.createElementNS(NS, "g");
  layer.setAttribute("class", "sg-flow");
  layer.setAttribute("aria-hidden", "true");
  svg.append(layer);
  let start = 0;
  for (const [l, forward] of plan) {
    const edges = meta.weights[l].flat().map((w) => svg.querySelector(`line[data-name="${CSS.escape(w)}"]`)).filter(Boolean);
    const value = (e) => Math.abs(Number(e.dataset.value) || 0);
    const shown = edges.length > MOST ? [...edges].sort((a, b) => value(b) - value(a)).slice(0, MOST) : edges;
    for (const edge of shown) {
      const [x1, y1, x2, y2] = ["x1", "y1", "x2", "y2"].map((k) => Number(edge.getAttribute(k)));
      const [from, to] = forward ? [[x1, y1], [x2, y2]] : [[x2, y2], [x1, y1]];
      const dot = document.createElementNS(NS, "circle");
      dot.setAttribute("r", "5");
      dot.setAttribute("class", forward ? "sg-flow-value" : "sg-flow-error");
      dot.style.opacity = "0";
      layer.append(dot);
      dot.animate([
        { transform: `translate(${from[0]}px, ${from[1]}px)`, opacity: 1 },
        { transform: `translate(${to[0]}px, ${to[1]}px)`, opacity: 1 },
      ], { duration: RUN, delay: start, easing: "ease-in-out" });
      // what the dot brings appears when it arrives: the edge's gradient label going back
      if (!forward) reveal(svg.querySelector(`g[id="label-${CSS.escape(edge.dataset.name)}"]`), start + RUN * 0.8);
    }
    // going forward, the neurons of the next layer show their net and out as their dots arrive
    if (forward) {
      for (const name of meta.neurons[l + 1]) {
        for (const text of svg.querySelectorAll(`g[id="neuron-${CSS.escape(name)}"] .sg-value`)) reveal(text, start + RUN);
      }
    }
    start += RUN + PAUSE;
  }
  setTimeout(() => layer.remove(), start + 50);
  return start;
}

function reveal(node, delay) {
  if (!node) return;
  node.animate([{ opacity: 0 }, { opacity: 0, offset: 0.999 }, { opacity: 1 }], { duration: delay, easing: "linear" });
}

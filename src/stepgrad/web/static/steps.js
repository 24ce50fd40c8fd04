// One step of a derivation as the page shows it; the MathML comes from the server.

const MATH = "http://www.w3.org/1998/Math/MathML";
const BREAKS = new Set(["=", "+", "\u2212", "\u00b7"]); // = + − ·

/** Cut one <math> into a row of inline <math>, one per top-level term (never inside parentheses),
 *  so the browser wraps a long formula between terms instead of cutting it. */
function splitTerms(math) {
  const row = math.querySelector("semantics > mrow") || math.querySelector("mrow");
  if (!row || row.parentNode.closest("mrow")) return [math];
  const terms = [];
  let current = [], depth = 0;
  for (const child of [...row.children]) {
    const text = child.textContent;
    if (depth === 0 && child.localName === "mo" && BREAKS.has(text.trim()) && current.length) {
      terms.push(current);
      current = [];
    }
    current.push(child);
    depth += (text.match(/\(/g) || []).length - (text.match(/\)/g) || []).length;
  }
  if (current.length) terms.push(current);
  if (terms.length < 2) return [math];
  return terms.map((nodes) => {
    const piece = document.createElementNS(MATH, "math");
    const mrow = document.createElementNS(MATH, "mrow");
    nodes.forEach((n, i) => {
      if (i === 0 && n.localName === "mo") n.setAttribute("form", "infix");
      mrow.append(n);
    });
    piece.append(mrow);
    return piece;
  });
}

function mathBlock(html, className) {
  const div = document.createElement("div");
  div.className = className;
  div.innerHTML = html; // MathML from stepgrad.formats.mathml
  const math = div.querySelector("math");
  if (math) {
    const latex = math.querySelector("annotation");
    if (latex) div.dataset.latex = latex.textContent; // copy as LaTeX from here
    math.setAttribute("display", "inline"); // inline, left-aligned; math-style keeps display-size fractions
    const terms = splitTerms(math);
    if (terms.length > 1) {
      const parts = [];
      terms.forEach((t, i) => { if (i) parts.push(document.createElement("wbr")); parts.push(t); });
      math.replaceWith(...parts);
    }
  }
  return div;
}

/** One step of a derivation: formula, numbers substituted, value (MathML), and its paths. */
export function stepNode(step) {
  const node = document.createElement("div");
  node.className = `step kind-${step.kind}`;
  node.dataset.step = step.name;
  if (step.formula) {
    const rule = (div, text) => {
      if (text) div.append(Object.assign(document.createElement("span"), { className: "rule", textContent: ` ${text}` }));
      return div;
    };
    node.append(rule(mathBlock(step.formula, "eq"), step.rule));
    for (const row of step.derivation || []) node.append(rule(mathBlock(row.mathml, "eq derived"), row.rule)); // derived rows
    if (step.substituted) node.append(mathBlock(step.substituted, "eq substituted"));
    const text = document.createElement("p");
    text.className = "eq-text";
    text.textContent = step.text;
    node.append(text);
  } else {
    node.textContent = `${step.name} = ${step.shown}`;
  }
  if (step.note) node.append(Object.assign(document.createElement("p"), { className: "note", textContent: step.note }));
  if (step.paths && step.paths.length) {
    const details = document.createElement("div");
    details.className = "paths";
    details.append(Object.assign(document.createElement("p"), {
      textContent: `Every path from ${step.subject} to the outputs (${step.paths.length}); their sum is ${step.name}:`,
    }));
    for (const p of step.paths) details.append(mathBlock(p.mathml, "eq path"));
    node.append(details);
  } else if (step.path_count > 0 && !(step.paths && step.paths.length)) {
    node.append(Object.assign(document.createElement("p"), { className: "note", textContent: `${step.path_count} paths to the outputs (too many to list).` }));
  }
  return node;
}

// One step of a derivation as the page shows it; the MathML comes from the server.

function mathBlock(html, className) {
  const div = document.createElement("div");
  div.className = className;
  div.innerHTML = html; // MathML from stepgrad.render.mathml
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

// The stages the step controls walk through, from the trace's sections and names.

/** The stages of a training step: one per trace section, one per weight of a backward pass. */
export function buildStages(result) {
  const stages = [];
  result.sections.forEach((sec, index) => {
    stages.push({ index, key: sec.key, title: sec.title });
    const m = sec.key.match(/^backward_(\d+)$/);
    const weights = m ? result.meta.weights[Number(m[1]) - 1].flat() : [];
    if (weights.length <= 64) {
      for (const w of weights) stages.push({ index, key: sec.key, title: `${sec.title}: ${w}`, weight: w });
    }
  });
  return stages;
}

/** What the diagram puts on the edges at `stage` (the `show` option of /api/explain). */
export function stageShow(stage) {
  if (!stage) return "weights";
  if (stage.key.startsWith("backward")) return "gradients";
  if (stage.key.startsWith("update") || stage.key === "after" || stage.key === "error_after") return "updated";
  return "weights";
}

/** Names to highlight in the diagram at `stage`: the neurons, edges or error it is about. */
export function highlighted(stage, meta) {
  const names = new Set();
  if (!stage) return names;
  if (stage.weight) names.add(stage.weight);
  else if (stage.key === "forward" || stage.key === "after") meta.neurons.slice(1).flat().forEach((n) => names.add(n));
  else if (stage.key.startsWith("error")) { meta.neurons[meta.neurons.length - 1].forEach((n) => names.add(n)); names.add("E_total"); }
  else if (stage.key.startsWith("backward_")) {
    const l = Number(stage.key.split("_")[1]);
    meta.weights[l - 1].flat().forEach((w) => names.add(w));
    meta.neurons[l].forEach((n) => names.add(n));
  } else if (stage.key.startsWith("update")) meta.weights.flat(2).forEach((w) => names.add(w));
  return names;
}

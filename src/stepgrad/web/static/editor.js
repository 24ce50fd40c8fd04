// The spec editor: a form built from the spec and the trace's names; every change hands the
// edited spec (a JSON object in the TOML schema) to `onChange`. The server validates it.

const MAX_FIELDS = 400; // a bigger network is edited as a file (download, edit, upload)

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children);
  return node;
}

function numberField(id, label, value, onValue, title) {
  const input = h("input", { id, type: "text", inputmode: "decimal", value: String(value), size: 8, title });
  input.addEventListener("change", () => {
    const x = Number(input.value.trim());
    if (input.value.trim() === "" || !Number.isFinite(x)) {
      input.setAttribute("aria-invalid", "true");
      onValue(null, `${label}: "${input.value}" is not a number`);
      return;
    }
    input.removeAttribute("aria-invalid");
    onValue(x);
  });
  return h("span", { class: "field" }, h("label", { for: id, text: label }), input);
}

function select(id, label, options, value, onValue) {
  const node = h("select", { id });
  for (const o of options) node.append(h("option", { value: o, selected: o === value, text: o.replaceAll("_", " ") }));
  node.addEventListener("change", () => onValue(node.value));
  return h("span", { class: "field" }, h("label", { for: id, text: label }), node);
}

/** What, when it changes, needs a new form rather than new numbers. */
export function structureKey(spec) {
  return JSON.stringify([spec.layers, spec.biases.map((b) => Array.isArray(b)), (spec.samples || []).length]);
}

/** Resize a spec to new layer sizes: weights and biases are re-initialized by the server (spec seed). */
export function reshape(spec, layers) {
  const s = structuredClone(spec);
  const depth = layers.length - 1;
  const acts = s.activations || Array(spec.layers.length - 1).fill(s.activation || "sigmoid");
  const hidden = acts.length > 1 ? acts[0] : "sigmoid";
  s.activations = Array.from({ length: depth }, (_, l) => (l === depth - 1 ? acts[acts.length - 1] : (acts[l] && l < acts.length - 1 ? acts[l] : hidden)));
  delete s.activation;
  delete s.weights;
  delete s.training;
  delete s.history;
  delete s.torch; // a resized network is not the PyTorch model any more: its torch names would be wrong
  delete s.update_weights; // per-layer flags (frozen parameters) belong to the old layers: every weight trains
  if (Array.isArray(s.update_biases)) s.update_biases = s.update_biases.some(Boolean);
  s.biases = Array.from({ length: depth }, (_, l) => (l < spec.biases.length && !Array.isArray(spec.biases[l]) ? spec.biases[l] : 0));
  s.layers = layers;
  const fit = (v, n) => Array.from({ length: n }, (_, i) => (i < v.length ? v[i] : 0));
  s.samples = (s.samples || []).map((x) => ({ inputs: fit(x.inputs, layers[0]), targets: fit(x.targets, layers[depth]) }));
  return s;
}

/** Build the form for `spec` into `form`; names come from the trace's meta (w1.., h1.., b1..). */
export function renderEditor(form, spec, meta, choices, onChange, onError) {
  const draft = structuredClone(spec);
  const changed = (structural = false) => onChange(draft, structural);
  const set = (apply) => (x, problem) => {
    if (x === null) return onError(problem);
    apply(x);
    changed();
  };
  form.replaceChildren();
  const depth = spec.layers.length - 1;

  const general = h("fieldset", {}, h("legend", { text: "Network" }));
  const layers = h("input", { id: "edit-layers", type: "text", value: spec.layers.join(", "), size: 10,
    title: "neurons per layer, inputs first, e.g. 2, 3, 2" });
  layers.addEventListener("change", () => {
    const parts = layers.value.split(/[\s,]+/).filter(Boolean).map(Number);
    if (parts.length < 2 || !parts.every((n) => Number.isInteger(n) && n >= 1)) {
      layers.setAttribute("aria-invalid", "true");
      return onError("layers: give at least two positive whole numbers, inputs first, e.g. 2, 2, 2");
    }
    layers.removeAttribute("aria-invalid");
    onChange(reshape(spec, parts), true);
  });
  general.append(h("span", { class: "field" }, h("label", { for: "edit-layers", text: "Layer sizes" }), layers));
  const acts = spec.activations || Array(depth).fill(spec.activation);
  acts.forEach((a, l) => {
    const options = l === depth - 1 ? choices.activations : choices.activations.filter((x) => x !== "softmax");
    general.append(select(`edit-activation-${l + 1}`, `Activation, layer ${l + 1}`, options, a, (v) => {
      draft.activations = acts.slice();
      draft.activations[l] = v;
      delete draft.activation;
      changed();
    }));
  });
  general.append(select("edit-loss", "Loss", choices.losses, spec.loss, (v) => { draft.loss = v; changed(); }));
  general.append(numberField("edit-learning-rate", "Learning rate η", spec.learning_rate, set((x) => { draft.learning_rate = x; })));
  const ub = h("input", { id: "edit-update-biases", type: "checkbox", checked: spec.update_biases });
  ub.addEventListener("change", () => { draft.update_biases = ub.checked; changed(); });
  general.append(h("span", { class: "field" }, ub, h("label", { for: "edit-update-biases", text: "Update biases too" })));
  form.append(general);

  const samples = h("fieldset", {}, h("legend", { text: "Inputs and targets" }));
  (spec.samples || []).slice(0, 20).forEach((sample, s) => {
    const row = h("div", { class: "row" });
    if (spec.samples.length > 1) row.append(h("span", { class: "row-label", text: `sample ${s + 1}` }));
    sample.inputs.forEach((x, i) => row.append(numberField(`edit-input-${s}-${i}`, meta.neurons[0][i], x,
      set((v) => { draft.samples[s].inputs[i] = v; }))));
    sample.targets.forEach((x, k) => row.append(numberField(`edit-target-${s}-${k}`, `target ${meta.neurons[depth][k]}`, x,
      set((v) => { draft.samples[s].targets[k] = v; }))));
    samples.append(row);
  });
  if ((spec.samples || []).length > 20) samples.append(h("p", { class: "hint", text: "Only the first 20 samples are shown." }));
  form.append(samples);

  const weightCount = meta.weights.flat(2).length;
  const params = h("fieldset", {}, h("legend", { text: "Weights and biases" }));
  if (weightCount > MAX_FIELDS) {
    params.append(h("p", { class: "hint", text: `${weightCount} weights: too many to edit here; download the network, edit the file and upload it.` }));
  } else {
    const torchNames = (meta.torch && meta.torch.names) || {}; // a PyTorch model's own names (fc1.weight[0, 1])
    const torchName = (name) => (torchNames[name] ? ` (PyTorch: ${torchNames[name]})` : "");
    meta.weights.forEach((layer, l) => {
      const block = h("div", { class: "layer" }, h("h3", { text: `Layer ${l + 1}: ${meta.neurons[l].join(", ")} → ${meta.neurons[l + 1].join(", ")}` }));
      layer.forEach((row, j) => {
        const line = h("div", { class: "row" });
        row.forEach((w, i) => line.append(numberField(`edit-${w}`, w, spec.weights[l][j][i],
          set((v) => { draft.weights[l][j][i] = v; }), `${w}: ${meta.neurons[l][i]} → ${meta.neurons[l + 1][j]}${torchName(w)}`)));
        block.append(line);
      });
      const biasRow = h("div", { class: "row" });
      const b = spec.biases[l];
      meta.biases[l].forEach((name, j) => biasRow.append(numberField(`edit-${name}`, name, Array.isArray(b) ? b[j] : b,
        set((v) => { if (Array.isArray(draft.biases[l])) draft.biases[l][j] = v; else draft.biases[l] = v; }),
        torchNames[name] ? `${name}${torchName(name)}` : undefined)));
      block.append(biasRow);
      params.append(block);
    });
  }
  form.append(params);
}

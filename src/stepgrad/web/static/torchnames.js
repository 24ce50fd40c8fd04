// PyTorch's names in the explorer: a network imported from a PyTorch model (its spec's [torch] table)
// comes with meta.torch.names from the server ({"w2": "fc1.weight[0, 1]"}); the Values list shows each
// weight's and bias's torch name beside the deck's. The diagram's tooltips and each step's note come
// from the server already. A network without a [torch] table shows nothing more.

/** The torch name of `name` ("fc1.weight[0, 1]"), or null. */
export function torchName(meta, name) {
  const names = meta && meta.torch && meta.torch.names;
  return (names && Object.prototype.hasOwnProperty.call(names, name)) ? names[name] : null;
}

/** Add `name`'s torch name to a Values list item (nothing when the network has none). */
export function labelTorch(li, meta, name) {
  const theirs = torchName(meta, name);
  if (!theirs) return;
  li.title = `PyTorch: ${theirs}`;
  li.append(Object.assign(document.createElement("span"), { className: "torch-name", textContent: ` ${theirs}` }));
}

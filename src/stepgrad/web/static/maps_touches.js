// A kernel weight's touches on a network too large to trace while the page waits (web/maps_big.py): the server sends
// each kernel's geometry instead of every weight's list; this finds the output positions the weight touches and the
// input cell it meets at each (as core/layers/base.window_cells does), and reads their values from the maps the page
// already has. It computes no number: each factor is a cell of the input map, each signal a cell of dE_total/dnet.

function cell(grids, position) {  // position 1-based: [channel, row, column] or [channel, index]
  const grid = grids && grids.find((g) => g.channel === position[0]);
  if (!grid) return null;
  return position.length === 3 ? grid.rows[position[1] - 1][position[2] - 1] : grid.rows[0][position[1] - 1];
}

/** Fills entry.touches and entry.plan (when the server left them out) from kernel.geometry and the page's maps. */
export function withTouches(kernel, entry, maps, label) {
  if (entry.touches || !kernel.geometry) return entry;
  const g = kernel.geometry;
  const [o, i] = entry.position;
  let p = g.one_d ? 0 : entry.position[2] - 1, q = entry.position[entry.position.length - 1] - 1;
  if (g.flipped) { p = g.kernel[0] - 1 - p; q = g.kernel[1] - 1 - q; }
  const rows = g.one_d ? 1 : g.out_shape[1], cols = g.out_shape[g.out_shape.length - 1];
  const inRows = g.one_d ? 1 : g.in_shape[1], inCols = g.in_shape[g.in_shape.length - 1];
  const touches = [];
  let padded = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const u = r * g.stride[0] + p - g.padding[0], v = c * g.stride[1] + q - g.padding[1];
      if (u < 0 || v < 0 || u >= inRows || v >= inCols) { padded++; continue; }
      const out = g.one_d ? [o, c + 1] : [o, r + 1, c + 1];
      const met = g.one_d ? [i, v + 1] : [i, u + 1, v + 1];
      touches.push({ out, in: met, input: `${kernel.input}[${met.join(",")}]`,
        factor: cell(maps[kernel.input], met), signal: cell(maps[g.signal], out) });
    }
  }
  entry.touches = touches;
  entry.plan = `it touches ${touches.length} positions of ${label}'s channel ${o}`
    + (padded ? `; ${padded} more on the zero padding (input 0)` : "");
  return entry;
}

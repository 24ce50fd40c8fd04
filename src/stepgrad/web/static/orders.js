// Both update orders on the loss curve: when the reader asks ("both update orders" in the training panel), the
// network is trained from the same start under the other order as well, chunk for chunk, and that run is drawn
// dashed beside the page's own with a legend. Every number is the server's (POST /api/train).

import { postJSON } from "./api.js";

const ORDERS = ["synchronous", "sequential"];
const CHUNK = 50_000; // iterations per request (the server takes up to 100,000)

export class OtherOrder {
  constructor() { this.run = null; } // {order, spec, history} of the run under the other order, or null

  /** Start (or restart) beside the page's run under `order`: `spec` is the network at the first point of its
   *  curve `history` (the current network when there is none); the other run catches up on the next train(). */
  start(spec, order, history) {
    const other = ORDERS.find((o) => o !== order);
    // the other run starts where the page's curve starts: its first point is the same network
    this.run = { order: other, spec: structuredClone(spec), history: history.length ? [history[0]] : [], behind: 0 };
    if (history.length) this.run.behind = history[history.length - 1].iteration - history[0].iteration;
  }

  stop() { this.run = null; }

  /** Train the other run `k` more iterations (and any it is behind the page's run), like the page's own chunk. */
  async train(k, every, signal) {
    const run = this.run;
    let left = run ? k + run.behind : 0;
    while (left > 0 && this.run === run) { // stops when switched off or restarted meanwhile
      const n = Math.min(left, CHUNK);
      const r = await postJSON("/api/train", { spec: run.spec, iterations: n, update_order: run.order, every }, signal);
      left -= n;
      run.behind = left - k > 0 ? left - k : 0;
      run.spec = r.spec;
      const last = run.history.length ? run.history[run.history.length - 1].iteration : -1;
      for (const p of r.history) if (p.iteration > last) run.history.push(p);
    }
  }

  /** drawCurve's options: the page's run named by `order`, the other run beside it (none when off). */
  curve(order) {
    if (!this.run || this.run.history.length < 2) return {};
    return { label: order, others: [{ label: this.run.order, points: this.run.history }] };
  }
}

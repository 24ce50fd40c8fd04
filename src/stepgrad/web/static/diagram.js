// The diagram viewer: zoom and pan on a desktop as on a phone, labels readable at the default zoom.
//
// The server sends the diagram at a few label precisions ("levels", fewest digits first, each with its
// width and height in SVG units). The zoom is the width the picture takes on screen; the viewer shows the
// level with the most digits that still fits that width at a readable size, so digits follow the zoom.
// Every number in the SVG is the server's; this file only scales and scrolls it.

const READABLE = 11;          // px: the smallest text on screen at the default zoom
const SMALLEST_FONT = 11;     // px in SVG units: the smallest text of the diagram (values under neurons, legend)
const PAD = 6;                // px kept around the drawing when the picture's empty margins are trimmed
const MIN_SCALE = READABLE / SMALLEST_FONT;
const STEP = 1.25;            // one zoom button press

export class DiagramView {
  /** `box` holds the scroll area; `decorate(svg)` marks selection and adds focus, after each swap. */
  constructor(box, decorate, { focus = true, fitFirst = false } = {}) {
    this.box = box;
    this.hasFocus = focus;    // the Focus button (the network diagram's selection)
    this.fitFirst = fitFirst; // the default zoom shows it whole (the computation graph) rather than readable
    this.decorate = decorate;
    this.levels = [];
    this.width = null;        // the picture's width on screen (px); null: the default
    this.shown = null;        // the level on screen
    this.key = null;          // which network the zoom belongs to
    this.build();
  }

  build() {
    const bar = document.createElement("div");
    bar.className = "zoom-bar";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Zoom the diagram");
    const button = (text, label, action) => {
      const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
      b.setAttribute("aria-label", label);
      b.title = label;
      b.addEventListener("click", action);
      bar.append(b);
      return b;
    };
    button("−", "Zoom out", () => this.zoomBy(1 / STEP));
    button("+", "Zoom in", () => this.zoomBy(STEP));
    button("Fit", "Fit the whole network in the panel", () => this.fit());
    button("1:1", "Full size, every digit", () => this.actualSize());
    if (this.hasFocus) button("Focus", "Zoom to the selection and its paths", () => this.focusSelection());
    this.readout = Object.assign(document.createElement("span"), { className: "zoom-readout" });
    this.readout.setAttribute("aria-live", "polite");
    bar.append(this.readout);
    this.view = document.createElement("div");
    this.view.className = "diagram-view";
    this.box.replaceChildren(bar, this.view);
    this.listen();
  }

  /** Show `levels` ([{digits, width, height, svg}]); `key` names the network: a new one resets the zoom. */
  show(levels, key) {
    const first = this.key !== key;
    if (first) this.trims = new Map();
    this.levels = levels.map((level) => this.trimmed(level, levels.length === 1));
    this.key = key;
    if (first) this.width = null;
    // the same picture as on screen (another stage showing the same values): keep its DOM, mark it afresh
    const same = !first && this.shown && this.levels.find((l) => l.digits === this.shown.digits && l.svg === this.shown.svg);
    if (same && this.levelFor(this.width ?? this.defaultWidth()) === same) {
      this.shown = same;
      this.decorate(this.view.querySelector("svg"));
      return;
    }
    this.shown = null;
    this.apply(first ? null : this.center());
  }

  /** `level` with its empty margins cut: its SVG's viewBox hugs what is drawn (measured off screen). */
  trimmed(level, alone = false) {
    // a big network's picture (one level, no labels) keeps its extent from stage to stage: measure it once
    const big = alone && level.svg.includes("sg-big");
    const known = big && this.trims && this.trims.get(`${level.width}x${level.height}`);
    if (known) return this.cut(level, ...known);
    const probe = document.createElement("div");
    probe.style.cssText = "position:absolute;left:-99999px;top:0;visibility:hidden";
    probe.innerHTML = level.svg;
    document.body.append(probe);
    const svg = probe.querySelector("svg");
    const b = svg.getBBox();
    probe.remove();
    if (!b.width || !b.height) return level;
    const x = Math.max(0, b.x - PAD), y = Math.max(0, b.y - PAD);
    const width = Math.min(level.width, b.x + b.width + PAD) - x, height = Math.min(level.height, b.y + b.height + PAD) - y;
    if (big && this.trims) this.trims.set(`${level.width}x${level.height}`, [x, y, width, height]);
    return this.cut(level, x, y, width, height);
  }

  /** `level` with its viewBox set to (x, y, width, height). */
  cut(level, x, y, width, height) {
    const box = `viewBox="${x.toFixed(1)} ${y.toFixed(1)} ${width.toFixed(1)} ${height.toFixed(1)}"`;
    return { ...level, x, y, width, height, svg: level.svg.replace(/viewBox="[^"]*"/, box) };
  }

  /** The room the panel gives the picture (px). */
  room() { return Math.max(120, this.view.clientWidth - 2); }

  /** The default zoom: the panel's width, or wider if even the shortest labels would be too small. */
  defaultWidth() {
    const least = this.levels[0];
    if (this.fitFirst) return Math.min(this.room(), least.width);
    return Math.max(Math.min(this.room(), this.levels[this.levels.length - 1].width * 1.25), least.width * MIN_SCALE);
  }

  /** The level for a picture `width` px wide: the most digits whose labels stay readable in it. */
  levelFor(width) {
    let best = this.levels[0];
    for (const level of this.levels) if (level.width * MIN_SCALE <= width + 0.5) best = level;
    return best;
  }

  /** The point of the picture at the middle of the view, as fractions of its size. */
  center() {
    const v = this.view, svg = v.querySelector("svg");
    if (!svg || !svg.clientWidth) return null;
    return [(v.scrollLeft + v.clientWidth / 2) / svg.clientWidth, (v.scrollTop + v.clientHeight / 2) / svg.clientHeight];
  }

  /** Draw at the current zoom; `anchor` [fx, fy, px, py]: keep fraction (fx, fy) of the picture at view point (px, py). */
  apply(anchor) {
    if (!this.levels.length) return;
    const width = this.width ?? this.defaultWidth();
    const level = this.levelFor(width);
    if (level !== this.shown) {
      this.view.innerHTML = level.svg; // made by stepgrad.pictures.diagram from the trace; names and numbers only
      this.shown = level;
      this.decorate(this.view.querySelector("svg"));
    }
    const svg = this.view.querySelector("svg");
    const scale = width / level.width;
    svg.setAttribute("width", (Math.ceil(level.width * scale * 10) / 10).toFixed(1)); // up: never below the readable size
    svg.setAttribute("height", (Math.ceil(level.height * scale * 10) / 10).toFixed(1));
    svg.dataset.scale = scale.toFixed(4);
    svg.dataset.digits = String(level.digits);
    this.readout.textContent = `${Math.round(scale * 100)}%` + (this.levels.length > 1 ? ` · ${level.digits} digits` : "");
    if (anchor) {
      const [fx, fy, px = this.view.clientWidth / 2, py = this.view.clientHeight / 2] = anchor;
      this.view.scrollLeft = fx * svg.clientWidth - px;
      this.view.scrollTop = fy * svg.clientHeight - py;
    }
  }

  zoomBy(factor, px, py) {
    if (!this.levels.length) return;
    const v = this.view, svg = v.querySelector("svg");
    px ??= v.clientWidth / 2;
    py ??= v.clientHeight / 2;
    const anchor = svg ? [(v.scrollLeft + px) / svg.clientWidth, (v.scrollTop + py) / svg.clientHeight, px, py] : null;
    const current = this.width ?? this.defaultWidth();
    const last = this.levels[this.levels.length - 1];
    this.width = Math.max(0.15 * this.room(), Math.min(current * factor, last.width * 4));
    this.apply(anchor);
  }

  /** The whole network in the panel (its labels may then be small: hover or tap for the value). */
  fit() {
    const least = this.levels[0];
    const tall = Math.max(200, window.innerHeight * 0.7);
    this.width = Math.min(this.room(), least.width * (tall / least.height));
    this.apply([0, 0, 0, 0]);
  }

  /** Every digit at full size (1 px per unit). */
  actualSize() {
    this.width = this.levels[this.levels.length - 1].width;
    this.apply(this.center());
  }

  /** Zoom to the selected element and everything related to it, at a readable size at least. */
  focusSelection() {
    const svg = this.view.querySelector("svg");
    const parts = svg ? [...svg.querySelectorAll(".selected, .related")] : [];
    if (!parts.length) { this.readout.textContent = "select a weight or neuron first"; return; }
    const boxes = parts.map((p) => p.getBBox());
    const x0 = Math.min(...boxes.map((b) => b.x)), x1 = Math.max(...boxes.map((b) => b.x + b.width));
    const y0 = Math.min(...boxes.map((b) => b.y)), y1 = Math.max(...boxes.map((b) => b.y + b.height));
    const level = this.shown;
    const scale = Math.max(1, Math.min(this.room() / (x1 - x0 + 80), 2));
    this.width = level.width * scale;
    // the middle of everything related, or of the selection itself when that does not fit the view's height
    const own = [...svg.querySelectorAll(".selected")].map((p) => p.getBBox());
    let cy = (y0 + y1) / 2;
    if ((y1 - y0) * scale > this.view.clientHeight && own.length) cy = own[0].y + own[0].height / 2 + 60 / scale;
    this.apply([((x0 + x1) / 2 - (level.x || 0)) / level.width, (cy - (level.y || 0)) / level.height]);
    this.view.querySelector("svg").classList.add("focus");
  }

  listen() {
    const v = this.view;
    // Ctrl/⌘ + wheel (and a trackpad's pinch, which the browser sends as one) zooms at the pointer;
    // the plain wheel scrolls the picture and the page as usual.
    v.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const r = v.getBoundingClientRect();
      this.zoomBy(Math.exp(-e.deltaY / 300), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    // a mouse drags the picture; a click that did not move still selects
    let drag = null;
    v.addEventListener("pointerdown", (e) => {
      if (e.pointerType !== "mouse" || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, left: v.scrollLeft, top: v.scrollTop, moved: false };
    });
    window.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 5) return;
      drag.moved = true;
      v.classList.add("dragging");
      v.scrollLeft = drag.left - dx;
      v.scrollTop = drag.top - dy;
    });
    window.addEventListener("pointerup", () => {
      if (drag && drag.moved) {
        v.classList.remove("dragging");
        const swallow = (e) => { e.stopPropagation(); e.preventDefault(); };
        v.addEventListener("click", swallow, { capture: true, once: true });
        setTimeout(() => v.removeEventListener("click", swallow, { capture: true }), 0);
      }
      drag = null;
    });
    // two fingers pinch; one finger scrolls natively (touch-action in app.css)
    let pinch = null;
    const spread = (t) => Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
    v.addEventListener("touchstart", (e) => { if (e.touches.length === 2) pinch = spread(e.touches); }, { passive: true });
    v.addEventListener("touchmove", (e) => {
      if (e.touches.length !== 2 || !pinch) return;
      e.preventDefault();
      const d = spread(e.touches), r = v.getBoundingClientRect();
      const mx = (e.touches[0].clientX + e.touches[1].clientX) / 2 - r.left;
      const my = (e.touches[0].clientY + e.touches[1].clientY) / 2 - r.top;
      this.zoomBy(d / pinch, mx, my);
      pinch = d;
    }, { passive: false });
    v.addEventListener("touchend", () => { pinch = null; });
    // the panel changed width (window resized, phone turned): keep the default zoom following it
    new ResizeObserver(() => { if (this.width === null && this.levels.length) this.apply(this.center()); }).observe(v);
  }
}

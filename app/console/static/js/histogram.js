// The histogram of matching events over the window (an SVG drawn from the
// date_aggregation buckets). Dragging across it selects a span and zooms into it.

import { clear, formatCount, svg } from "./dom.js";
import { formatTime } from "./time.js";

const HEIGHT = 128;
const MARGIN = { left: 44, right: 8, top: 8, bottom: 20 };
const MIN_DRAG_PX = 4;

function tickLabel(ms, spanMs, zone) {
  const text = formatTime(ms, zone);
  if (spanMs <= 120_000) return text.slice(11, 19);
  if (spanMs <= 86_400_000) return text.slice(11, 16);
  if (spanMs <= 7 * 86_400_000) return text.slice(5, 16);
  return text.slice(0, 10);
}

export class Histogram {
  /** onZoom(startMs, endMs) is called after a drag; zone() says "utc" or "local". */
  constructor(container, { onZoom, zone }) {
    this.container = container;
    this.onZoom = onZoom;
    this.zone = zone;
    this.data = null;
    this.drag = null;
    new ResizeObserver(() => this.draw()).observe(container);
  }

  /** Draw the buckets [{key, count}] of a window [startMs, endMs] with bars of stepMs. */
  show(data) {
    this.data = data;
    this.draw();
  }

  draw() {
    clear(this.container);
    const data = this.data;
    const width = Math.max(200, this.container.clientWidth);
    const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right,
      h: HEIGHT - MARGIN.top - MARGIN.bottom };
    const root = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
      class: "histogram-svg", role: "img", "aria-label": "Events over time" });
    this.container.append(root);
    if (!data) return;
    const { startMs, endMs, stepMs, buckets } = data;
    const span = Math.max(1, endMs - startMs);
    const xOf = (ms) => plot.x + ((ms - startMs) / span) * plot.w;
    this.geometry = { plot, startMs, endMs, span };

    const max = Math.max(1, ...buckets.map((b) => b.count));
    for (const value of max >= 4 ? [0, Math.round(max / 2), max] : [0, max]) {
      const y = plot.y + plot.h - (value / max) * plot.h;
      root.append(svg("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, class: "grid" }));
      root.append(svg("text", { x: plot.x - 6, y: y + 4, class: "axis-label", "text-anchor": "end",
        text: formatCount(value) }));
    }
    const bars = svg("g", { class: "bars" });
    for (const bucket of buckets) {
      const key = Date.parse(bucket.key);
      const x1 = xOf(Math.max(key, startMs));
      const x2 = xOf(Math.min(key + stepMs, endMs));
      const h = (bucket.count / max) * plot.h;
      if (bucket.count === 0 || x2 <= plot.x) continue;
      const bar = svg("rect", {
        x: x1, y: plot.y + plot.h - h, width: Math.max(1, x2 - x1 - 1), height: Math.max(1, h),
        class: "bar",
      }, svg("title", { text: `${formatTime(key, this.zone())} · ${formatCount(bucket.count)} events` }));
      bars.append(bar);
    }
    root.append(bars);

    const ticks = Math.max(2, Math.min(6, Math.floor(plot.w / 140)));
    for (let i = 0; i <= ticks; i += 1) {
      const ms = startMs + (span * i) / ticks;
      const anchor = i === 0 ? "start" : i === ticks ? "end" : "middle";
      root.append(svg("text", { x: xOf(ms), y: HEIGHT - 5, class: "axis-label", "text-anchor": anchor,
        text: tickLabel(ms, span, this.zone()) }));
    }
    this.selection = svg("rect", { class: "selection", x: 0, y: plot.y, width: 0, height: plot.h,
      visibility: "hidden" });
    root.append(this.selection);
    root.addEventListener("pointerdown", (event) => this.dragStart(event, root));
    root.addEventListener("pointermove", (event) => this.dragMove(event, root));
    root.addEventListener("pointerup", (event) => this.dragEnd(event, root));
    root.addEventListener("pointercancel", () => this.dragCancel());
  }

  localX(event, root) {
    const box = root.getBoundingClientRect();
    const { plot } = this.geometry;
    return Math.min(plot.x + plot.w, Math.max(plot.x, event.clientX - box.left));
  }

  dragStart(event, root) {
    if (!this.geometry || event.button !== 0) return;
    root.setPointerCapture(event.pointerId);
    this.drag = { from: this.localX(event, root) };
  }

  dragMove(event, root) {
    if (!this.drag) return;
    const to = this.localX(event, root);
    const left = Math.min(this.drag.from, to);
    this.selection.setAttribute("x", left);
    this.selection.setAttribute("width", Math.abs(to - this.drag.from));
    this.selection.setAttribute("visibility", "visible");
  }

  dragEnd(event, root) {
    if (!this.drag) return;
    const from = this.drag.from;
    const to = this.localX(event, root);
    this.drag = null;
    this.selection.setAttribute("visibility", "hidden");
    if (Math.abs(to - from) < MIN_DRAG_PX) return;
    const { plot, startMs, span } = this.geometry;
    const timeOf = (x) => startMs + ((x - plot.x) / plot.w) * span;
    // Whole seconds read better in the time inputs; below a minute, keep milliseconds.
    const unit = span > 60_000 ? 1000 : 1;
    const start = Math.max(startMs, Math.floor(timeOf(Math.min(from, to)) / unit) * unit);
    const end = Math.min(this.geometry.endMs, Math.ceil(timeOf(Math.max(from, to)) / unit) * unit);
    if (end > start) this.onZoom(start, end);
  }

  dragCancel() {
    this.drag = null;
    if (this.selection) this.selection.setAttribute("visibility", "hidden");
  }
}

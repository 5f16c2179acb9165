// Charts as SVG drawn by the page (no library): vertical bars over time and horizontal
// bars per item. Each chart is one `role="img"` element with a label, and every bar
// carries a <title> with its exact value. Colours come from admin.css (classes), so
// the strict CSP needs no inline style. The scale is pure and tested alone.
import { svg } from './dom.js';

/** A "nice" upper bound ≥ max (1, 2 or 5 × a power of ten) and its tick step. */
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { top: 1, step: 1 };
  const rough = max / ticks;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

/**
 * Vertical bars: `points` are {label, value, title}; every `labelEvery`-th label is
 * written under its bar.
 */
export function barChart({ label, points, format = String, labelEvery = 1 }) {
  const width = 640;
  const height = 240;
  const pad = { left: 44, right: 8, top: 10, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const { top, step } = niceScale(Math.max(0, ...points.map((p) => p.value)));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(points.length, 1);
  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(svg('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      svg('text', { class: 'axis', x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const bars = points.map((p, i) => {
    const x = pad.left + i * slot + slot * 0.15;
    return svg('g', {},
      svg('rect', { class: 'bar', x, y: y(p.value), width: slot * 0.7, height: Math.max(0, plotH + pad.top - y(p.value)) },
        svg('title', {}, p.title || `${p.label}: ${format(p.value)}`)),
      i % labelEvery === 0
        ? svg('text', { class: 'axis', x: x + slot * 0.35, y: height - 8, 'text-anchor': 'middle' }, p.label)
        : null);
  });
  return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label }, grid, bars);
}

/** Horizontal bars, one row per item: `items` are {label, value, title}. */
export function rowChart({ label, items, format = String }) {
  const width = 480;
  const row = 28;
  const labelW = 150;
  const valueW = 90;
  const height = Math.max(1, items.length) * row + 4;
  const max = Math.max(0, ...items.map((i) => i.value)) || 1;
  const barW = width - labelW - valueW;
  const rows = items.map((item, i) => {
    const y = i * row + 4;
    const text = item.label.length > 22 ? `${item.label.slice(0, 21)}…` : item.label;
    return svg('g', {},
      svg('text', { class: 'axis', x: 0, y: y + 15 }, text),
      svg('rect', { class: 'bar', x: labelW, y, width: Math.max(2, (item.value / max) * barW), height: row - 8 },
        svg('title', {}, item.title || `${item.label}: ${format(item.value)}`)),
      svg('text', { class: 'axis', x: width - valueW + 6, y: y + 15 }, format(item.value)));
  });
  return svg('svg', { class: 'chart rows', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label }, rows);
}

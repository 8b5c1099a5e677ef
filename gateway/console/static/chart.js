// Bar charts, drawn by uPlot (vendored, static/vendor/uplot-1.6.32) on a canvas: one bar per
// label, one series per colour; stacked, a series' bar starts where the one before it ends
// (amounts below zero stack downwards). The legend is the console's, in its language; the
// colours are console.css's --chart-N, which the legend's swatches use too.

import uPlot from "./vendor/uplot-1.6.32/uPlot.esm.js";
import { html, useEffect, useRef } from "./ui.js";

const STYLESHEET = new URL("./vendor/uplot-1.6.32/uPlot.min.css", import.meta.url).href;
const HEIGHT = 260;

// uPlot's stylesheet, added once as a <link> (the page's policy allows styles of its own host).
function addStylesheet() {
  if ([...document.styleSheets].some((s) => s.href === STYLESHEET)) return;
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  document.head.append(link);
}

function colour(n) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--chart-${n}`).trim();
}

// Each series' bar ends where the sum of it and the ones before it (of the same sign) ends.
export function stacked(values) {
  const out = values.map((v) => v.slice());
  for (let i = 0; i < (values[0] || []).length; i += 1) {
    let up = 0;
    let down = 0;
    values.forEach((series, k) => {
      if (series[i] >= 0) out[k][i] = up += series[i];
      else out[k][i] = down += series[i];
    });
  }
  return out;
}

// Every `step`-th label, so that labels of about `width` pixels do not overlap.
function splits(count, width) {
  const step = Math.max(1, Math.ceil((count * 90) / Math.max(width, 1)));
  return Array.from({ length: Math.ceil(count / step) }, (_, i) => i * step);
}

function options({ labels, series, width, format }) {
  const count = labels.length;
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    select: { show: false },
    scales: {
      x: { time: false, range: () => [-0.5, count - 0.5] },
      y: {
        range: (_, min, max) => {
          const low = Math.min(0, min);
          const high = Math.max(0, max);
          // At least one currency unit high (the values are minor units), so that the axis
          // reads 0 and 1 zł, not fractions of a grosz.
          if (high - low < 100) return [low, low + 100];
          const pad = (high - low) * 0.08;
          return [low < 0 ? low - pad : low, high > 0 ? high + pad : high];
        },
      },
    },
    axes: [
      { splits: (u) => splits(count, u.bbox.width / devicePixelRatio), values: (_, ticks) => ticks.map((i) => labels[i] ?? "") },
      { size: 80, values: (_, ticks) => ticks.map(format) },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        fill: colour(s.colour),
        stroke: colour(s.colour),
        width: 0,
        paths: uPlot.paths.bars({ size: [0.7, 48] }),
        points: { show: false },
      })),
    ],
  };
}

// `series`: [{label, colour (0–6), values (numbers, one per label)}]; `label` names the chart
// for a screen reader (the table beside it holds the figures); `format` writes a y-axis value.
export function BarChart({ label, labels, series, stack = false, format = String }) {
  const box = useRef(null);
  const key = JSON.stringify({ labels, series, stack });
  useEffect(() => {
    addStylesheet();
    const values = stack ? stacked(series.map((s) => s.values)) : series.map((s) => s.values);
    // Stacked, the outermost bars are drawn first and each nearer one over them.
    const order = series.map((_, k) => k);
    if (stack) order.reverse();
    const width = box.current.clientWidth || 600;
    const chosen = order.map((k) => series[k]);
    const data = [labels.map((_, i) => i), ...order.map((k) => values[k])];
    const plot = new uPlot(options({ labels, series: chosen, width, format }), data, box.current);
    const resize = () => plot.setSize({ width: box.current.clientWidth || width, height: HEIGHT });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [key]);
  return html`<figure class="chart">
    <div class="chart-canvas" ref=${box} role="img" aria-label=${label}></div>
    <figcaption class="legend">
      ${series.map((s) => html`<span key=${s.label}><span class=${`swatch c${s.colour}`}></span>${s.label}</span>`)}
    </figcaption>
  </figure>`;
}

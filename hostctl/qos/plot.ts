/**
 * The SVG plot of `hostctl qos simulate --plot OUT.svg`: each class's (or source's) rate over time as lines,
 * with labelled axes and units, the link rate, the moments a qdisc change was committed, and a legend that
 * says what each line is and its mean throughput. Plain SVG 1.1 with no scripts or external fonts, so any
 * viewer (browser, rsvg, ImageMagick) renders it the same way.
 */
import type { FlowResult, SimResult } from "./simulate.js";

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#000000", "#7F7F7F", "#BCBD22"];
const W = 960;
const H = 520;
const M = { left: 78, right: 300, top: 52, bottom: 62 };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1, 2 or 5 × 10ⁿ steps giving about `n` ticks up to `max`. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** The unit that keeps rate labels short. */
function rateUnit(maxBits: number): { div: number; name: string } {
  if (maxBits >= 2e9) return { div: 1e9, name: "Gbit/s" };
  if (maxBits >= 2e6) return { div: 1e6, name: "Mbit/s" };
  if (maxBits >= 2e3) return { div: 1e3, name: "kbit/s" };
  return { div: 1, name: "bit/s" };
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

export interface PlotOptions {
  /** plot the sources instead of the classes */
  bySource?: boolean;
  title?: string;
}

export function plotSvg(r: SimResult, opts: PlotOptions = {}): string {
  const series: FlowResult[] = (opts.bySource ? r.sources : r.classes).filter((s) => s.offeredPackets > 0 || s.sentPackets > 0);
  const linkBits = r.linkRate * 8;
  const peak = Math.max(linkBits, ...series.flatMap((s) => s.series));
  const unit = rateUnit(peak);
  const yMax = peak / unit.div;
  const yStep = niceStep(yMax * 1.05, 6);
  const yTop = Math.ceil((yMax * 1.05) / yStep) * yStep;
  const seconds = r.durationNs / 1e9;
  const xStep = niceStep(seconds, 8);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (s: number) => M.left + (s / seconds) * pw;
  const y = (v: number) => M.top + ph - (v / yTop) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  const title = opts.title ?? `Rate per ${opts.bySource ? "source" : "class"}: ${r.qdisc} on a ${fmt(linkBits / unit.div)} ${unit.name} link`;
  out.push(`<text x="${M.left}" y="28" font-size="17" font-weight="bold">${esc(title)}</text>`);
  // grid and axes
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    out.push(`<line x1="${M.left}" y1="${y(v).toFixed(1)}" x2="${M.left + pw}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${M.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let t = 0; t <= seconds + 1e-9; t += xStep) {
    out.push(`<line x1="${x(t).toFixed(1)}" y1="${M.top}" x2="${x(t).toFixed(1)}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 16}" text-anchor="middle">time (s)</text>`);
  out.push(`<text x="20" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 20 ${M.top + ph / 2})">rate (${unit.name})</text>`);
  // the link rate, and qdisc changes
  out.push(`<line x1="${M.left}" y1="${y(linkBits / unit.div).toFixed(1)}" x2="${M.left + pw}" y2="${y(linkBits / unit.div).toFixed(1)}" stroke="#555" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${M.left + pw - 4}" y="${(y(linkBits / unit.div) - 5).toFixed(1)}" text-anchor="end" fill="#555">link ${fmt(linkBits / unit.div)} ${unit.name}</text>`);
  for (const g of r.generations.slice(1)) {
    const gx = x(g.atNs / 1e9).toFixed(1);
    out.push(`<line x1="${gx}" y1="${M.top}" x2="${gx}" y2="${M.top + ph}" stroke="#999" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${Number(gx) + 4}" y="${M.top + 14}" fill="#555">qdisc change: ${esc(g.qdisc)}</text>`);
  }
  // series: one point per time bin, at its middle
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.series.map((v, b) => `${x(((b + 0.5) * r.binNs) / 1e9).toFixed(1)},${y(v / unit.div).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
  });
  // legend
  const lx = M.left + pw + 18;
  out.push(`<text x="${lx}" y="${M.top + 4}" font-weight="bold">${opts.bySource ? "source" : "class"} (mean rate)</text>`);
  series.forEach((s, i) => {
    const ly = M.top + 26 + i * 38;
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}">${esc(s.name)}  ${fmt(s.throughput / unit.div)} ${unit.name}</text>`);
    out.push(`<text x="${lx + 30}" y="${ly + 15}" font-size="11" fill="#555">${esc(s.detail.length > 40 ? s.detail.slice(0, 39) + "…" : s.detail)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

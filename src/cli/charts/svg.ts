/**
 * Self-contained SVG charts for design reviews: no scripts, no external fonts or styles, a white background, axes
 * with round ticks, labels and a legend. Sections (split, movement, rollout timeline) stack into one document.
 */
import { formatDuration } from "../../index.js";
import { grouped, percent } from "../output.js";
import { type RolloutChart, niceMax, spanFigures, timeTicks, weightAt } from "./series.js";

/** The document width; every section lays itself out in it. */
export const SVG_WIDTH = 960;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const INK = "#1f2933";
const MUTED = "#616e7c";
const GRID = "#e4e7eb";
const AXIS = "#9aa5b1";

/** Colours of versions by position: the stable first, the canary second. */
export const SVG_VERSION_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#72b7b2", "#e45756", "#9d755d", "#ff9da6"];
/** Colours of check verdicts. */
export const SVG_VERDICT_COLORS = { pass: "#2e9d5b", inconclusive: "#e0a100", fail: "#d62728" } as const;

/** A piece of an SVG document with its height. */
export interface SvgSection {
  readonly height: number;
  readonly body: string;
}

/**
 * Escapes text for SVG content and attribute values.
 *
 * @example
 * ```ts
 * escape('a < b & "c"'); // "a &lt; b &amp; &quot;c&quot;"
 * ```
 */
export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

function n(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const extra = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === "number" ? n(v) : escape(v)}"`)
    .join("");
  return `<text x="${n(x)}" y="${n(y)}"${extra}>${escape(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ""): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}"${extra}/>`;
}

function truncate(content: string, max: number): string {
  return content.length > max ? `${content.slice(0, max - 1)}…` : content;
}

/**
 * Stacks sections into one SVG document.
 *
 * @example
 * ```ts
 * writeFileSync("out.svg", svgDocument("turnout simulate", [splitSection(split)]));
 * ```
 */
export function svgDocument(title: string, sections: readonly SvgSection[]): string {
  let y = 0;
  const parts: string[] = [];
  for (const section of sections) {
    parts.push(`<g transform="translate(0 ${n(y)})">${section.body}</g>`);
    y += section.height;
  }
  const height = Math.max(1, Math.ceil(y));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" role="img" font-family="${escape(FONT)}" font-size="12" fill="${INK}">`,
    `<title>${escape(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** Splits a subtitle made of " · "-separated parts into lines of at most `max` characters. */
function wrap(subtitle: string, max = 140): string[] {
  const lines: string[] = [];
  let current = "";
  for (const part of subtitle.split(/\s+·\s+/)) {
    if (current !== "" && current.length + part.length + 3 > max) {
      lines.push(current);
      current = part;
    } else current = current === "" ? part : `${current}  ·  ${part}`;
  }
  if (current !== "") lines.push(current);
  return lines;
}

/** The title and the subtitle lines; returns the markup and how far down it reaches. */
function heading(title: string, subtitle: string): { markup: string; bottom: number } {
  const lines = subtitle === "" ? [] : wrap(subtitle);
  const markup = text(24, 30, title, { "font-size": 17, "font-weight": 600 }) + lines.map((l, i) => text(24, 50 + i * 16, l, { fill: MUTED })).join("");
  return { markup, bottom: 50 + Math.max(0, lines.length - 1) * 16 };
}

// ---- split --------------------------------------------------------------------------------------------------------

/** One version's row in the split chart. */
export interface SplitBar {
  readonly version: string;
  readonly keys: number;
  /** Observed share, 0–1. */
  readonly share: number;
  /** Configured share, 0–1. */
  readonly expected: number;
}

/**
 * Horizontal bars of the observed split, with the configured weight marked on each.
 *
 * @example
 * ```ts
 * splitSection("Split of 100,000 keys", "router.json", [{ version: "v1", keys: 90012, share: 0.90012, expected: 0.9 }, …]);
 * ```
 */
export function splitSection(title: string, subtitle: string, bars: readonly SplitBar[]): SvgSection {
  const left = 110;
  const right = 230;
  const width = SVG_WIDTH - left - right;
  const head = heading(title, subtitle);
  const top = head.bottom + 36;
  const rowHeight = 34;
  const parts = [head.markup];
  const legendY = head.bottom + 14;
  parts.push(
    `<rect x="${left}" y="${legendY - 9}" width="10" height="10" fill="${SVG_VERSION_COLORS[0]}"/>`,
    text(left + 16, legendY, "observed share of the keys", { fill: MUTED }),
  );
  parts.push(
    line(left + 200, legendY - 10, left + 200, legendY + 2, INK, ' stroke-width="2"'),
    text(left + 208, legendY, "configured weight", { fill: MUTED }),
  );
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = left + tick * width;
    parts.push(line(x, top - 6, x, top + bars.length * rowHeight, GRID));
    parts.push(text(x, top + bars.length * rowHeight + 16, `${tick * 100} %`, { "text-anchor": "middle", fill: MUTED }));
  }
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    const color = SVG_VERSION_COLORS[i % SVG_VERSION_COLORS.length] as string;
    parts.push(text(left - 12, y + 17, b.version, { "text-anchor": "end", "font-weight": 600 }));
    parts.push(`<rect x="${left}" y="${n(y + 4)}" width="${n(Math.max(0, b.share * width))}" height="20" rx="2" fill="${color}"/>`);
    const mark = left + b.expected * width;
    parts.push(line(mark, y, mark, y + 28, INK, ' stroke-width="2"'));
    parts.push(
      text(left + width + 12, y + 18, `${percent(b.share * 100)} %  ·  ${grouped(b.keys)} keys  ·  split ${percent(b.expected * 100)} %`, { fill: MUTED }),
    );
  });
  return { height: top + bars.length * rowHeight + 40, body: parts.join("\n") };
}

// ---- movement -----------------------------------------------------------------------------------------------------

/**
 * Two stacked bars (before, after) with a ribbon for every from → to pair: the keys that stay are pale, the keys
 * that move are strong.
 *
 * @example
 * ```ts
 * movementSection("8.01 % of keys move", "router.json → next.json", ["v1", "v2"], [[81988, 8012], [0, 10000]]);
 * ```
 */
export function movementSection(title: string, subtitle: string, versions: readonly string[], matrix: readonly (readonly number[])[]): SvgSection {
  const left = 110;
  const width = SVG_WIDTH - left - 40;
  const head = heading(title, subtitle);
  const beforeY = head.bottom + 34;
  const afterY = beforeY + 190;
  const barHeight = 30;
  const total = matrix.flat().reduce((a, b) => a + b, 0) || 1;
  const parts = [head.markup];
  const color = (i: number): string => SVG_VERSION_COLORS[i % SVG_VERSION_COLORS.length] as string;
  const rowTotals = versions.map((_, i) => (matrix[i] ?? []).reduce((a, b) => a + b, 0));
  const columnTotals = versions.map((_, j) => matrix.reduce((a, row) => a + (row[j] ?? 0), 0));
  // Segment starts.
  const beforeStart: number[] = [];
  const afterStart: number[] = [];
  let acc = 0;
  for (const t of rowTotals) {
    beforeStart.push(acc);
    acc += t;
  }
  acc = 0;
  for (const t of columnTotals) {
    afterStart.push(acc);
    acc += t;
  }
  const x = (count: number): number => left + (count / total) * width;
  // Ribbons first (under the bars). Within a "before" segment flows are ordered by target; within an "after"
  // segment by source, so ribbons do not cross inside a segment.
  const outOffset = [...beforeStart];
  const inOffset = [...afterStart];
  const ribbons: string[] = [];
  versions.forEach((_, i) => {
    versions.forEach((__, j) => {
      const count = matrix[i]?.[j] ?? 0;
      if (count <= 0) return;
      const x0 = x(outOffset[i] as number);
      const x1 = x((outOffset[i] as number) + count);
      const y0 = beforeY + barHeight;
      const x2 = x(inOffset[j] as number);
      const x3 = x((inOffset[j] as number) + count);
      const y1 = afterY;
      const mid = (y0 + y1) / 2;
      const moved = i !== j;
      ribbons.push(
        `<path d="M${n(x0)},${n(y0)} C${n(x0)},${n(mid)} ${n(x2)},${n(mid)} ${n(x2)},${n(y1)} L${n(x3)},${n(y1)} C${n(x3)},${n(mid)} ${n(x1)},${n(mid)} ${n(x1)},${n(y0)} Z" fill="${color(i)}" fill-opacity="${moved ? 0.55 : 0.14}"${moved ? ` stroke="${color(i)}" stroke-width="1"` : ""}><title>${escape(`${versions[i]} → ${versions[j]}: ${grouped(count)} keys (${percent((count / total) * 100)} %)`)}</title></path>`,
      );
      outOffset[i] = (outOffset[i] as number) + count;
      inOffset[j] = (inOffset[j] as number) + count;
    });
  });
  parts.push(...ribbons);
  const stacked = (y: number, starts: number[], totals: number[], label: string): void => {
    parts.push(text(left - 12, y + 20, label, { "text-anchor": "end", "font-weight": 600 }));
    totals.forEach((t, i) => {
      if (t <= 0) return;
      const x0 = x(starts[i] as number);
      const w = x((starts[i] as number) + t) - x0;
      parts.push(`<rect x="${n(x0)}" y="${y}" width="${n(w)}" height="${barHeight}" fill="${color(i)}"/>`);
      if (w > 90) parts.push(text(x0 + 8, y + 20, `${versions[i]} ${percent((t / total) * 100)} %`, { fill: "#ffffff", "font-weight": 600 }));
    });
  };
  stacked(beforeY, beforeStart, rowTotals, "before");
  stacked(afterY, afterStart, columnTotals, "after");
  // Moved flows, labelled between the bars.
  const movedRows: string[] = [];
  versions.forEach((from, i) =>
    versions.forEach((to, j) => {
      const count = matrix[i]?.[j] ?? 0;
      if (i !== j && count > 0) movedRows.push(`${from} → ${to}: ${grouped(count)} keys (${percent((count / total) * 100)} %)`);
    }),
  );
  parts.push(
    text(left, afterY + barHeight + 24, movedRows.length === 0 ? "no key changes version" : `moved: ${movedRows.slice(0, 6).join("   ·   ")}`, { fill: MUTED }),
  );
  return { height: afterY + barHeight + 48, body: parts.join("\n") };
}

// ---- rollout timeline ---------------------------------------------------------------------------------------------

interface Panel {
  readonly top: number;
  readonly height: number;
  readonly max: number;
}

/**
 * The rollout over time: the canary's weight, error rate and p99 latency of both versions (with the plan's limits
 * as dashed lines), step boundaries, every check's verdict, and the abort, promotion or hold.
 *
 * @example
 * ```ts
 * writeFileSync("rollout.svg", svgDocument("rollout", [timelineSection(chart)]));
 * ```
 */
export function timelineSection(chart: RolloutChart): SvgSection {
  const left = 72;
  const right = 28;
  const width = SVG_WIDTH - left - right;
  const duration = Math.max(1, chart.durationMs);
  const x = (at: number): number => left + (Math.max(0, Math.min(duration, at)) / duration) * width;
  const head = heading(chart.title, chart.subtitle);
  const shift = head.bottom - 50;
  const parts: string[] = [head.markup];
  const stableColor = SVG_VERSION_COLORS[0] as string;
  const canaryColor = SVG_VERSION_COLORS[1] as string;

  // Legend.
  const legend: [string, string][] = [
    [`${chart.canary} (canary)`, canaryColor],
    [`${chart.stable} (stable)`, stableColor],
  ];
  let lx = left;
  for (const [label, color] of legend) {
    parts.push(`<rect x="${lx}" y="${66 + shift}" width="18" height="4" rx="1" fill="${color}"/>`, text(lx + 24, 72 + shift, label));
    lx += 34 + label.length * 6.6;
  }
  parts.push(line(lx, 68 + shift, lx + 18, 68 + shift, "#d62728", ' stroke-width="1.5" stroke-dasharray="5 3"'), text(lx + 24, 72 + shift, "limit"));
  lx += 70;
  for (const [verdict, label] of [
    ["pass", "check passed"],
    ["inconclusive", "inconclusive"],
    ["fail", "check failed"],
  ] as const) {
    parts.push(`<circle cx="${lx + 5}" cy="${68 + shift}" r="4" fill="${SVG_VERDICT_COLORS[verdict]}"/>`, text(lx + 14, 72 + shift, label));
    lx += 30 + label.length * 6.6;
  }

  // Samples per pixel column group: aggregate into ~240 buckets so lines stay readable.
  const buckets = Math.min(150, Math.max(1, chart.samples.length));
  const bucketSpan = duration / buckets;
  interface Point {
    readonly at: number;
    readonly canaryError: number | null;
    readonly stableError: number | null;
    readonly canaryP99: number | null;
    readonly stableP99: number | null;
  }
  const points: Point[] = [];
  for (let i = 0; i < buckets; i++) {
    const from = i * bucketSpan;
    const to = (i + 1) * bucketSpan;
    const canary = spanFigures(chart.samples, "canary", from, to);
    const stable = spanFigures(chart.samples, "stable", from, to);
    if (canary.requests === 0 && stable.requests === 0) continue;
    points.push({ at: to, canaryError: canary.errorPercent, stableError: stable.errorPercent, canaryP99: canary.p99Ms, stableP99: stable.p99Ms });
  }

  const weightPanel: Panel = { top: 100 + shift, height: 150, max: 100 };
  const checksY = weightPanel.top + weightPanel.height + 22;
  const values = (pick: (p: Point) => number | null): number[] => points.map(pick).filter((v): v is number => v !== null);
  const limits = chart.limits;
  const errorTop = Math.max(
    0.5,
    ...values((p) => p.canaryError),
    ...values((p) => p.stableError),
    limits.maxErrorRate ?? 0,
    ...(limits.maxErrorRateIncrease === null ? [] : values((p) => (p.stableError === null ? null : p.stableError + (limits.maxErrorRateIncrease as number)))),
  );
  const errorPanel: Panel = { top: checksY + 40, height: 110, max: niceMax(errorTop * 1.08) };
  const p99Top = Math.max(
    1,
    ...values((p) => p.canaryP99),
    ...values((p) => p.stableP99),
    limits.maxP99Ms ?? 0,
    ...(limits.maxP99Ratio === null ? [] : values((p) => (p.stableP99 === null ? null : p.stableP99 * (limits.maxP99Ratio as number)))),
  );
  const p99Panel: Panel = { top: errorPanel.top + errorPanel.height + 40, height: 110, max: niceMax(p99Top * 1.08) };
  const axisY = p99Panel.top + p99Panel.height;
  const y = (panel: Panel, value: number): number => panel.top + panel.height - (Math.max(0, Math.min(panel.max, value)) / panel.max) * panel.height;

  // Panels: grid, y ticks, titles.
  const drawPanel = (panel: Panel, title: string, unit: (v: number) => string): void => {
    parts.push(text(left, panel.top - 10, title, { "font-weight": 600 }));
    for (let k = 0; k <= 4; k++) {
      const value = (panel.max * k) / 4;
      const yy = y(panel, value);
      parts.push(line(left, yy, left + width, yy, k === 0 ? AXIS : GRID));
      parts.push(text(left - 8, yy + 4, unit(value), { "text-anchor": "end", fill: MUTED, "font-size": 11 }));
    }
  };
  drawPanel(weightPanel, `weight of ${chart.canary} (canary)`, (v) => `${percent(v, 0)} %`);
  drawPanel(errorPanel, "error rate", (v) => `${percent(v)} %`);
  drawPanel(p99Panel, "p99 latency", (v) => `${percent(v, 0)} ms`);

  // Time axis with ticks on every panel.
  const ticks = timeTicks(duration, 10);
  for (const t of ticks) {
    const xx = x(t);
    for (const panel of [weightPanel, errorPanel, p99Panel]) parts.push(line(xx, panel.top, xx, panel.top + panel.height, GRID));
    parts.push(line(xx, axisY, xx, axisY + 5, AXIS));
    parts.push(text(xx, axisY + 19, t === 0 ? "0" : formatDuration(t), { "text-anchor": "middle", fill: MUTED, "font-size": 11 }));
  }
  parts.push(text(left + width, axisY + 36, "time since start", { "text-anchor": "end", fill: MUTED, "font-size": 11 }));

  // Step boundaries across every panel, labelled above the weight panel.
  // Labels take the first of two rows where they fit; a label that fits in neither is left out.
  const rowEnds = [-Infinity, -Infinity];
  for (const step of chart.steps) {
    const xx = x(step.at);
    parts.push(line(xx, weightPanel.top, xx, axisY, AXIS, ' stroke-dasharray="3 3"'));
    const label = `${step.name ?? `step ${step.index + 1}`} · ${percent(step.weight)} %`;
    const row = rowEnds.findIndex((end) => xx + 3 > end + 6);
    if (row < 0) continue;
    parts.push(text(xx + 3, weightPanel.top + 12 + row * 13, label, { fill: MUTED, "font-size": 10.5 }));
    rowEnds[row] = xx + 3 + label.length * 5.8;
  }

  // The weight: a filled step function, up to the end of the data.
  const end = Math.min(duration, chart.endMs ?? duration);
  const weightPath: string[] = [`M${n(x(0))},${n(y(weightPanel, 0))}`];
  let previous = weightAt(chart, 0);
  weightPath.push(`L${n(x(0))},${n(y(weightPanel, previous))}`);
  for (const point of chart.weight) {
    if (point.at > end) break;
    if (point.at <= 0) {
      previous = point.weight;
      weightPath[1] = `L${n(x(0))},${n(y(weightPanel, previous))}`;
      continue;
    }
    weightPath.push(`L${n(x(point.at))},${n(y(weightPanel, previous))}`, `L${n(x(point.at))},${n(y(weightPanel, point.weight))}`);
    previous = point.weight;
  }
  weightPath.push(`L${n(x(end))},${n(y(weightPanel, previous))}`);
  const outline = weightPath.slice(1).join(" ").replace(/^L/, "M");
  parts.push(`<path d="${weightPath.join(" ")} L${n(x(end))},${n(y(weightPanel, 0))} Z" fill="${canaryColor}" fill-opacity="0.16"/>`);
  parts.push(`<path d="${outline}" fill="none" stroke="${canaryColor}" stroke-width="2"/>`);

  // Checks strip.
  parts.push(text(left - 8, checksY + 4, "checks", { "text-anchor": "end", fill: MUTED, "font-size": 11 }));
  for (const check of chart.checks) {
    parts.push(`<circle cx="${n(x(check.at))}" cy="${checksY}" r="3.5" fill="${SVG_VERDICT_COLORS[check.verdict]}"/>`);
  }

  // Lines of figures, broken where a version had no traffic.
  const series = (panel: Panel, pick: (p: Point) => number | null, color: string, dashed = false): void => {
    let d = "";
    let open = false;
    for (const p of points) {
      const v = pick(p);
      if (v === null) {
        open = false;
        continue;
      }
      d += `${open ? "L" : "M"}${n(x(p.at))},${n(y(panel, v))} `;
      open = true;
    }
    const stroke = dashed ? 'stroke-width="1.2" stroke-dasharray="5 3"' : 'stroke-width="1.8"';
    if (d !== "") parts.push(`<path d="${d.trim()}" fill="none" stroke="${color}" ${stroke} stroke-linejoin="round"/>`);
  };
  const limitLine = (panel: Panel, value: number, label: string): void => {
    const yy = y(panel, value);
    parts.push(line(left, yy, left + width, yy, "#d62728", ' stroke-width="1.2" stroke-dasharray="5 3"'));
    parts.push(text(left + width - 4, yy - 4, label, { "text-anchor": "end", fill: "#d62728", "font-size": 10.5 }));
  };
  series(errorPanel, (p) => p.stableError, stableColor);
  series(errorPanel, (p) => p.canaryError, canaryColor);
  if (limits.maxErrorRate !== null) limitLine(errorPanel, limits.maxErrorRate, `max ${percent(limits.maxErrorRate)} %`);
  if (limits.maxErrorRateIncrease !== null) {
    const inc = limits.maxErrorRateIncrease;
    series(errorPanel, (p) => (p.stableError === null ? null : p.stableError + inc), "#d62728", true);
    parts.push(text(left + 6, errorPanel.top + 12, `limit: ${chart.stable} + ${percent(inc)} pt`, { fill: "#d62728", "font-size": 10.5 }));
  }
  series(p99Panel, (p) => p.stableP99, stableColor);
  series(p99Panel, (p) => p.canaryP99, canaryColor);
  if (limits.maxP99Ms !== null) limitLine(p99Panel, limits.maxP99Ms, `max ${percent(limits.maxP99Ms, 0)} ms`);
  if (limits.maxP99Ratio !== null) {
    const ratio = limits.maxP99Ratio;
    series(p99Panel, (p) => (p.stableP99 === null ? null : p.stableP99 * ratio), "#d62728", true);
    parts.push(text(left + 6, p99Panel.top + 12, `limit: ${percent(ratio)}× ${chart.stable}`, { fill: "#d62728", "font-size": 10.5 }));
  }

  // Abort, promotion, hold, pause: a vertical rule across the panels and a label.
  const markerColor = {
    aborted: "#d62728",
    promoted: "#2e9d5b",
    completed: "#2e9d5b",
    paused: "#e0a100",
    windowClosed: "#2e9d5b",
    rollbackStep: "#d62728",
  } as const;
  const symbol = { aborted: "✖", promoted: "★", completed: "■", paused: "‖", windowClosed: "✓", rollbackStep: "↓" } as const;
  let labelRow = 0;
  for (const marker of chart.markers) {
    if (marker.kind === "rollbackStep") continue;
    const xx = x(marker.at);
    const color = markerColor[marker.kind];
    parts.push(line(xx, weightPanel.top - 4, xx, axisY, color, ' stroke-width="1.6"'));
    const label = `${symbol[marker.kind]} ${formatDuration(marker.at)}: ${truncate(marker.label, 90)}`;
    const anchorEnd = xx > left + width * 0.55;
    const ly = weightPanel.top + 44 + labelRow * 16;
    labelRow = (labelRow + 1) % 3;
    parts.push(
      text(anchorEnd ? xx - 6 : xx + 6, ly, label, { fill: color, "font-weight": 600, "font-size": 11.5, "text-anchor": anchorEnd ? "end" : "start" }),
    );
  }
  return { height: axisY + 52, body: parts.join("\n") };
}

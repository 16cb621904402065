/**
 * Charts drawn with Unicode block characters: horizontal bars (eighths of a cell), sparklines, and the rollout
 * timeline (the canary's weight as an area, error rate and p99 as sparklines, checks and events on their own rows).
 * Colour is added only when the output wants it; without colour every chart still reads (symbols, not hues).
 */
import { formatDuration } from "../../index.js";
import { type StyleName, VERSION_STYLES, paint, percent } from "../output.js";
import { type RolloutChart, peakWeight, spanFigures, timeTicks } from "./series.js";

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const LEVELS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
const SPARK = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/**
 * A horizontal bar `fraction` (0–1) of `width` cells long, to an eighth of a cell.
 *
 * @example
 * ```ts
 * bar(0.9, 20); // "██████████████████"
 * ```
 */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.max(0, Math.min(1, fraction)) * width * 8);
  return "█".repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] as string);
}

/** A bar chart row per item: label, bar, value text. */
export interface BarRow {
  readonly label: string;
  readonly fraction: number;
  readonly value: string;
  readonly style?: StyleName;
  /** Where a reference mark (e.g. the configured weight) goes, 0–1. */
  readonly mark?: number;
}

/**
 * Horizontal bars with labels and values; a `mark` draws `┊` at the expected position when the bar does not
 * reach it.
 *
 * @example
 * ```ts
 * barChart([{ label: "v1", fraction: 0.9, value: "90.01 %" }, { label: "v2", fraction: 0.1, value: "9.99 %" }], 80, false);
 * ```
 */
export function barChart(rows: readonly BarRow[], width: number, color: boolean): string[] {
  const labelWidth = Math.max(...rows.map((r) => [...r.label].length), 1);
  const valueWidth = Math.max(...rows.map((r) => [...r.value].length), 1);
  const span = Math.max(10, width - labelWidth - valueWidth - 6);
  return rows.map((row) => {
    let drawn = bar(row.fraction, span);
    const cells = [...drawn].length;
    if (row.mark !== undefined) {
      const at = Math.min(span - 1, Math.round(row.mark * span));
      if (at >= cells) drawn = drawn + " ".repeat(at - cells) + paint(color, "dim", "┊");
    }
    const shown = paint(color, row.style, drawn);
    const visible = [...drawn].length;
    return `  ${row.label.padEnd(labelWidth)}  ${shown}${" ".repeat(Math.max(0, span - visible))}  ${row.value.padStart(valueWidth)}`;
  });
}

/**
 * A sparkline of `values` on the scale 0…`max` (`null` values are blank).
 *
 * @example
 * ```ts
 * sparkline([0, 1, 2, 4, 8], 8); // "▁▁▂▄█"
 * ```
 */
export function sparkline(values: readonly (number | null)[], max: number): string {
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return " ";
      const level = max > 0 ? Math.min(7, Math.max(0, Math.round((v / max) * 7))) : 0;
      return SPARK[level] as string;
    })
    .join("");
}

/** Styles of the stable (first) and canary (second) version. */
const STABLE_STYLE = VERSION_STYLES[0] as StyleName;
const CANARY_STYLE = VERSION_STYLES[1] as StyleName;

/**
 * The rollout timeline in the terminal: the canary's weight (area, 0–100 %), error rate and p99 of both versions
 * (sparklines on a shared scale, the worst minute of each column), checks (`·` pass, `?` inconclusive, `✗`
 * fail) and events (step numbers, `✖` abort, `★` promotion, `■` hold, `‖` pause), over a time axis.
 *
 * @example
 * ```ts
 * for (const line of timelineChart(chart, 100, true)) process.stdout.write(`${line}\n`);
 * ```
 */
export function timelineChart(
  chart: RolloutChart,
  width: number,
  color: boolean,
  options: { readonly height?: number; readonly legend?: boolean } = {},
): string[] {
  const left = 14;
  const columns = Math.max(20, width - left - 12);
  const height = options.height ?? 8;
  const duration = Math.max(1, chart.durationMs);
  const span = duration / columns;
  const lines: string[] = [];
  const c = color;

  // Weight area.
  const end = Math.min(duration, chart.endMs ?? duration);
  // Columns past the end of the data stay empty (a live rollout fills them as it goes).
  const past = (i: number): boolean => i * span > end;
  const weights: number[] = [];
  for (let i = 0; i < columns; i++) weights.push(past(i) ? -1 : peakWeight(chart, i * span, (i + 1) * span));
  const lastSample = chart.samples.length === 0 ? -1 : (chart.samples[chart.samples.length - 1] as { at: number }).at;
  for (let row = height - 1; row >= 0; row--) {
    const label = row === height - 1 ? "100 %" : row === Math.floor((height - 1) / 2) ? " 50 %" : row === 0 ? "  0 %" : "";
    const axis = row === height - 1 || row === Math.floor((height - 1) / 2) || row === 0 ? "┤" : "│";
    let cells = "";
    for (const w of weights) {
      const filled = w < 0 ? 0 : Math.round((w / 100) * height * 8) - row * 8;
      cells += LEVELS[Math.max(0, Math.min(8, filled))] as string;
    }
    const title = row === height - 1 ? "weight" : "";
    lines.push(`${paint(c, "bold", title)}${" ".repeat(left - 7 - title.length)}${label.padStart(6)}${axis}${paint(c, CANARY_STYLE, cells)}`);
  }
  // Time axis.
  const ticks = timeTicks(duration, Math.max(2, Math.floor(columns / 12)));
  let axis = "";
  let labels = "";
  for (let i = 0; i < columns; i++) axis += ticks.some((t) => Math.floor(t / span) === i || (i === columns - 1 && t >= duration)) ? "┬" : "─";
  for (const t of ticks) {
    const at = Math.min(columns - 1, Math.floor(t / span));
    const text = t === 0 ? "0" : formatDuration(t);
    if (at >= labels.length) labels = labels.padEnd(at) + text;
  }
  lines.push(`${" ".repeat(left - 1)}└${axis}`);
  lines.push(`${" ".repeat(left)}${labels}`);

  // Error rate and p99: sparklines per version on a shared scale.
  const errors = { canary: [] as (number | null)[], stable: [] as (number | null)[] };
  const p99 = { canary: [] as (number | null)[], stable: [] as (number | null)[] };
  const last = { canaryError: null as number | null, stableError: null as number | null, canaryP99: null as number | null, stableP99: null as number | null };
  for (let i = 0; i < columns; i++) {
    const from = i * span;
    const to = (i + 1) * span;
    const canary = spanFigures(chart.samples, "canary", from, to);
    const stable = spanFigures(chart.samples, "stable", from, to);
    const none = canary.requests === 0 && stable.requests === 0;
    if (past(i) || from > lastSample) {
      for (const series of [errors.canary, errors.stable, p99.canary, p99.stable]) series.push(null);
      continue;
    }
    // A column between two samples repeats the last one, so sparse samples still draw a continuous line.
    if (!none) {
      last.canaryError = canary.errorPercent;
      last.stableError = stable.errorPercent;
      last.canaryP99 = canary.p99Ms;
      last.stableP99 = stable.p99Ms;
    }
    const weightNow = weights[i] as number;
    errors.canary.push(weightNow > 0 || canary.requests > 0 ? last.canaryError : null);
    errors.stable.push(last.stableError);
    p99.canary.push(weightNow > 0 || canary.requests > 0 ? last.canaryP99 : null);
    p99.stable.push(last.stableP99);
  }
  const maxOf = (...series: (number | null)[][]): number => Math.max(0, ...series.flat().filter((v): v is number => v !== null));
  const errorMax = maxOf(errors.canary, errors.stable);
  const p99Max = maxOf(p99.canary, p99.stable);
  const name = (text: string): string => text.slice(0, 7).padStart(7);
  lines.push("");
  lines.push(
    `${paint(c, "bold", "errors")}${" ".repeat(left - 6 - 8)}${name(chart.canary)} ${paint(c, CANARY_STYLE, sparkline(errors.canary, errorMax))}  ${paint(c, "dim", `max ${percent(errorMax)} %`)}`,
  );
  lines.push(`${" ".repeat(left - 8)}${name(chart.stable)} ${paint(c, STABLE_STYLE, sparkline(errors.stable, errorMax))}`);
  lines.push(
    `${paint(c, "bold", "p99")}${" ".repeat(left - 3 - 8)}${name(chart.canary)} ${paint(c, CANARY_STYLE, sparkline(p99.canary, p99Max))}  ${paint(c, "dim", `max ${Math.round(p99Max)} ms`)}`,
  );
  lines.push(`${" ".repeat(left - 8)}${name(chart.stable)} ${paint(c, STABLE_STYLE, sparkline(p99.stable, p99Max))}`);

  // Checks and events rows.
  const checkRow: string[] = Array.from({ length: columns }, () => " ");
  const rank = { pass: 1, inconclusive: 2, fail: 3 } as const;
  const worst: number[] = Array.from({ length: columns }, () => 0);
  for (const check of chart.checks) {
    const i = Math.min(columns - 1, Math.floor(check.at / span));
    worst[i] = Math.max(worst[i] as number, rank[check.verdict]);
  }
  worst.forEach((r, i) => {
    if (r === 1) checkRow[i] = paint(c, "green", "·");
    else if (r === 2) checkRow[i] = paint(c, "yellow", "?");
    else if (r === 3) checkRow[i] = paint(c, "red", "✗");
  });
  const eventRow: string[] = Array.from({ length: columns }, () => " ");
  for (const step of chart.steps) {
    const i = Math.min(columns - 1, Math.floor(step.at / span));
    eventRow[i] = paint(c, "bold", step.index < 9 ? String(step.index + 1) : "•");
  }
  const symbols: Record<string, [string, StyleName]> = {
    aborted: ["✖", "red"],
    promoted: ["★", "green"],
    completed: ["■", "green"],
    paused: ["‖", "yellow"],
    windowClosed: ["✓", "green"],
    rollbackStep: ["↓", "red"],
  };
  for (const marker of chart.markers) {
    const [symbol, style] = symbols[marker.kind] ?? ["•", "gray"];
    eventRow[Math.min(columns - 1, Math.floor(marker.at / span))] = paint(c, style, symbol);
  }
  lines.push("");
  lines.push(`${paint(c, "bold", "checks")}${" ".repeat(left - 6)}${checkRow.join("")}`);
  lines.push(`${paint(c, "bold", "events")}${" ".repeat(left - 6)}${eventRow.join("")}`);
  if (options.legend !== false) {
    lines.push("");
    const indent = width >= 80 ? left : 2;
    const legend = [
      "steps:",
      ...chart.steps.map((s) => `${s.index < 9 ? s.index + 1 : "•"} ${percent(s.weight)} %`),
      "·",
      "checks:",
      "· pass",
      "? inconclusive",
      "✗ fail",
      "·",
      "events:",
      "✖ abort",
      "★ promoted",
      "✓ final",
      "■ completed",
      "‖ paused",
    ];
    for (const line of wrap(legend, width - indent)) lines.push(`${" ".repeat(indent)}${paint(c, "dim", line)}`);
  }
  return lines;
}

/** Joins words with two spaces into lines of at most `width` characters ("·" separates groups on one line). */
function wrap(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    const next = current === "" ? word : `${current}  ${word}`;
    if ([...next].length > width && current !== "") {
      lines.push(current.replace(/\s+·$/, ""));
      current = word === "·" ? "" : word;
    } else current = next;
  }
  if (current !== "") lines.push(current.replace(/\s+·$/, ""));
  return lines;
}

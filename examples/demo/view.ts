/**
 * What the demo shows while it runs. On a terminal: one screen redrawn a few times a second (the rollout timeline
 * chart of `turnout simulate`, live per-version figures, the last verdict, the events). Elsewhere (CI, a pipe):
 * plain lines, one per event and one status line per second.
 */
import type { RolloutEvent, RolloutStatus } from "turnout";
import type { RolloutChart } from "../../src/cli/charts/series.js";
import { timelineChart } from "../../src/cli/charts/terminal.js";
import { paint, percent, table } from "../../src/cli/output.js";

/** One version's figures over the last second. */
export interface LiveFigures {
  readonly version: string;
  readonly rps: number;
  readonly errorPercent: number | null;
  readonly p99Ms: number | null;
}

/** Everything one frame shows. */
export interface Frame {
  readonly title: string;
  readonly setup: string;
  readonly elapsedMs: number;
  readonly chart: RolloutChart;
  readonly status: RolloutStatus;
  readonly live: readonly LiveFigures[];
  readonly events: readonly RolloutEvent[];
  readonly startedAt: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Cuts plain text to `width` characters. */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

function verdictLine(color: boolean, status: RolloutStatus, width: number): string {
  const health = status.lastHealth;
  if (health === null) return paint(color, "dim", "no check yet");
  const style = health.verdict === "pass" ? "green" : health.verdict === "fail" ? "red" : "yellow";
  const mark = health.verdict === "pass" ? "✓" : health.verdict === "fail" ? "✗" : "?";
  return `${paint(color, style, `${mark} ${health.verdict}`)} — ${fit(health.message, width - health.verdict.length - 5)}`;
}

function figures(live: LiveFigures): string {
  const errors = live.errorPercent === null ? "–" : `${percent(live.errorPercent, 1)} %`;
  const p99 = live.p99Ms === null ? "–" : `${Math.round(live.p99Ms)} ms`;
  return `${live.version} ${Math.round(live.rps)} req/s ${errors} err p99 ${p99}`;
}

/**
 * The full-screen frame for a terminal.
 *
 * @example
 * ```ts
 * process.stdout.write(`\u001b[H\u001b[J${screen(frame, 100, true).join("\n")}`);
 * ```
 */
export function screen(frame: Frame, width: number, color: boolean): string[] {
  const lines = [paint(color, "bold", fit(frame.title, width)), paint(color, "dim", fit(frame.setup, width)), ""];
  lines.push(...timelineChart(frame.chart, width, color, { height: 6, legend: false }));
  lines.push("");
  const rows = [["", "rate", "errors", "p99"].map((h) => paint(color, "dim", h))];
  for (const live of frame.live) {
    rows.push([
      live.version,
      `${Math.round(live.rps)} req/s`,
      live.errorPercent === null ? "–" : `${percent(live.errorPercent, 1)} %`,
      live.p99Ms === null ? "–" : `${Math.round(live.p99Ms)} ms`,
    ]);
  }
  for (const line of table(rows, [1, 2, 3])) lines.push(`  ${line}`);
  const s = frame.status;
  lines.push("");
  lines.push(
    `  ${paint(color, "bold", s.phase)} · step ${Math.min(s.stepIndex + 1, s.stepCount)}/${s.stepCount} · weight ${percent(s.weight)} % · ${seconds(frame.elapsedMs)}` +
      (s.holdRemainingMs === null ? "" : ` · ${seconds(s.holdRemainingMs)} left in the step`),
  );
  lines.push(`  last check: ${verdictLine(color, s, width - 14)}`);
  lines.push("");
  for (const event of frame.events.filter((e) => e.type !== "check").slice(-6)) {
    lines.push(`  ${paint(color, "dim", seconds(event.at - frame.startedAt).padStart(6))}  ${event.type.padEnd(12)} ${fit(event.message, width - 23)}`);
  }
  return lines.map((line) => line.replace(/\s+$/, ""));
}

/**
 * A plain status line (CI, pipes).
 *
 * @example
 * ```ts
 * console.log(statusLine(frame)); // "[  3.0s] analysing  weight 25 % · v1 150 req/s 0 % err p99 36 ms · v2 50 req/s 0 % err p99 35 ms"
 * ```
 */
export function statusLine(frame: Frame): string {
  return `[${seconds(frame.elapsedMs).padStart(6)}] ${frame.status.phase.padEnd(12)} weight ${percent(frame.status.weight)} % · ${frame.live.map(figures).join(" · ")}`;
}

/**
 * A plain event line.
 *
 * @example
 * ```ts
 * console.log(eventLine(event, startedAt)); // "[  4.0s] step       25 %  step 2/3: weight 25%, holding 4s"
 * ```
 */
export function eventLine(event: RolloutEvent, startedAt: number): string {
  return `[${seconds(event.at - startedAt).padStart(6)}] ${event.type.padEnd(12)} ${`${percent(event.weight)} %`.padStart(5)}  ${event.message}`;
}

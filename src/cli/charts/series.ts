/**
 * The data a rollout chart draws, independent of where it came from: a simulation's timeline (`turnout simulate
 * --plan`) or a live rollout's events and stats (the demo). Terminal and SVG renderers both read this.
 */
import type { CompiledPlan, HealthVerdict, RolloutEvent, SimulationResult, VersionFigures } from "../../index.js";

/** One measurement of both versions over a short span ending at `at` (ms since the start). */
export interface ChartSample {
  readonly at: number;
  readonly canary: VersionFigures | null;
  readonly stable: VersionFigures | null;
}

/** A moment worth marking on the chart. */
export interface ChartMarker {
  readonly at: number;
  readonly kind: "aborted" | "promoted" | "completed" | "paused" | "windowClosed" | "rollbackStep";
  readonly label: string;
}

/** Health limits of the plan's analysis, drawn as reference lines. */
export interface ChartLimits {
  readonly maxErrorRate: number | null;
  readonly maxErrorRateIncrease: number | null;
  readonly maxP99Ms: number | null;
  readonly maxP99Ratio: number | null;
}

/**
 * Everything a rollout chart shows. Times are milliseconds since the start.
 *
 * @example
 * ```ts
 * const data = chartOfSimulation(result, plan, { title: "rollout.json", stable: "v1", canary: "v2" });
 * ```
 */
export interface RolloutChart {
  readonly title: string;
  readonly subtitle: string;
  readonly stable: string;
  readonly canary: string;
  readonly durationMs: number;
  /** Data exists up to here (a live rollout still running); the rest of the time axis stays empty. Default: the whole axis. */
  readonly endMs?: number;
  /** The canary's weight: a step function, one point per change. */
  readonly weight: readonly { readonly at: number; readonly weight: number }[];
  readonly samples: readonly ChartSample[];
  readonly checks: readonly { readonly at: number; readonly verdict: HealthVerdict }[];
  readonly steps: readonly { readonly at: number; readonly index: number; readonly weight: number; readonly name: string | null }[];
  readonly markers: readonly ChartMarker[];
  readonly limits: ChartLimits;
}

/**
 * The limits of the first analysed step (or the rollback window's analysis).
 *
 * @example
 * ```ts
 * limitsOf(compilePlan({ steps: [{ weight: 5, pause: "5m" }], analysis: { maxErrorRate: 5 } })).maxErrorRate; // 5
 * ```
 */
export function limitsOf(plan: CompiledPlan): ChartLimits {
  const analysis = plan.steps.find((s) => s.analysis !== null)?.analysis ?? plan.windowAnalysis;
  return {
    maxErrorRate: analysis?.maxErrorRate ?? null,
    maxErrorRateIncrease: analysis?.maxErrorRateIncrease ?? null,
    maxP99Ms: analysis?.maxP99Ms ?? null,
    maxP99Ratio: analysis?.maxP99Ratio ?? null,
  };
}

/**
 * Chart steps, markers, checks and weight changes from rollout events (`at` relative to `startAt`).
 *
 * @example
 * ```ts
 * const { weight, checks, steps, markers } = fromEvents(rollout events, startedAt, rollout.plan);
 * ```
 */
export function fromEvents(
  events: readonly RolloutEvent[],
  startAt: number,
  plan: CompiledPlan,
): Pick<RolloutChart, "weight" | "checks" | "steps" | "markers"> {
  const weight: { at: number; weight: number }[] = [{ at: 0, weight: 0 }];
  const checks: { at: number; verdict: HealthVerdict }[] = [];
  const steps: { at: number; index: number; weight: number; name: string | null }[] = [];
  const markers: ChartMarker[] = [];
  let lastStep = -1;
  for (const event of events) {
    const at = event.at - startAt;
    if ((weight.at(-1) as { weight: number }).weight !== event.weight) weight.push({ at, weight: event.weight });
    switch (event.type) {
      case "check":
        if (event.health !== undefined) checks.push({ at, verdict: event.health.verdict });
        break;
      case "step":
        if (event.stepIndex !== lastStep && event.stepIndex < plan.steps.length) {
          lastStep = event.stepIndex;
          steps.push({ at, index: event.stepIndex, weight: event.weight, name: plan.steps[event.stepIndex]?.name ?? null });
        }
        break;
      case "aborted":
        markers.push({ at, kind: "aborted", label: event.message.startsWith("aborted") ? event.message : `aborted: ${event.message}` });
        break;
      case "promoted":
        markers.push({ at, kind: "promoted", label: "promoted to 100 %" });
        break;
      case "completed":
        markers.push({ at, kind: "completed", label: `completed at ${event.weight} %` });
        break;
      case "paused":
        markers.push({ at, kind: "paused", label: `paused (${event.reason})` });
        break;
      case "windowClosed":
        markers.push({ at, kind: "windowClosed", label: "rollback window closed" });
        break;
      case "rollbackStep":
        markers.push({ at, kind: "rollbackStep", label: `rolled back to ${event.weight} %` });
        break;
      default:
        break;
    }
  }
  return { weight, checks, steps, markers };
}

/**
 * The chart of a {@link SimulationResult}: periodic samples from its timeline, everything else from its events.
 *
 * @example
 * ```ts
 * const chart = chartOfSimulation(simulateRollout(plan, traffic), compilePlan(plan), { title: "plan.json", subtitle: "", stable: "v1", canary: "v2" });
 * ```
 */
export function chartOfSimulation(
  result: SimulationResult,
  plan: CompiledPlan,
  labels: { readonly title: string; readonly subtitle: string; readonly stable: string; readonly canary: string; readonly startAt?: number },
): RolloutChart {
  const startAt = labels.startAt ?? 0;
  const samples = result.timeline.filter((p) => p.event === null).map((p) => ({ at: p.elapsedMs, canary: p.canary, stable: p.stable }));
  return {
    title: labels.title,
    subtitle: labels.subtitle,
    stable: labels.stable,
    canary: labels.canary,
    // A little room after the end, so that a final abort or promotion shows its effect on the weight.
    durationMs: Math.max(1, Math.ceil(result.durationMs * 1.03)),
    samples,
    limits: limitsOf(plan),
    ...fromEvents(result.events, startAt, plan),
  };
}

/**
 * The canary's weight at `at` (the step function's value).
 *
 * @example
 * ```ts
 * weightAt({ weight: [{ at: 0, weight: 0 }, { at: 60_000, weight: 5 }] }, 90_000); // 5
 * ```
 */
export function weightAt(chart: Pick<RolloutChart, "weight">, at: number): number {
  let value = 0;
  for (const point of chart.weight) {
    if (point.at > at) break;
    value = point.weight;
  }
  return value;
}

/**
 * The highest weight within (from, to], or the weight at `to`.
 *
 * @example
 * ```ts
 * peakWeight({ weight: [{ at: 0, weight: 50 }, { at: 10, weight: 0 }] }, 0, 20); // 50
 * ```
 */
export function peakWeight(chart: Pick<RolloutChart, "weight">, from: number, to: number): number {
  let peak = weightAt(chart, to);
  for (const point of chart.weight) if (point.at > from && point.at <= to) peak = Math.max(peak, point.weight);
  return peak;
}

/** Figures of one version over a span: requests and errors added, p99 the worst sample's. */
export interface SpanFigures {
  readonly requests: number;
  readonly errors: number;
  readonly errorPercent: number | null;
  readonly p99Ms: number | null;
}

/**
 * Adds up the samples in (from, to] for one version.
 *
 * @example
 * ```ts
 * spanFigures(chart.samples, "canary", 0, 60_000).errorPercent; // the canary's error rate over the first minute
 * ```
 */
export function spanFigures(samples: readonly ChartSample[], which: "canary" | "stable", from: number, to: number): SpanFigures {
  let requests = 0;
  let errors = 0;
  let p99: number | null = null;
  for (const sample of samples) {
    if (sample.at <= from || sample.at > to) continue;
    const f = sample[which];
    if (f === null || f.requests === 0) continue;
    requests += f.requests;
    errors += f.errors;
    if (f.p99Ms !== null) p99 = Math.max(p99 ?? 0, f.p99Ms);
  }
  return { requests, errors, errorPercent: requests > 0 ? (errors / requests) * 100 : null, p99Ms: p99 };
}

const TIME_STEPS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000, 172_800_000, 604_800_000, 1_209_600_000, 2_592_000_000, 7_776_000_000, 31_536_000_000,
];

/**
 * Round tick positions for a time axis of `durationMs`, at most `count` of them (0 included).
 *
 * @example
 * ```ts
 * timeTicks(5_400_000, 6); // [0, 900000, 1800000, …, 5400000]: every 15 minutes
 * ```
 */
export function timeTicks(durationMs: number, count: number): number[] {
  const step = TIME_STEPS.find((s) => durationMs / s <= count) ?? Math.ceil(durationMs / count);
  const ticks: number[] = [];
  for (let t = 0; t <= durationMs + 1e-9; t += step) ticks.push(t);
  return ticks;
}

/**
 * A round upper bound for a value axis with `ticks` equal, round intervals: 0.83 → 1 (ticks of 0.25), 4.2 → 6,
 * 230 → 240 (ticks of 60).
 *
 * @example
 * ```ts
 * niceMax(230); // 240
 * ```
 */
export function niceMax(value: number, ticks = 4): number {
  if (!(value > 0)) return 1;
  const raw = value / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10]) if (raw <= m * magnitude * (1 + 1e-12)) return Number((m * magnitude * ticks).toPrecision(12));
  return 10 * magnitude * ticks;
}

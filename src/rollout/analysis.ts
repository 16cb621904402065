import type { VersionStats, WindowSummary } from "../types.js";
import { resolveAnalysisSpec } from "./plan.js";
import {
  type AnalysisSpec,
  HealthCriterion,
  type CriterionResult,
  type Health,
  type ProviderAnswer,
  type ProviderFigures,
  type ResolvedAnalysis,
  HealthVerdict,
  type VersionFigures,
} from "./types.js";

/** Float noise allowance: a limit of 5 % is not exceeded by 5.000000000000001 %. */
const EPSILON = 1e-9;

const NO_FIGURES: VersionFigures = Object.freeze({ requests: 0, errors: 0, errorPercent: 0, p99Ms: null });

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Reads one version's figures defensively: a fleet view or a hand-made reader may hand over junk. */
export function figuresOf(stats: VersionStats | undefined): VersionFigures {
  if (stats === undefined || stats === null || typeof stats !== "object") return NO_FIGURES;
  const requests = count(stats.requests);
  const errors = Math.min(count(stats.errors), requests);
  const p99 = stats.latency?.p99;
  return {
    requests,
    errors,
    // errors × 100 / requests, not errorRate × 100: 5 of 100 is exactly 5, where 0.05 × 100 is 5.000000000000001.
    errorPercent: requests > 0 ? (errors * 100) / requests : 0,
    p99Ms: typeof p99 === "number" && Number.isFinite(p99) && p99 >= 0 ? p99 : null,
  };
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(value.toFixed(digits)));
}

function isResolved(analysis: AnalysisSpec | ResolvedAnalysis): analysis is ResolvedAnalysis {
  return typeof (analysis as { windowMs?: unknown }).windowMs === "number" && "failureLimit" in analysis && "maxErrorRate" in analysis;
}

/**
 * Judges the canary's health over one span of the stats, absolutely and relative to the stable version read from
 * the same span. Never throws on odd numbers from the reader.
 *
 * - Too few requests (the canary below `minRequests`; for relative criteria, the stable too) makes a criterion
 *   inconclusive, never failed: low traffic must not abort a rollout. No requests at all is always too few, also
 *   with `minRequests: 0`, so a step never advances on no data.
 * - A criterion on latency is inconclusive when no latency was recorded.
 * - At a weight of 100 % the relative criteria are `skipped`: no stable traffic is left to compare with.
 * - The verdict is `fail` when any criterion failed, else `inconclusive` when any was, else `pass`. Limits are
 *   inclusive (an error rate equal to `maxErrorRate` passes).
 *
 * @example
 * ```ts
 * const window = stats.window({ windowMs: 300_000, since: stepStartedAt });
 * const health = evaluateHealth(window, { stable: "v1", canary: "v2" }, { maxErrorRateIncrease: 1, maxP99Ratio: 2 });
 * if (health.verdict === "fail") console.log(health.message, health.canary, health.stable);
 * ```
 */
export function evaluateHealth(
  summary: WindowSummary,
  versions: { readonly stable: string; readonly canary: string },
  analysis: AnalysisSpec | ResolvedAnalysis,
  options: { readonly weight?: number } = {},
): Health {
  const settings = isResolved(analysis) ? analysis : resolveAnalysisSpec(analysis);
  const all = summary !== null && typeof summary === "object" && summary.versions !== null && typeof summary.versions === "object" ? summary.versions : {};
  const canary = figuresOf(Object.hasOwn(all, versions.canary) ? all[versions.canary] : undefined);
  const stable = figuresOf(Object.hasOwn(all, versions.stable) ? all[versions.stable] : undefined);
  const from = typeof summary?.from === "number" && Number.isFinite(summary.from) ? summary.from : 0;
  const to = typeof summary?.to === "number" && Number.isFinite(summary.to) ? summary.to : from;
  return judge({ canary, stable, from, to, missing: NOTHING_MISSING }, settings, options.weight ?? 0);
}

/** Which figures a provider had no data for: the criteria that need them are inconclusive. */
interface Missing {
  readonly canaryErrors: boolean;
  readonly stableErrors: boolean;
}
const NOTHING_MISSING: Missing = { canaryErrors: false, stableErrors: false };

function provided(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * Judges the canary's health from figures a provider measured (Prometheus, or your own function), with the same
 * rules as {@link evaluateHealth}. A figure that is `null` or missing has no data: the criteria that need it are
 * inconclusive, never failed.
 *
 * @example
 * ```ts
 * const health = evaluateFigures(
 *   { canary: { requests: 500, errors: 40, p99Ms: 180 }, stable: { requests: 4500, errors: 45, p99Ms: 170 } },
 *   { maxErrorRate: 5 },
 *   { from: Date.now() - 300_000, to: Date.now() },
 * );
 * health.verdict; // "fail": 8 % of the canary's requests failed
 * ```
 */
export function evaluateFigures(
  answer: ProviderAnswer,
  analysis: AnalysisSpec | ResolvedAnalysis,
  options: { readonly weight?: number; readonly from?: number; readonly to?: number } = {},
): Health {
  const settings = isResolved(analysis) ? analysis : resolveAnalysisSpec(analysis);
  const read = (figures: ProviderFigures | undefined): { figures: VersionFigures; errorsMissing: boolean } => {
    const f = isFigures(figures) ? figures : { requests: null };
    const requests = provided(f.requests) ?? 0;
    const errors = provided(f.errors);
    const counted = errors === null ? 0 : Math.min(errors, requests);
    return {
      figures: { requests, errors: counted, errorPercent: requests > 0 ? (counted * 100) / requests : 0, p99Ms: provided(f.p99Ms) },
      errorsMissing: errors === null,
    };
  };
  const canary = read(isFigures(answer) ? answer.canary : undefined);
  const stable = read(isFigures(answer) ? answer.stable : undefined);
  const to = typeof options.to === "number" && Number.isFinite(options.to) ? options.to : 0;
  const from = typeof options.from === "number" && Number.isFinite(options.from) ? options.from : to;
  return judge(
    { canary: canary.figures, stable: stable.figures, from, to, missing: { canaryErrors: canary.errorsMissing, stableErrors: stable.errorsMissing } },
    settings,
    options.weight ?? 0,
  );
}

function isFigures<T>(value: T | undefined): value is T {
  return value !== null && typeof value === "object";
}

interface Measured {
  readonly canary: VersionFigures;
  readonly stable: VersionFigures;
  readonly from: number;
  readonly to: number;
  readonly missing: Missing;
}

function judge(measured: Measured, settings: ResolvedAnalysis, weight: number): Health {
  const { canary, stable, from, to, missing } = measured;
  // At least one request, whatever minRequests says: a check on no traffic must never pass.
  const min = Math.max(1, settings.minRequests);
  const canaryShort = canary.requests < min;
  const stableShort = stable.requests < min;
  const noBaseline = weight >= 100;
  const checks: CriterionResult[] = [];

  const tooFew = (who: string, figures: VersionFigures): string => `${who} has ${figures.requests} of the ${min} requests needed`;
  const shortOf = (): string => (canaryShort ? tooFew("canary", canary) : tooFew("stable baseline", stable));
  /** A criterion that could not be judged: skipped, or inconclusive with why. */
  const unjudged = (criterion: HealthCriterion, outcome: "skipped" | typeof HealthVerdict.Inconclusive, limit: number, message: string): void => {
    checks.push({ criterion, outcome, actual: null, limit, message });
  };
  /** A criterion judged: `actual` within `limit` (inclusive, with float noise allowed) passes. */
  const judged = (criterion: HealthCriterion, actual: number, limit: number, describe: (ok: boolean) => string): void => {
    const ok = actual <= limit + EPSILON;
    checks.push({ criterion, outcome: ok ? HealthVerdict.Pass : HealthVerdict.Fail, actual, limit, message: describe(ok) });
  };

  if (settings.maxErrorRate !== null) {
    const limit = settings.maxErrorRate;
    if (canaryShort) unjudged(HealthCriterion.MaxErrorRate, HealthVerdict.Inconclusive, limit, tooFew("canary", canary));
    else if (missing.canaryErrors) unjudged(HealthCriterion.MaxErrorRate, HealthVerdict.Inconclusive, limit, "no data for the canary's errors");
    else {
      judged(
        HealthCriterion.MaxErrorRate,
        canary.errorPercent,
        limit,
        (ok) =>
          `canary error rate ${fmt(canary.errorPercent)}% ${ok ? "within" : "exceeds"} the maximum ${fmt(limit)}% (${fmt(canary.errors)}/${fmt(canary.requests)})`,
      );
    }
  }

  if (settings.maxErrorRateIncrease !== null) {
    const limit = settings.maxErrorRateIncrease;
    if (noBaseline) unjudged(HealthCriterion.MaxErrorRateIncrease, "skipped", limit, "no stable baseline at 100 %");
    else if (canaryShort || stableShort) unjudged(HealthCriterion.MaxErrorRateIncrease, HealthVerdict.Inconclusive, limit, shortOf());
    else if (missing.canaryErrors || missing.stableErrors) {
      unjudged(
        HealthCriterion.MaxErrorRateIncrease,
        HealthVerdict.Inconclusive,
        limit,
        `no data for the ${missing.canaryErrors ? "canary" : "stable"}'s errors`,
      );
    } else {
      const actual = canary.errorPercent - stable.errorPercent;
      judged(
        HealthCriterion.MaxErrorRateIncrease,
        actual,
        limit,
        () =>
          `canary error rate ${fmt(canary.errorPercent)}% is ${fmt(actual)} points ${actual < 0 ? "(below)" : "above"} stable ${fmt(stable.errorPercent)}% (max ${fmt(limit)})`,
      );
    }
  }

  if (settings.maxP99Ms !== null) {
    const limit = settings.maxP99Ms;
    const p99 = canary.p99Ms;
    if (canaryShort) unjudged(HealthCriterion.MaxP99Ms, HealthVerdict.Inconclusive, limit, tooFew("canary", canary));
    else if (p99 === null) unjudged(HealthCriterion.MaxP99Ms, HealthVerdict.Inconclusive, limit, "no canary latency recorded");
    else judged(HealthCriterion.MaxP99Ms, p99, limit, (ok) => `canary p99 ${fmt(p99)} ms ${ok ? "within" : "exceeds"} the maximum ${fmt(limit)} ms`);
  }

  if (settings.maxP99Ratio !== null) {
    const limit = settings.maxP99Ratio;
    if (noBaseline) unjudged(HealthCriterion.MaxP99Ratio, "skipped", limit, "no stable baseline at 100 %");
    else if (canaryShort || stableShort) unjudged(HealthCriterion.MaxP99Ratio, HealthVerdict.Inconclusive, limit, shortOf());
    else if (canary.p99Ms === null || stable.p99Ms === null) {
      unjudged(HealthCriterion.MaxP99Ratio, HealthVerdict.Inconclusive, limit, `no ${canary.p99Ms === null ? "canary" : "stable"} latency recorded`);
    } else {
      // Compared as canary ≤ limit × stable, so that a stable p99 of 0 needs no division.
      const ok = canary.p99Ms <= limit * stable.p99Ms + EPSILON;
      const actual = stable.p99Ms > 0 ? canary.p99Ms / stable.p99Ms : canary.p99Ms > 0 ? Number.POSITIVE_INFINITY : 1;
      checks.push({
        criterion: HealthCriterion.MaxP99Ratio,
        outcome: ok ? HealthVerdict.Pass : HealthVerdict.Fail,
        // JSON has no Infinity: report a stable p99 of 0 against a positive canary p99 as null.
        actual: Number.isFinite(actual) ? actual : null,
        limit,
        message: `canary p99 ${fmt(canary.p99Ms)} ms is ${Number.isFinite(actual) ? `${fmt(actual)}×` : "infinitely above"} stable ${fmt(stable.p99Ms)} ms (max ${fmt(limit)}×)`,
      });
    }
  }

  const failed = checks.find((c) => c.outcome === HealthVerdict.Fail);
  const inconclusive = checks.find((c) => c.outcome === HealthVerdict.Inconclusive);
  const verdict = failed !== undefined ? HealthVerdict.Fail : inconclusive !== undefined ? HealthVerdict.Inconclusive : HealthVerdict.Pass;
  const passed = checks.filter((c) => c.outcome === HealthVerdict.Pass).map((c) => c.message);
  const message = failed?.message ?? inconclusive?.message ?? (passed.length > 0 ? `healthy: ${passed.join("; ")}` : "no criterion applies at 100 %");
  return { verdict, message, from, to, canary, stable, checks };
}

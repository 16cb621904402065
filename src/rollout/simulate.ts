import { parseDuration } from "../internal/duration.js";
import { Problems, checkFields, child, isRecord, typeName } from "../internal/problems.js";
import { mulberry32 } from "../internal/random.js";
import { createRouter } from "../router/index.js";
import { createStats } from "../stats/index.js";
import { figuresOf } from "./analysis.js";
import { compilePlan, isCompiledPlan, nominalDurationMs } from "./plan.js";
import { createRollout } from "./runner.js";
import {
  type AnalysisProvider,
  type CompiledPlan,
  RolloutPauseReason,
  type RolloutEvent,
  RolloutPhase,
  type RolloutPlan,
  type SimulationOptions,
  SimulationOutcome,
  type SimulationResult,
  type TimelinePoint,
  type TrafficModel,
  type VersionFigures,
} from "./types.js";
import { VirtualTime } from "./virtual.js";

const DAY = 86_400_000;
const MAX_RPS = 10_000_000;
const MAX_LATENCY_MS = 100_000_000;
/** Stats windows hold at most this many slices. */
const MAX_SLICES = 1440;
/** z of the 99th percentile of the standard normal. */
const Z99 = 2.3263478740408408;
/** Latency strata (quantile boundaries): each slice's requests are spread over them, with the tail well represented. */
const STRATA = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1] as const;
const DEFAULT_BEHAVIOUR = { errorPercent: 0, p50: 50, p99: 250 } as const;

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q0 = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  const low = 0.02425;
  const poly = (coef: readonly number[], x: number): number => coef.reduce((acc, k) => acc * x + k, 0);
  if (q0 < low) {
    const q = Math.sqrt(-2 * Math.log(q0));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (q0 > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - q0));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = q0 - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

class Draws {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  uniform(): number {
    return this.next();
  }
  normal(): number {
    return normalQuantile(this.next());
  }
  poisson(mean: number): number {
    // Knuth's method; only used for small means.
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }
  /** A binomial draw: exact for small n, Poisson for rare events, normal otherwise. */
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (n < 40) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.next() < p) k += 1;
      return k;
    }
    const variance = n * p * (1 - p);
    if (variance > 9) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(variance) * this.normal())));
    return p < 0.5 ? Math.min(n, this.poisson(n * p)) : n - Math.min(n, this.poisson(n * (1 - p)));
  }
}

// ---- the traffic model --------------------------------------------------------------------------------------------

interface Behaviour {
  readonly errorPercent: number;
  readonly mu: number;
  readonly sigma: number;
}

interface Regime {
  readonly from: number;
  readonly rps: number;
  readonly previewRps: number;
  readonly stable: Behaviour;
  readonly canary: Behaviour;
}

const MODEL_FIELDS = ["requestsPerSecond", "previewRequestsPerSecond", "stable", "canary", "changes", "seed"] as const;
const CHANGE_FIELDS = ["at", "requestsPerSecond", "previewRequestsPerSecond", "stable", "canary"] as const;
const BEHAVIOUR_FIELDS = ["errorPercent", "latencyMs"] as const;
const LATENCY_FIELDS = ["p50", "p99"] as const;
const OPTION_FIELDS = ["startAt", "approveAfter", "sliceMs", "sampleEvery", "maxDuration", "stable", "canary", "onProgress"] as const;

function rate(problems: Problems, owner: Record<string, unknown>, key: string, path: string, max: number): number | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "number") problems.add("type", at, `expected a number, got ${typeName(value)}`);
  else if (!Number.isFinite(value)) problems.add("not_finite", at, `expected a finite number, got ${value}`);
  else if (value < 0) problems.add("negative", at, `must not be negative, got ${value}`);
  else if (value > max) problems.add("out_of_range", at, `at most ${max}, got ${value}`);
  else return value;
  return undefined;
}

function behaviour(problems: Problems, value: unknown, path: string, base: Behaviour): Behaviour {
  if (value === undefined) return base;
  if (!isRecord(value)) {
    problems.add("type", path, `expected { errorPercent, latencyMs }, got ${typeName(value)}`);
    return base;
  }
  checkFields(problems, value, path, BEHAVIOUR_FIELDS);
  const errorPercent = rate(problems, value, "errorPercent", path, 100) ?? base.errorPercent;
  let { mu, sigma } = base;
  if (Object.hasOwn(value, "latencyMs")) {
    const latency = value.latencyMs;
    const at = child(path, "latencyMs");
    if (!isRecord(latency)) problems.add("type", at, `expected { p50, p99 } in ms, got ${typeName(latency)}`);
    else {
      checkFields(problems, latency, at, LATENCY_FIELDS);
      const p50 = rate(problems, latency, "p50", at, MAX_LATENCY_MS);
      const p99 = rate(problems, latency, "p99", at, MAX_LATENCY_MS);
      if (p50 === undefined || p99 === undefined) {
        if (!Object.hasOwn(latency, "p50")) problems.add("required", child(at, "p50"), "the median latency is required");
        if (!Object.hasOwn(latency, "p99")) problems.add("required", child(at, "p99"), "the p99 latency is required");
      } else if (p50 <= 0) problems.add("out_of_range", child(at, "p50"), "must be above 0");
      else if (p99 < p50) problems.add("out_of_range", child(at, "p99"), `must be at least p50 (${p50}), got ${p99}`);
      else {
        mu = Math.log(p50);
        sigma = Math.log(p99 / p50) / Z99;
      }
    }
  }
  return { errorPercent, mu, sigma };
}

function durationOf(problems: Problems, owner: Record<string, unknown>, key: string, path: string, positive: boolean): number | undefined {
  if (!Object.hasOwn(owner, key) || owner[key] === undefined) return undefined;
  const value = owner[key];
  const ms = parseDuration(value);
  const at = child(path, key);
  if (ms === undefined)
    problems.add(typeof value === "string" ? "invalid_duration" : "type", at, `expected a duration ("10s", "5m") or ms, got ${String(value).slice(0, 40)}`);
  else if (positive && ms <= 0) problems.add("out_of_range", at, "must be longer than 0");
  else if (ms > 3660 * DAY) problems.add("out_of_range", at, "longer than ten years");
  else return ms;
  return undefined;
}

function checkModel(input: unknown): { regimes: Regime[]; seed: number } {
  const problems = new Problems();
  const base: Behaviour = {
    errorPercent: DEFAULT_BEHAVIOUR.errorPercent,
    mu: Math.log(DEFAULT_BEHAVIOUR.p50),
    sigma: Math.log(DEFAULT_BEHAVIOUR.p99 / DEFAULT_BEHAVIOUR.p50) / Z99,
  };
  if (!isRecord(input)) {
    problems.add("type", "", `expected a traffic model { requestsPerSecond, stable, canary }, got ${typeName(input)}`);
    problems.throwIfAny("traffic model");
  }
  const model = input as Record<string, unknown>;
  checkFields(problems, model, "", MODEL_FIELDS);
  if (!Object.hasOwn(model, "requestsPerSecond")) problems.add("required", "requestsPerSecond", "the total request rate is required");
  const rps = rate(problems, model, "requestsPerSecond", "", MAX_RPS) ?? 0;
  const previewRps = rate(problems, model, "previewRequestsPerSecond", "", MAX_RPS) ?? 0;
  const stable = behaviour(problems, model.stable, "stable", base);
  const canary = behaviour(problems, model.canary, "canary", base);
  let seed = 1;
  if (Object.hasOwn(model, "seed")) {
    const s = model.seed;
    if (typeof s !== "number" || !Number.isInteger(s) || Math.abs(s) > 2 ** 53) problems.add("type", "seed", "expected a whole number");
    else seed = s;
  }
  const regimes: Regime[] = [{ from: 0, rps, previewRps, stable, canary }];
  if (Object.hasOwn(model, "changes")) {
    if (!Array.isArray(model.changes)) problems.add("type", "changes", `expected a list, got ${typeName(model.changes)}`);
    else if (model.changes.length > 1000) problems.add("too_long", "changes", "at most 1000 changes");
    else {
      const changes: Array<{ at: number; raw: Record<string, unknown>; path: string }> = [];
      model.changes.forEach((raw: unknown, i: number) => {
        const path = child("changes", i);
        if (!isRecord(raw)) {
          problems.add("type", path, `expected { at, … }, got ${typeName(raw)}`);
          return;
        }
        checkFields(problems, raw, path, CHANGE_FIELDS);
        if (!Object.hasOwn(raw, "at")) problems.add("required", child(path, "at"), "when the change happens");
        const at = durationOf(problems, raw, "at", path, false);
        if (at !== undefined) changes.push({ at, raw, path });
      });
      changes.sort((a, b) => a.at - b.at);
      for (const { at, raw, path } of changes) {
        const last = regimes[regimes.length - 1] as Regime;
        regimes.push({
          from: at,
          rps: rate(problems, raw, "requestsPerSecond", path, MAX_RPS) ?? last.rps,
          previewRps: rate(problems, raw, "previewRequestsPerSecond", path, MAX_RPS) ?? last.previewRps,
          stable: behaviour(problems, raw.stable, child(path, "stable"), last.stable),
          canary: behaviour(problems, raw.canary, child(path, "canary"), last.canary),
        });
      }
    }
  }
  problems.throwIfAny("traffic model");
  return { regimes, seed };
}

interface Settings {
  readonly startAt: number;
  readonly approveAfterMs: number | null;
  readonly sliceMs: number;
  readonly sampleEveryMs: number;
  readonly maxDurationMs: number;
  readonly stable: string;
  readonly canary: string;
  readonly onProgress: ((fraction: number) => void) | undefined;
}

function checkOptions(plan: CompiledPlan, input: unknown): Settings {
  const problems = new Problems();
  const o = input === undefined ? {} : input;
  if (!isRecord(o)) {
    problems.add("type", "", `expected simulation options, got ${typeName(o)}`);
    problems.throwIfAny("simulation options");
  }
  const options = o as Record<string, unknown>;
  checkFields(problems, options, "", OPTION_FIELDS);
  let startAt = 0;
  if (options.startAt !== undefined) {
    if (typeof options.startAt !== "number" || !Number.isFinite(options.startAt) || Math.abs(options.startAt) > 8.64e15) {
      problems.add("type", "startAt", "expected epoch milliseconds");
    } else startAt = options.startAt;
  }
  const approveAfterMs = durationOf(problems, options, "approveAfter", "", false) ?? null;
  const sliceMs = durationOf(problems, options, "sliceMs", "", true) ?? 10_000;
  const sampleEveryMs = durationOf(problems, options, "sampleEvery", "", false) ?? 60_000;
  const maxDurationMs = durationOf(problems, options, "maxDuration", "", true) ?? 2 * nominalDurationMs(plan) + DAY;
  const name = (key: "stable" | "canary", fallback: string): string => {
    const value = options[key];
    if (value === undefined) return plan.source[key] ?? fallback;
    if (typeof value !== "string" || value === "") problems.add("type", key, "expected a version name");
    else if (plan.source[key] !== undefined && plan.source[key] !== value)
      problems.add("conflict", key, `the plan says ${key} "${plan.source[key]}", the options say "${value}"`);
    else return value;
    return fallback;
  };
  const stable = name("stable", "v1");
  const canary = name("canary", "v2");
  if (stable === canary) problems.add("conflict", "canary", "the canary must differ from the stable version");
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") problems.add("type", "onProgress", "expected a function");
  if (sliceMs < 1) problems.add("out_of_range", "sliceMs", "at least 1 ms");
  problems.throwIfAny("simulation options");
  return {
    startAt,
    approveAfterMs,
    sliceMs: Math.max(1, Math.round(sliceMs)),
    sampleEveryMs,
    maxDurationMs,
    stable,
    canary,
    onProgress: options.onProgress as ((fraction: number) => void) | undefined,
  };
}

/** The longest span any check or sample reads. */
function longestWindow(plan: CompiledPlan, sampleEveryMs: number): number {
  let longest = sampleEveryMs;
  for (const step of plan.steps) if (step.analysis !== null) longest = Math.max(longest, step.analysis.windowMs);
  if (plan.windowAnalysis !== null) longest = Math.max(longest, plan.windowAnalysis.windowMs);
  return longest;
}

// ---- the simulation -------------------------------------------------------------------------------------------------

/**
 * Runs the real rollout (the runner, a real router and a real stats) on a virtual clock against synthetic traffic,
 * and returns the outcome and a timeline. Hours of a plan take well under a second: traffic is generated per slice
 * (default 10 s) as aggregate counts — the requests split by the router's weight (binomially), errors drawn
 * binomially, latencies as a handful of weighted points from a log-normal through the given p50 and p99, with the
 * tail well represented — and recorded with `count`. The same seed gives the same run.
 *
 * The simulation ends when the rollout is aborted, completed (`finish: "hold"`), promoted with its rollback window
 * closed, or paused for a person (a manual step or an inconclusive analysis) — unless `approveAfter` is set, in which
 * case a simulated operator promotes every such pause after that long. `maxDuration` bounds it.
 *
 * @example
 * ```ts
 * const result = simulateRollout(
 *   { steps: [{ weight: 10, pause: "60m" }, { weight: 50, pause: "240m" }], finish: "hold",
 *     analysis: { maxErrorRateIncrease: 1, maxP99Ratio: 2 } },
 *   { requestsPerSecond: 1000, stable: { errorPercent: 0.5 }, canary: { errorPercent: 0.6 } },
 * );
 * result.outcome;            // "completed"
 * result.finalWeight;        // 50
 * result.healthChecksPassed; // true
 * result.timeline.length;    // one point per event and per minute
 * ```
 */
export function simulateRollout(plan: RolloutPlan | CompiledPlan, traffic: TrafficModel, options?: SimulationOptions): SimulationResult {
  const compiled = isCompiledPlan(plan) ? plan : compilePlan(plan);
  const { regimes, seed } = checkModel(traffic);
  const settings = checkOptions(compiled, options);
  const { startAt, stable, canary } = settings;

  // Stats slices: the simulation's slices, coarser only if the longest window would need more than the maximum.
  const longest = longestWindow(compiled, settings.sampleEveryMs);
  let resolution = settings.sliceMs;
  if (Math.ceil(longest / resolution) > MAX_SLICES) resolution = Math.ceil(longest / MAX_SLICES / 1000) * 1000;
  const windowMs = Math.max(resolution, Math.ceil(longest / resolution) * resolution);

  const time = new VirtualTime(startAt);
  const router = createRouter({ versions: [stable, canary], stable, canary });
  const stats = createStats({ versions: [stable, canary], window: windowMs, resolution, clock: time.clock });
  const events: RolloutEvent[] = [];
  const timeline: TimelinePoint[] = [];
  // The plan's providers are modelled by the simulated traffic itself: they see what the stats see.
  const modelled: AnalysisProvider = ({ from, to }) => {
    const span = stats.window({ windowMs: Math.max(1, to - from), since: from, now: to });
    const read = (name: string): VersionFigures => figuresOf(Object.hasOwn(span.versions, name) ? span.versions[name] : undefined);
    return { canary: read(canary), stable: read(stable) };
  };
  const rollout = createRollout(compiled, {
    router,
    stats,
    providers: Object.fromEntries(Object.keys(compiled.providers).map((name) => [name, modelled])),
    clock: time.clock,
    timers: time,
    onEvent: (event) => {
      events.push(event);
      const check = event.type === "check" ? event.health : undefined;
      timeline.push({
        at: event.at,
        elapsedMs: event.at - startAt,
        phase: event.phase,
        stepIndex: event.stepIndex,
        weight: event.weight,
        event: event.type,
        verdict: check?.verdict ?? null,
        canary: event.health?.canary ?? null,
        stable: event.health?.stable ?? null,
      });
    },
  });

  const draws = new Draws(seed);
  const requests = { stable: 0, canary: 0 };
  let carry = 0;
  let previewCarry = 0;

  const record = (version: string, which: Behaviour, n: number, at: number): void => {
    if (n <= 0) return;
    const errors = draws.binomial(n, which.errorPercent / 100);
    const oks = n - errors;
    const latency = (u: number): number => Math.min(MAX_LATENCY_MS, Math.exp(which.mu + which.sigma * normalQuantile(u)));
    if (errors > 0) stats.record({ version, ok: false, latencyMs: latency(draws.uniform()), count: errors }, at);
    if (oks <= 0) return;
    // Spread the successes over the strata: each gets the whole part of its share, and the fractional parts are
    // rounded by systematic sampling, so that every stratum's expected count is exactly its share (the tail
    // included) and the counts add up to exactly `oks`.
    const counts: number[] = [];
    let offset = draws.uniform();
    let cumulative = 0;
    for (let i = 0; i + 1 < STRATA.length; i++) {
      const share = oks * ((STRATA[i + 1] as number) - (STRATA[i] as number));
      const whole = Math.floor(share);
      cumulative += share - whole;
      let extra = 0;
      while (offset < cumulative - 1e-9) {
        extra += 1;
        offset += 1;
      }
      counts.push(whole + extra);
    }
    const missing = oks - counts.reduce((a, b) => a + b, 0);
    if (missing !== 0) counts[0] = (counts[0] as number) + missing; // float residue of Σ shares, at most 1
    counts.forEach((count, i) => {
      if (count <= 0) return;
      const lo = STRATA[i] as number;
      const hi = STRATA[i + 1] as number;
      stats.record({ version, ok: true, latencyMs: latency(lo + (hi - lo) * draws.uniform()), count }, at);
    });
  };

  /** Generates the traffic of [from, to) at the router's current weight. */
  const generate = (from: number, to: number): void => {
    const elapsed = from - startAt;
    let regime = regimes[0] as Regime;
    for (const r of regimes) if (r.from <= elapsed) regime = r;
    const seconds = (to - from) / 1000;
    const total = regime.rps * seconds + carry;
    const n = Math.floor(total);
    carry = total - n;
    const preview = regime.previewRps * seconds + previewCarry;
    const p = Math.floor(preview);
    previewCarry = preview - p;
    const weight = router.canaryPercent;
    const toCanary = weight >= 100 ? n : weight <= 0 ? 0 : draws.binomial(n, weight / 100);
    requests.canary += toCanary + p;
    requests.stable += n - toCanary;
    record(canary, regime.canary, toCanary + p, from);
    record(stable, regime.stable, n - toCanary, from);
  };

  const sample = (at: number): void => {
    const window = stats.window({ windowMs: settings.sampleEveryMs, now: at });
    const status = rollout.status();
    const figures = (name: string): VersionFigures | null => {
      const f = figuresOf(Object.hasOwn(window.versions, name) ? window.versions[name] : undefined);
      return f.requests > 0 ? f : null;
    };
    timeline.push({
      at,
      elapsedMs: at - startAt,
      phase: status.phase,
      stepIndex: status.stepIndex,
      weight: status.weight,
      event: null,
      verdict: null,
      canary: figures(canary),
      stable: figures(stable),
    });
  };

  const nominal = Math.max(1, nominalDurationMs(compiled));
  let reported = -1;
  const progress = (now: number): void => {
    if (settings.onProgress === undefined) return;
    const fraction = Math.min(1, (now - startAt) / nominal);
    const percent = Math.floor(fraction * 100);
    if (percent <= reported) return;
    reported = percent;
    try {
      settings.onProgress(fraction);
    } catch {
      // A progress bar must not break the simulation.
    }
  };

  const end = startAt + settings.maxDurationMs;
  let nextSample = settings.sampleEveryMs > 0 ? startAt + settings.sampleEveryMs : Number.POSITIVE_INFINITY;
  // One simulated approval per pause: a pause is known by its step, its reason and when the step began.
  const pauseKey = (s: { stepIndex: number; pauseReason: string | null; stepStartedAt: number | null }): string =>
    `${s.stepIndex}/${s.pauseReason ?? ""}/${s.stepStartedAt ?? ""}`;
  let approvalFor = "";
  let outcome: SimulationOutcome = SimulationOutcome.Timeout;
  rollout.start();
  for (;;) {
    const status = rollout.status();
    if (status.phase === RolloutPhase.Aborted) outcome = SimulationOutcome.Aborted;
    else if (status.phase === RolloutPhase.Completed) outcome = SimulationOutcome.Completed;
    else if (status.phase === RolloutPhase.Promoted && status.rollbackWindowRemainingMs === null) outcome = SimulationOutcome.Promoted;
    else if (status.phase === RolloutPhase.Paused && status.pauseReason !== RolloutPauseReason.Operator) {
      if (settings.approveAfterMs === null) outcome = SimulationOutcome.Paused;
      else if (approvalFor !== pauseKey(status)) {
        const key = pauseKey(status);
        approvalFor = key;
        time.setTimeout(() => {
          const now = rollout.status();
          if (now.phase === RolloutPhase.Paused && pauseKey(now) === key) rollout.promote();
        }, settings.approveAfterMs);
      }
    }
    if (outcome !== SimulationOutcome.Timeout) break;
    const now = time.now;
    if (now >= end) break;
    const sliceEnd = (Math.floor((now - startAt) / settings.sliceMs) + 1) * settings.sliceMs + startAt;
    const boundary = Math.min(sliceEnd, time.nextAt() ?? Number.POSITIVE_INFINITY, nextSample, end);
    if (boundary > now) generate(now, boundary);
    time.advanceTo(boundary);
    if (boundary >= nextSample) {
      sample(boundary);
      nextSample += settings.sampleEveryMs;
    }
    progress(boundary);
  }
  rollout.stop();
  progress(end);

  const state = rollout.state();
  return {
    outcome,
    finalWeight: state.weight,
    healthChecksPassed: state.checks.failed === 0,
    checks: state.checks,
    durationMs: time.now - startAt,
    state,
    events,
    timeline,
    requests,
  };
}

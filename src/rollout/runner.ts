import { Problems, isRecord, typeName } from "../internal/problems.js";
import type { Logger, Router, StatsReader } from "../types.js";
import { evaluateHealth } from "./analysis.js";
import { analysisRequest, checkState, initialState, nextTickAt, statusOf, transition } from "./machine.js";
import { compilePlan, isCompiledPlan } from "./plan.js";
import {
  type AnalysisRequest,
  type CompiledPlan,
  type ControlResult,
  RolloutEventReason,
  type Health,
  type Rollout,
  type RolloutCommand,
  type RolloutEvent,
  RolloutEventType,
  type RolloutOptions,
  RolloutPhase,
  type RolloutPlan,
  type RolloutState,
  type RolloutStatus,
  type Timers,
} from "./types.js";

/** The longest delay `setTimeout` takes (2^31 − 1 ms, about 24.8 days); longer waits are chained. */
const MAX_DELAY_MS = 2_147_483_647;
/** Weights are equal when they differ by less than this (the router resolves 0.01 %). */
const WEIGHT_TOLERANCE = 1e-9;

interface GlobalTimers {
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** `globalThis.setTimeout`, looked up without Node or DOM types (the core must run anywhere). */
function defaultTimers(): Timers | undefined {
  const g = globalThis as unknown as GlobalTimers;
  const set = g.setTimeout;
  const clear = g.clearTimeout;
  if (typeof set !== "function" || typeof clear !== "function") return undefined;
  return { setTimeout: (callback, ms) => set(callback, ms), clearTimeout: (handle) => clear(handle) };
}

function hasFunctions(value: unknown, names: readonly string[]): boolean {
  return isRecord(value) && names.every((name) => typeof value[name] === "function");
}

/** The stable and canary names the router's config gives (a two-version config without `canary` has an implied one). */
function versionsOf(router: Router): { stable: string; canary: string } | undefined {
  const config = router.config;
  if (!isRecord(config) || typeof config.stable !== "string") return undefined;
  let canary = config.canary;
  if (typeof canary !== "string" && Array.isArray(config.versions) && config.versions.length === 2) {
    canary = config.versions.find((v) => v !== config.stable);
  }
  return typeof canary === "string" ? { stable: config.stable, canary } : undefined;
}

function checkOptions(plan: CompiledPlan, options: unknown): RolloutOptions {
  const problems = new Problems();
  if (!isRecord(options)) {
    problems.add("type", "options", `expected { router, stats, … }, got ${typeName(options)}`);
    problems.throwIfAny("rollout options");
  }
  const o = options as Record<string, unknown>;
  if (!hasFunctions(o.router, ["setCanaryPercent", "decide"]) || !isRecord((o.router as Record<string, unknown>).config)) {
    problems.add(o.router === undefined ? "required" : "type", "options.router", "expected a router from createRouter()");
  } else {
    const router = o.router as Router;
    const versions = versionsOf(router);
    if (versions === undefined) {
      problems.add("required", "options.router.config.canary", "the router's config needs a canary (or exactly two versions) for a rollout to drive");
    } else {
      const source = plan.source;
      if (source.stable !== undefined && source.stable !== versions.stable) {
        problems.add("conflict", "plan.stable", `the plan is for stable "${source.stable}", the router's stable is "${versions.stable}"`);
      }
      if (source.canary !== undefined && source.canary !== versions.canary) {
        problems.add("conflict", "plan.canary", `the plan is for canary "${source.canary}", the router's canary is "${versions.canary}"`);
      }
    }
  }
  if (!hasFunctions(o.stats, ["window"])) problems.add(o.stats === undefined ? "required" : "type", "options.stats", "expected a stats reader (an object with window())");
  if (o.clock !== undefined && typeof o.clock !== "function") problems.add("type", "options.clock", "expected a function returning epoch milliseconds");
  if (o.timers !== undefined && !hasFunctions(o.timers, ["setTimeout", "clearTimeout"])) {
    problems.add("type", "options.timers", "expected { setTimeout(callback, ms), clearTimeout(handle) }");
  }
  if (o.timers === undefined && defaultTimers() === undefined) {
    problems.add("required", "options.timers", "this runtime has no setTimeout: pass timers");
  }
  for (const key of ["onEvent", "onState"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "function") problems.add("type", `options.${key}`, "expected a function");
  }
  if (o.logger !== undefined && !hasFunctions(o.logger, ["warn", "error"])) problems.add("type", "options.logger", "expected an object with warn() and error() (console works)");
  if (o.state !== undefined) for (const problem of checkState(plan, o.state)) problems.list.push(problem);
  problems.throwIfAny("rollout options");
  return o as unknown as RolloutOptions;
}

class Runner implements Rollout {
  readonly plan: CompiledPlan;
  private current: RolloutState;
  private readonly router: Router;
  private readonly stats: StatsReader;
  private readonly clock: () => number;
  private readonly timers: Timers;
  private readonly logger: Logger | undefined;
  private readonly onState: ((state: RolloutState) => void) | undefined;
  private readonly listeners = new Set<(event: RolloutEvent) => void>();
  private timer: unknown = undefined;
  private stopped = false;
  private statsFailing = false;
  private warnedSpan = false;

  constructor(plan: CompiledPlan, options: RolloutOptions) {
    this.plan = plan;
    this.router = options.router;
    this.stats = options.stats;
    this.clock = options.clock ?? (() => Date.now());
    this.timers = options.timers ?? (defaultTimers() as Timers);
    this.logger = options.logger;
    this.onState = options.onState;
    if (options.onEvent !== undefined) this.listeners.add(options.onEvent);
    // A restored state is copied so that the caller's object can never change the rollout behind its back.
    this.current = options.state !== undefined ? (JSON.parse(JSON.stringify(options.state)) as RolloutState) : initialState(plan);
    if (this.current.phase !== RolloutPhase.Idle) this.reconcile(this.now());
    this.schedule(false);
  }

  start(): ControlResult {
    return this.run({ type: "start" });
  }
  pause(): ControlResult {
    return this.run({ type: "pause" });
  }
  resume(): ControlResult {
    return this.run({ type: "resume" });
  }
  promote(): ControlResult {
    return this.run({ type: "promote" });
  }
  promoteFull(): ControlResult {
    return this.run({ type: "promoteFull" });
  }
  abort(reason?: string): ControlResult {
    return this.run(typeof reason === "string" ? { type: "abort", reason } : { type: "abort" });
  }
  retry(): ControlResult {
    return this.run({ type: "retry" });
  }
  tick(now?: number): ControlResult {
    return this.run({ type: "tick" }, now);
  }

  status(): RolloutStatus {
    return statusOf(this.plan, this.current, this.now(), this.versions());
  }

  state(): RolloutState {
    return JSON.parse(JSON.stringify(this.current)) as RolloutState;
  }

  subscribe(listener: (event: RolloutEvent) => void): () => void {
    const wrapped = (event: RolloutEvent): void => listener(event);
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  // ---- internals ----

  private now(): number {
    try {
      const now = this.clock();
      if (typeof now === "number" && Number.isFinite(now)) return now;
    } catch (error) {
      this.logger?.error("turnout rollout: the clock threw", { error });
    }
    return Date.now();
  }

  private versions(): { stable: string; canary: string } {
    return versionsOf(this.router) ?? { stable: this.plan.source.stable ?? "", canary: this.plan.source.canary ?? "" };
  }

  private run(command: RolloutCommand, at?: number): ControlResult {
    const now = typeof at === "number" && Number.isFinite(at) ? at : this.now();
    let health: Health | undefined;
    let due: AnalysisRequest | undefined;
    if (command.type === "tick") {
      due = analysisRequest(this.plan, this.current, now);
      if (due !== undefined) health = this.measure(due);
    }
    const result = transition(this.plan, this.current, command, now, health);
    if (!result.accepted) return { accepted: false, rejection: result.rejection ?? "rejected", status: this.status() };
    const changed = result.state !== this.current;
    this.current = result.state;
    const applied: RolloutEvent[] = [];
    for (const effect of result.effects) {
      if (effect.type === "setWeight") {
        const failure = this.setWeight(effect.weight, now);
        if (failure !== undefined) applied.push(failure);
      }
    }
    if (command.type === "tick" && this.current.phase !== RolloutPhase.Idle && result.effects.length === 0) this.reconcile(now);
    if (changed) this.persist();
    for (const event of result.events) this.emit(event);
    for (const event of applied) this.emit(event);
    // A due check that could not be measured is retried after a pause instead of at once.
    this.schedule(due !== undefined && health === undefined, due);
    return { accepted: true, status: this.status() };
  }

  /** Reads the stats for a due check; undefined when the reader failed (the check is retried later, never guessed). */
  private measure(due: AnalysisRequest): Health | undefined {
    try {
      const summary = this.stats.window(due.query);
      this.checkSpan(due, summary.from);
      const health = evaluateHealth(summary, this.versions(), due.analysis, { weight: this.current.weight });
      if (this.statsFailing) this.logger?.warn("turnout rollout: the stats answer again");
      this.statsFailing = false;
      return health;
    } catch (error) {
      if (!this.statsFailing) this.logger?.error("turnout rollout: reading the stats failed; the check waits", { error });
      this.statsFailing = true;
      return undefined;
    }
  }

  /**
   * A stats reader clamps a span to its own window: when it answers a much shorter span than asked, say so once
   * (the checks then judge less data than the plan says). Slices are allowed for: 10 % of the window plus 10 s.
   */
  private checkSpan(due: AnalysisRequest, from: unknown): void {
    if (this.warnedSpan || typeof from !== "number" || !Number.isFinite(from)) return;
    const { now, windowMs, since } = due.query;
    const expected = Math.max(now - windowMs, since);
    if (from - expected > windowMs / 10 + 10_000) {
      this.warnedSpan = true;
      this.logger?.warn("turnout rollout: the stats window is shorter than the analysis window; checks read less data than planned", {
        analysisWindowMs: windowMs,
        spanReadMs: now - from,
      });
    }
  }

  /** Applies a weight to the router; returns an `effectFailed` event when the router refused it. */
  private setWeight(weight: number, now: number): RolloutEvent | undefined {
    try {
      if (Math.abs(this.router.canaryPercent - weight) > WEIGHT_TOLERANCE) this.router.setCanaryPercent(weight);
      return undefined;
    } catch (error) {
      this.logger?.error("turnout rollout: the router refused the canary weight", { weight, error });
      const s = this.current;
      return {
        type: RolloutEventType.EffectFailed,
        reason: RolloutEventReason.Reconcile,
        at: now,
        phase: s.phase,
        stepIndex: s.stepIndex,
        weight: s.weight,
        message: `the router refused weight ${weight}%: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  /** Puts the router back at the state's weight if someone (a config reload, a person) moved it. */
  private reconcile(now: number): void {
    const s = this.current;
    let actual: number;
    try {
      actual = this.router.canaryPercent;
    } catch {
      actual = Number.NaN;
    }
    if (Math.abs(actual - s.weight) <= WEIGHT_TOLERANCE) return;
    const failure = this.setWeight(s.weight, now);
    if (failure !== undefined) {
      this.emit(failure);
      return;
    }
    this.logger?.warn("turnout rollout: the router's canary weight had moved; set back", { found: actual, weight: s.weight });
    this.emit({
      type: RolloutEventType.WeightRestored,
      reason: RolloutEventReason.Reconcile,
      at: now,
      phase: s.phase,
      stepIndex: s.stepIndex,
      weight: s.weight,
      previousWeight: actual,
      message: `the router was at ${actual}%, set back to ${s.weight}%`,
    });
  }

  private persist(): void {
    if (this.onState === undefined) return;
    try {
      this.onState(this.state());
    } catch (error) {
      this.logger?.error("turnout rollout: onState threw", { error });
    }
  }

  private emit(event: RolloutEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger?.error("turnout rollout: an event listener threw", { event: event.type, error });
      }
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    try {
      this.timers.clearTimeout(this.timer);
    } catch (error) {
      this.logger?.error("turnout rollout: clearTimeout threw", { error });
    }
    this.timer = undefined;
  }

  private schedule(retry: boolean, due?: AnalysisRequest): void {
    this.clearTimer();
    if (this.stopped) return;
    const at = nextTickAt(this.plan, this.current);
    if (at === null) return;
    const now = this.now();
    let delay = Math.max(0, at - now);
    if (retry) delay = Math.max(delay, Math.min(due?.analysis.intervalMs ?? 60_000, 60_000));
    delay = Math.min(delay, MAX_DELAY_MS);
    try {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        this.run({ type: "tick" });
      }, delay);
    } catch (error) {
      this.logger?.error("turnout rollout: setTimeout threw; call tick() yourself", { error });
    }
  }
}

/**
 * Creates a rollout that drives `router`'s canary weight through `plan`, judging health from `stats`.
 * Validates the plan (`TurnoutConfigError`, subject "rollout plan") and the options (subject "rollout options":
 * a router with a canary, a stats reader, a restorable state…). The router is untouched until `start()` — or,
 * with a restored `state`, set at once to the state's weight (a restart continues where the rollout was).
 *
 * The runner schedules its own ticks with `timers` at the instants the machine needs (end of a hold, next check,
 * end of the rollback window); `stop()` cancels them. Every transition is an event for `onEvent` and
 * `subscribe` listeners; every accepted change of the state goes to `onState` (persist it there).
 *
 * @example
 * ```ts
 * const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
 * const stats = createStats({ versions: ["v1", "v2"] });
 * const rollout = createRollout(
 *   {
 *     steps: [{ weight: 1, pause: "5m" }, { weight: 5, pause: "15m" }, { weight: 25, pause: "30m" }, { weight: 50, pause: "1h" }],
 *     analysis: { maxErrorRateIncrease: 1, maxP99Ratio: 2, minRequests: 100 },
 *     rollbackWindow: "15m",
 *   },
 *   { router, stats, onEvent: (e) => console.log(e.type, e.message), onState: (s) => save(JSON.stringify(s)) },
 * );
 * rollout.start();
 * ```
 */
export function createRollout(plan: RolloutPlan | CompiledPlan, options: RolloutOptions): Rollout {
  const compiled = isCompiledPlan(plan) ? plan : compilePlan(plan);
  return new Runner(compiled, checkOptions(compiled, options));
}

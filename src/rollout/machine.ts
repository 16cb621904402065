import type { ConfigProblem } from "../errors.js";
import { formatDuration } from "../internal/duration.js";
import { Problems, isRecord, typeName } from "../internal/problems.js";
import { isCompiledPlan } from "./plan.js";
import {
  type AnalysisRequest,
  type CompiledPlan,
  RolloutEventReason,
  type Health,
  InconclusivePolicy,
  RolloutPauseReason,
  type ResolvedAnalysis,
  type ResolvedStep,
  RollbackMode,
  type RolloutCommand,
  type RolloutEffect,
  type RolloutEvent,
  RolloutEventType,
  RolloutPhase,
  type RolloutState,
  type RolloutStatus,
  RolloutStrategy,
  type TransitionResult,
  HealthVerdict,
} from "./types.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const PHASES: readonly string[] = Object.values(RolloutPhase);
const PAUSE_REASONS: readonly string[] = Object.values(RolloutPauseReason);
const VERDICTS: readonly string[] = Object.values(HealthVerdict);
const MAX_REASON = 500;

/** Phases in which a step holds (the step's analysis may run). */
const STEP_PHASES: ReadonlySet<RolloutPhase> = new Set([RolloutPhase.Progressing, RolloutPhase.Analysing, RolloutPhase.Preview, RolloutPhase.Paused]);
const HOLD_PHASES: ReadonlySet<RolloutPhase> = new Set([RolloutPhase.Progressing, RolloutPhase.Analysing, RolloutPhase.Preview]);

/**
 * The state of a rollout that has not started: phase `idle`, weight 0, the router untouched.
 *
 * @example
 * ```ts
 * const state = initialState(compilePlan(plan));
 * const { state: next, effects } = transition(plan, state, { type: "start" }, Date.now());
 * ```
 */
export function initialState(plan: CompiledPlan): RolloutState {
  return {
    format: 1,
    plan: plan.fingerprint,
    phase: RolloutPhase.Idle,
    stepIndex: 0,
    weight: 0,
    revision: 0,
    startedAt: null,
    updatedAt: null,
    stepStartedAt: null,
    holdUntil: null,
    holdRemainingMs: null,
    nextCheckAt: null,
    pauseReason: null,
    consecutiveFailures: 0,
    checks: { passed: 0, failed: 0, inconclusive: 0 },
    lastHealth: null,
    abortReason: null,
    rollbackUntil: null,
    rollbackWeights: [],
  };
}

/**
 * True when nothing can change the rollout any more: aborted, or promoted with the rollback window closed
 * (`retry` can still restart an aborted rollout).
 *
 * @example
 * ```ts
 * if (isFinal(rollout.state())) rollout.stop();
 * ```
 */
export function isFinal(state: RolloutState): boolean {
  return state.phase === RolloutPhase.Aborted || (state.phase === RolloutPhase.Promoted && state.rollbackUntil === null);
}

/** The analysis that runs in the state's phase, if any. */
function activeAnalysis(plan: CompiledPlan, state: RolloutState): ResolvedAnalysis | null {
  if (STEP_PHASES.has(state.phase)) return plan.steps[state.stepIndex]?.analysis ?? null;
  if (state.phase === RolloutPhase.Promoted && state.rollbackUntil !== null) return plan.windowAnalysis;
  return null;
}

/**
 * Whether a health check is due at `now`, and which span of the stats it must read. The runner calls this before
 * every tick and passes the verdict of `evaluateHealth` on that span to {@link transition}.
 *
 * @example
 * ```ts
 * const due = analysisRequest(plan, state, now);
 * const health = due && evaluateHealth(stats.window(due.query), { stable: "v1", canary: "v2" }, due.analysis, { weight: state.weight });
 * transition(plan, state, { type: "tick" }, now, health);
 * ```
 */
export function analysisRequest(plan: CompiledPlan, state: RolloutState, now: number): AnalysisRequest | undefined {
  const analysis = activeAnalysis(plan, state);
  if (analysis === null || state.nextCheckAt === null || !(now >= state.nextCheckAt)) return undefined;
  const since = state.stepStartedAt ?? now;
  return { analysis, query: { windowMs: analysis.windowMs, since: Math.min(since, now), now } };
}

/**
 * The next instant at which a tick has something to do (a hold ends, a check is due, the rollback window
 * closes, a stepped rollback moves down), or null when the rollout waits for a command.
 *
 * @example
 * ```ts
 * const at = nextTickAt(plan, state);
 * if (at !== null) setTimeout(() => tick(), Math.max(0, at - Date.now()));
 * ```
 */
export function nextTickAt(plan: CompiledPlan, state: RolloutState): number | null {
  let next: number | null = null;
  const consider = (at: number | null): void => {
    if (at !== null && (next === null || at < next)) next = at;
  };
  const analysed = activeAnalysis(plan, state) !== null;
  // With analysis, the end of a hold is acted on by a check (nextCheckAt is capped at holdUntil while it is ahead).
  if ((HOLD_PHASES.has(state.phase) && !analysed) || state.phase === RolloutPhase.RollingBack) consider(state.holdUntil);
  if (analysed) consider(state.nextCheckAt);
  if (state.phase === RolloutPhase.Promoted) consider(state.rollbackUntil);
  return next;
}

/** The phase a step holds in. */
function holdPhase(plan: CompiledPlan, step: ResolvedStep): RolloutPhase {
  if (plan.strategy === RolloutStrategy.BlueGreen && step.weight === 0) return RolloutPhase.Preview;
  return step.analysis !== null ? RolloutPhase.Analysing : RolloutPhase.Progressing;
}

function stepLabel(plan: CompiledPlan, index: number): string {
  const step = plan.steps[index];
  const name = step?.name ? ` "${step.name}"` : "";
  return `step ${index + 1}/${plan.steps.length}${name}`;
}

/** The working copy of one transition: the state being built, and what happened. */
class Draft {
  readonly s: Mutable<RolloutState>;
  readonly events: RolloutEvent[] = [];

  constructor(
    readonly plan: CompiledPlan,
    state: RolloutState,
    readonly now: number,
  ) {
    this.s = { ...state, rollbackWeights: [...state.rollbackWeights] };
  }

  emit(type: RolloutEventType, reason: RolloutEventReason, message: string, extra: { previousWeight?: number; health?: Health } = {}): void {
    const event: Mutable<RolloutEvent> = {
      type,
      reason,
      at: this.now,
      phase: this.s.phase,
      stepIndex: this.s.stepIndex,
      weight: this.s.weight,
      message,
    };
    if (extra.previousWeight !== undefined && extra.previousWeight !== this.s.weight) event.previousWeight = extra.previousWeight;
    if (extra.health !== undefined) event.health = extra.health;
    this.events.push(event);
  }

  /** Clears everything that belongs to a step or a pause. */
  clearTiming(): void {
    this.s.holdUntil = null;
    this.s.holdRemainingMs = null;
    this.s.nextCheckAt = null;
    this.s.pauseReason = null;
  }
}

/** Enters step `index` (or finishes the plan), passing through steps that do not hold. */
function enterStep(d: Draft, index: number, reason: RolloutEventReason, health?: Health): void {
  const { plan, now, s } = d;
  let i = index;
  let why = reason;
  for (;;) {
    const step = plan.steps[i];
    if (step === undefined) {
      finish(d, plan.finish === "hold" ? "hold" : "promote", why, health);
      return;
    }
    const previousWeight = s.weight;
    d.clearTiming();
    s.stepIndex = i;
    s.weight = step.weight;
    s.stepStartedAt = now;
    s.consecutiveFailures = 0;
    const label = stepLabel(plan, i);
    if (step.manual) {
      s.phase = RolloutPhase.Paused;
      s.pauseReason = RolloutPauseReason.Step;
      if (step.analysis !== null) s.nextCheckAt = now + step.analysis.intervalMs;
      d.emit(RolloutEventType.Step, why, `${label}: weight ${step.weight}%`, { previousWeight, health });
      d.emit(RolloutEventType.Paused, RolloutEventReason.ManualStep, `${label} waits for promote or resume`);
      return;
    }
    s.phase = holdPhase(plan, step);
    if (step.holdMs > 0) {
      s.holdUntil = now + step.holdMs;
      if (step.analysis !== null) s.nextCheckAt = now + Math.min(step.analysis.intervalMs, step.holdMs);
      d.emit(RolloutEventType.Step, why, `${label}: weight ${step.weight}%, holding ${formatDuration(step.holdMs)}`, { previousWeight, health });
      return;
    }
    d.emit(RolloutEventType.Step, why, `${label}: weight ${step.weight}%`, { previousWeight, health });
    health = undefined;
    why = RolloutEventReason.NoHold;
    i += 1;
  }
}

function finish(d: Draft, how: "promote" | "hold", reason: RolloutEventReason, health?: Health): void {
  const { plan, now, s } = d;
  const previousWeight = s.weight;
  d.clearTiming();
  s.stepIndex = plan.steps.length;
  s.consecutiveFailures = 0;
  s.rollbackWeights = [];
  if (how === "hold") {
    s.phase = RolloutPhase.Completed;
    d.emit(RolloutEventType.Completed, reason, `plan finished at ${s.weight}%`, { previousWeight, health });
    return;
  }
  s.phase = RolloutPhase.Promoted;
  s.weight = 100;
  s.stepStartedAt = now;
  if (plan.rollbackWindowMs > 0) {
    s.rollbackUntil = now + plan.rollbackWindowMs;
    if (plan.windowAnalysis !== null) s.nextCheckAt = now + Math.min(plan.windowAnalysis.intervalMs, plan.rollbackWindowMs);
  } else {
    s.rollbackUntil = null;
  }
  const window = plan.rollbackWindowMs > 0 ? `; rollback window ${formatDuration(plan.rollbackWindowMs)}` : "";
  d.emit(RolloutEventType.Promoted, reason, `promoted to 100%${window}`, { previousWeight, health });
}

function abort(d: Draft, reason: RolloutEventReason, message: string, health?: Health): void {
  const { plan, now, s } = d;
  const previousWeight = s.weight;
  // The rollback window exists to flip a promotion back at once, whatever the rollback mode.
  const immediate =
    plan.rollback === RollbackMode.Immediate || s.phase === RolloutPhase.RollingBack || s.phase === RolloutPhase.Idle || s.phase === RolloutPhase.Promoted;
  if (s.phase !== RolloutPhase.RollingBack || s.abortReason === null || reason === RolloutEventReason.Operator) s.abortReason = message;
  d.clearTiming();
  s.rollbackUntil = null;
  s.consecutiveFailures = 0;
  if (!immediate) {
    const taken = plan.steps.slice(0, Math.min(s.stepIndex, plan.steps.length)).map((step) => step.weight);
    const below = [...new Set(taken.filter((w) => w < s.weight && w > 0))].sort((a, b) => b - a);
    const [first, ...rest] = [...below, 0];
    if (first !== undefined && first > 0) {
      s.phase = RolloutPhase.RollingBack;
      s.weight = first;
      s.rollbackWeights = rest;
      s.holdUntil = now + plan.rollbackIntervalMs;
      d.emit(RolloutEventType.RollbackStep, reason, `aborting (${message}): stepping down to ${first}%`, { previousWeight, health });
      return;
    }
  }
  s.phase = RolloutPhase.Aborted;
  s.weight = 0;
  s.rollbackWeights = [];
  d.emit(RolloutEventType.Aborted, reason, `aborted: ${message}`, { previousWeight, health });
}

/** Records a check's verdict; returns false when it aborted the rollout. */
function recordCheck(d: Draft, analysis: ResolvedAnalysis, health: Health, holdUntil: number | null): boolean {
  const { now, s } = d;
  s.lastHealth = health;
  const { passed, failed, inconclusive } = s.checks;
  if (health.verdict === HealthVerdict.Pass) {
    s.checks = { passed: passed + 1, failed, inconclusive };
    s.consecutiveFailures = 0;
  } else if (health.verdict === HealthVerdict.Fail) {
    s.checks = { passed, failed: failed + 1, inconclusive };
    s.consecutiveFailures += 1;
  } else {
    s.checks = { passed, failed, inconclusive: inconclusive + 1 };
  }
  const next = now + analysis.intervalMs;
  s.nextCheckAt = holdUntil !== null && holdUntil > now ? Math.min(next, holdUntil) : next;
  const failures = health.verdict === HealthVerdict.Fail ? ` (${s.consecutiveFailures}/${analysis.failureLimit})` : "";
  d.emit(RolloutEventType.Check, RolloutEventReason.Schedule, `check ${health.verdict}${failures}: ${health.message}`, { health });
  if (health.verdict === HealthVerdict.Fail && s.consecutiveFailures >= analysis.failureLimit) {
    abort(d, RolloutEventReason.AnalysisFailed, health.message, health);
    return false;
  }
  return true;
}

function usableHealth(health: Health | undefined): Health | undefined {
  return health !== undefined && isRecord(health) && VERDICTS.includes(health.verdict as string) ? health : undefined;
}

function tick(d: Draft, health: Health | undefined): void {
  const { plan, now, s } = d;
  switch (s.phase) {
    case RolloutPhase.RollingBack: {
      if (s.holdUntil === null || now < s.holdUntil) return;
      const previousWeight = s.weight;
      const [next, ...rest] = s.rollbackWeights;
      if (next === undefined || next === 0) {
        d.clearTiming();
        s.phase = RolloutPhase.Aborted;
        s.weight = 0;
        s.rollbackWeights = [];
        d.emit(RolloutEventType.Aborted, RolloutEventReason.Schedule, `aborted: ${s.abortReason ?? "rolled back"}`, { previousWeight });
      } else {
        s.weight = next;
        s.rollbackWeights = rest;
        s.holdUntil = now + plan.rollbackIntervalMs;
        d.emit(RolloutEventType.RollbackStep, RolloutEventReason.Schedule, `stepping down to ${next}%`, { previousWeight });
      }
      return;
    }
    case RolloutPhase.Promoted: {
      if (s.rollbackUntil === null) return;
      const analysis = plan.windowAnalysis;
      if (analysis !== null && health !== undefined && s.nextCheckAt !== null && now >= s.nextCheckAt) {
        if (!recordCheck(d, analysis, health, s.rollbackUntil)) return;
      }
      if (now >= s.rollbackUntil) {
        s.rollbackUntil = null;
        s.nextCheckAt = null;
        d.emit(RolloutEventType.WindowClosed, RolloutEventReason.Schedule, "rollback window closed: the promotion is final");
      }
      return;
    }
    case RolloutPhase.Progressing:
    case RolloutPhase.Analysing:
    case RolloutPhase.Preview:
    case RolloutPhase.Paused: {
      const step = plan.steps[s.stepIndex];
      if (step === undefined) return;
      const analysis = step.analysis;
      let verdict: HealthVerdict | null = null;
      if (analysis !== null && health !== undefined && s.nextCheckAt !== null && now >= s.nextCheckAt) {
        verdict = health.verdict;
        if (!recordCheck(d, analysis, health, s.phase === RolloutPhase.Paused ? null : s.holdUntil)) return;
      }
      if (s.phase === RolloutPhase.Paused) {
        if (s.pauseReason === RolloutPauseReason.Inconclusive && verdict === HealthVerdict.Pass)
          enterStep(d, s.stepIndex + 1, RolloutEventReason.AnalysisPassed, health);
        return;
      }
      if (s.holdUntil === null || now < s.holdUntil) return;
      if (analysis === null) {
        enterStep(d, s.stepIndex + 1, RolloutEventReason.HoldElapsed);
      } else if (verdict === HealthVerdict.Pass) {
        enterStep(d, s.stepIndex + 1, RolloutEventReason.AnalysisPassed, health);
      } else if (verdict === HealthVerdict.Inconclusive) {
        if (analysis.onInconclusive === InconclusivePolicy.Continue) {
          enterStep(d, s.stepIndex + 1, RolloutEventReason.Inconclusive, health);
        } else {
          d.clearTiming();
          s.phase = RolloutPhase.Paused;
          s.pauseReason = RolloutPauseReason.Inconclusive;
          s.nextCheckAt = now + analysis.intervalMs;
          d.emit(RolloutEventType.Paused, RolloutEventReason.Inconclusive, `${stepLabel(plan, s.stepIndex)} paused, inconclusive: ${health?.message ?? ""}`, {
            health,
          });
        }
      }
      // A failed check below the limit, or no verdict yet: wait for the next check.
      return;
    }
    default:
      return;
  }
}

function reject(state: RolloutState, rejection: string): TransitionResult {
  return { accepted: false, rejection, state, effects: [], events: [] };
}

function describe(state: RolloutState): string {
  if (state.phase === RolloutPhase.Promoted) return state.rollbackUntil === null ? "the promotion is final" : "the rollout is promoted";
  if (state.phase === RolloutPhase.RollingBack) return "the rollout is rolling back";
  return `the rollout is ${state.phase}`;
}

/**
 * The pure transition: from a state, a command and the current time (and, on a tick, the verdict of a due health
 * check) to the next state, the effects on the world and the events. Never throws and never mutates its inputs;
 * a command that does not apply is rejected with a reason and leaves the state as it was.
 *
 * | command | applies in | does |
 * |---|---|---|
 * | `start` | idle | enters the first step |
 * | `tick` | any | checks health when due, ends holds, closes the rollback window, steps a rollback down |
 * | `pause` | progressing, analysing, preview | keeps the hold's remaining time |
 * | `resume` | paused | operator pause: continues the hold; manual step or inconclusive: next step |
 * | `promote` | progressing, analysing, preview, paused | next step now |
 * | `promoteFull` | those and completed | 100 % now |
 * | `abort` | every phase but aborted and a final promotion | 0 % (or steps down) |
 * | `retry` | aborted | starts over from the first step |
 *
 * @example
 * ```ts
 * const plan = compilePlan({ steps: [{ weight: 10, pause: "1h" }] });
 * let state = initialState(plan);
 * ({ state } = transition(plan, state, { type: "start" }, 0));        // weight 10, holding 1h
 * ({ state } = transition(plan, state, { type: "tick" }, 3_600_000)); // promoted, weight 100
 * ```
 */
export function transition(plan: CompiledPlan, state: RolloutState, command: RolloutCommand, now: number, health?: Health): TransitionResult {
  if (!isCompiledPlan(plan)) return reject(state, "plan must come from compilePlan()");
  if (typeof now !== "number" || !Number.isFinite(now)) return reject(state, `now must be a finite number, got ${String(now)}`);
  if (!isRecord(command) || typeof command.type !== "string") return reject(state, "a command is an object with a type");
  const problems = checkState(plan, state);
  if (problems.length > 0) return reject(state, `invalid state: ${problems[0]?.message ?? ""}`);

  const d = new Draft(plan, state, now);
  const s = d.s;
  switch (command.type) {
    case "start":
      if (state.phase !== RolloutPhase.Idle) return reject(state, `cannot start: ${describe(state)}`);
      s.startedAt = now;
      d.emit(RolloutEventType.Started, RolloutEventReason.Operator, `rollout started (${plan.steps.length} step${plan.steps.length === 1 ? "" : "s"})`);
      enterStep(d, 0, RolloutEventReason.Operator);
      break;
    case "retry":
      if (state.phase !== RolloutPhase.Aborted) return reject(state, `cannot retry: ${describe(state)} (only an aborted rollout can be retried)`);
      s.startedAt = now;
      s.abortReason = null;
      s.lastHealth = null;
      s.checks = { passed: 0, failed: 0, inconclusive: 0 };
      d.emit(RolloutEventType.Started, RolloutEventReason.Operator, "rollout retried from the first step");
      enterStep(d, 0, RolloutEventReason.Operator);
      break;
    case "tick":
      tick(d, usableHealth(health));
      break;
    case "pause": {
      if (!HOLD_PHASES.has(state.phase)) return reject(state, `cannot pause: ${describe(state)}`);
      const remaining = Math.max(0, (state.holdUntil ?? now) - now);
      s.phase = RolloutPhase.Paused;
      s.pauseReason = RolloutPauseReason.Operator;
      s.holdRemainingMs = remaining;
      s.holdUntil = null;
      d.emit(RolloutEventType.Paused, RolloutEventReason.Operator, `paused by operator with ${formatDuration(remaining)} of the hold left`);
      break;
    }
    case "resume": {
      if (state.phase !== RolloutPhase.Paused) return reject(state, `cannot resume: ${describe(state)}`);
      const step = plan.steps[state.stepIndex];
      if (state.pauseReason === RolloutPauseReason.Operator && step !== undefined) {
        const remaining = state.holdRemainingMs ?? 0;
        s.phase = holdPhase(plan, step);
        s.pauseReason = null;
        s.holdRemainingMs = null;
        s.holdUntil = now + remaining;
        // Capped at the hold's end only while that is ahead (as after a check): a hold that was already over waits
        // for its scheduled check, not for a second one at the instant of the last.
        if (step.analysis !== null) {
          const next = s.nextCheckAt ?? now + step.analysis.intervalMs;
          s.nextCheckAt = remaining > 0 ? Math.min(next, s.holdUntil) : next;
        }
        d.emit(RolloutEventType.Resumed, RolloutEventReason.Operator, `resumed with ${formatDuration(remaining)} of the hold left`);
      } else {
        enterStep(d, state.stepIndex + 1, RolloutEventReason.Operator);
      }
      break;
    }
    case "promote":
      if (!STEP_PHASES.has(state.phase)) return reject(state, `cannot promote: ${describe(state)}`);
      enterStep(d, state.stepIndex + 1, RolloutEventReason.Operator);
      break;
    case "promoteFull":
      if (!STEP_PHASES.has(state.phase) && state.phase !== RolloutPhase.Completed) return reject(state, `cannot promote: ${describe(state)}`);
      finish(d, "promote", RolloutEventReason.Operator);
      break;
    case "abort": {
      if (state.phase === RolloutPhase.Aborted || (state.phase === RolloutPhase.Promoted && state.rollbackUntil === null)) {
        return reject(state, `cannot abort: ${describe(state)}`);
      }
      const given = (command as { reason?: unknown }).reason;
      const text = typeof given === "string" && given.trim() !== "" ? given.slice(0, MAX_REASON) : "aborted by operator";
      abort(d, RolloutEventReason.Operator, text);
      break;
    }
    default:
      return reject(state, `unknown command "${String((command as { type: unknown }).type).slice(0, 40)}"`);
  }

  if (d.events.length === 0) return { accepted: true, state, effects: [], events: [] };
  s.revision = state.revision + 1;
  s.updatedAt = now;
  const effects: RolloutEffect[] = [];
  if (s.weight !== state.weight || (state.phase === RolloutPhase.Idle && s.phase !== RolloutPhase.Idle)) {
    effects.push({ type: "setWeight", weight: s.weight });
  }
  return { accepted: true, state: s, effects, events: d.events };
}

/**
 * The status of a state at `now` (what `rollout.status()` returns).
 *
 * @example
 * ```ts
 * statusOf(plan, state, Date.now(), { stable: "v1", canary: "v2" }).holdRemainingMs;
 * ```
 */
export function statusOf(plan: CompiledPlan, state: RolloutState, now: number, versions: { readonly stable: string; readonly canary: string }): RolloutStatus {
  let holdRemainingMs: number | null = null;
  if (state.phase === RolloutPhase.Paused && state.pauseReason === RolloutPauseReason.Operator) holdRemainingMs = state.holdRemainingMs;
  else if (HOLD_PHASES.has(state.phase) && state.holdUntil !== null) holdRemainingMs = Math.max(0, state.holdUntil - now);
  return {
    phase: state.phase,
    stepIndex: state.stepIndex,
    stepCount: plan.steps.length,
    weight: state.weight,
    strategy: plan.strategy,
    stable: versions.stable,
    canary: versions.canary,
    stepName: plan.steps[state.stepIndex]?.name ?? null,
    startedAt: state.startedAt,
    stepStartedAt: state.stepStartedAt,
    holdRemainingMs,
    nextCheckAt: activeAnalysis(plan, state) !== null ? state.nextCheckAt : null,
    pauseReason: state.pauseReason,
    abortReason: state.abortReason,
    consecutiveFailures: state.consecutiveFailures,
    checks: state.checks,
    lastHealth: state.lastHealth,
    rollbackWindowRemainingMs: state.phase === RolloutPhase.Promoted && state.rollbackUntil !== null ? Math.max(0, state.rollbackUntil - now) : null,
    revision: state.revision,
  };
}

function isInstantOrNull(value: unknown): boolean {
  return value === null || (typeof value === "number" && Number.isFinite(value));
}

/**
 * Lists what is wrong with a (restored) state for this plan: wrong shape, another plan's state, a weight that
 * does not match its step. An empty list means `transition` and `createRollout` accept it.
 *
 * @example
 * ```ts
 * const problems = checkState(plan, JSON.parse(saved));
 * if (problems.length > 0) console.error(problems.map((p) => `${p.path}: ${p.code}`));
 * ```
 */
export function checkState(plan: CompiledPlan, value: unknown): readonly ConfigProblem[] {
  const problems = new Problems();
  if (!isRecord(value)) {
    problems.add("type", "state", `expected a rollout state object, got ${typeName(value)}`);
    return problems.list;
  }
  if (value.format !== 1) problems.add("invalid_value", "state.format", `unknown state format ${JSON.stringify(value.format) ?? "undefined"}`);
  if (value.plan !== plan.fingerprint) {
    problems.add("conflict", "state.plan", `the state belongs to another plan (${String(value.plan).slice(0, 20)}, this plan is ${plan.fingerprint})`);
  }
  const phase = value.phase;
  if (typeof phase !== "string" || !PHASES.includes(phase))
    problems.add("invalid_value", "state.phase", `unknown phase ${JSON.stringify(phase) ?? "undefined"}`);
  const index = value.stepIndex;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > plan.steps.length) {
    problems.add("out_of_range", "state.stepIndex", `expected a step from 0 to ${plan.steps.length}, got ${String(index)}`);
  }
  const weight = value.weight;
  if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0 || weight > 100) {
    problems.add("out_of_range", "state.weight", `expected a weight from 0 to 100, got ${String(weight)}`);
  }
  if (typeof value.revision !== "number" || !Number.isInteger(value.revision) || value.revision < 0) {
    problems.add("type", "state.revision", "expected a whole number ≥ 0");
  }
  for (const key of ["startedAt", "updatedAt", "stepStartedAt", "holdUntil", "holdRemainingMs", "nextCheckAt", "rollbackUntil"] as const) {
    if (!isInstantOrNull(value[key])) problems.add("type", `state.${key}`, "expected a finite number or null");
  }
  if (value.pauseReason !== null && !PAUSE_REASONS.includes(value.pauseReason as string)) {
    problems.add("invalid_value", "state.pauseReason", `unknown pause reason ${JSON.stringify(value.pauseReason) ?? "undefined"}`);
  }
  const failures = value.consecutiveFailures;
  if (typeof failures !== "number" || !Number.isInteger(failures) || failures < 0)
    problems.add("type", "state.consecutiveFailures", "expected a whole number ≥ 0");
  const checks = value.checks;
  if (
    !isRecord(checks) ||
    !["passed", "failed", "inconclusive"].every((k) => typeof checks[k] === "number" && Number.isInteger(checks[k]) && (checks[k] as number) >= 0)
  ) {
    problems.add("type", "state.checks", "expected { passed, failed, inconclusive } counts");
  }
  if (value.lastHealth !== null && !(isRecord(value.lastHealth) && VERDICTS.includes(value.lastHealth.verdict as string))) {
    problems.add("type", "state.lastHealth", "expected a health verdict or null");
  }
  if (value.abortReason !== null && typeof value.abortReason !== "string") problems.add("type", "state.abortReason", "expected a string or null");
  const weights = value.rollbackWeights;
  if (!Array.isArray(weights) || !weights.every((w) => typeof w === "number" && Number.isFinite(w) && w >= 0 && w <= 100)) {
    problems.add("type", "state.rollbackWeights", "expected a list of weights");
  }
  if (problems.size > 0) return problems.list;

  // The shape is right: now the invariants between phase, step and weight.
  const state = value as unknown as RolloutState;
  const expect = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.add("conflict", path, message);
  };
  if (STEP_PHASES.has(state.phase)) {
    const step = plan.steps[state.stepIndex];
    expect(step !== undefined, "state.stepIndex", `phase ${state.phase} needs a current step`);
    if (step !== undefined)
      expect(state.weight === step.weight, "state.weight", `${stepLabel(plan, step.index)} has weight ${step.weight}, the state says ${state.weight}`);
    expect((state.phase === RolloutPhase.Paused) === (state.pauseReason !== null), "state.pauseReason", "a pause reason belongs to the paused phase");
  }
  if (state.phase === RolloutPhase.Idle) expect(state.weight === 0, "state.weight", "an idle rollout has weight 0");
  if (state.phase === RolloutPhase.Aborted) expect(state.weight === 0, "state.weight", "an aborted rollout has weight 0");
  if (state.phase === RolloutPhase.Promoted) expect(state.weight === 100, "state.weight", "a promoted rollout has weight 100");
  if (state.phase === RolloutPhase.RollingBack) expect(state.holdUntil !== null, "state.holdUntil", "a stepped rollback needs its next instant");
  // Without these instants nothing would ever be due again: a restored rollout would stall without a word.
  if (HOLD_PHASES.has(state.phase)) expect(state.holdUntil !== null, "state.holdUntil", `phase ${state.phase} needs the end of its hold`);
  if (state.phase === RolloutPhase.Paused && state.pauseReason === RolloutPauseReason.Operator) {
    expect(state.holdRemainingMs !== null, "state.holdRemainingMs", "an operator pause keeps the hold's remaining time");
  }
  if (problems.size === 0 && activeAnalysis(plan, state) !== null) {
    expect(state.nextCheckAt !== null, "state.nextCheckAt", "an analysed step (or rollback window) needs the time of its next check");
  }
  return problems.list;
}

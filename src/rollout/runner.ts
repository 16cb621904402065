import { Problems, isRecord, typeName } from "../internal/problems.js";
import { configProblems } from "../router/validate.js";
import type { Logger, Router, RouterConfig, StatsReader } from "../types.js";
import { evaluateFigures, evaluateHealth } from "./analysis.js";
import { analysisRequest, checkState, initialState, nextTickAt, statusOf, transition } from "./machine.js";
import { compilePlan, isCompiledPlan } from "./plan.js";
import { globalFetch } from "./http.js";
import { prometheusProvider } from "./prometheus.js";
import { askGate, gatesFor, notificationsFor, payloadOf, tell } from "./webhooks.js";
import {
  type AnalysisProvider,
  type AnalysisRequest,
  HealthVerdict,
  type CompiledPlan,
  type ControlResult,
  type FetchLike,
  type GateHold,
  RolloutEventReason,
  type Health,
  type Rollout,
  type RolloutCommand,
  type RolloutEvent,
  RolloutEventType,
  type RolloutOptions,
  RolloutPhase,
  type RolloutChange,
  type RolloutPlan,
  type RolloutState,
  type RolloutStatus,
  type ResolvedWebhook,
  type Timers,
  type TransitionResult,
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

/**
 * Under a compatibility bucketing scheme, every step's weight must be one the scheme can express (whole percents for
 * Unleash, say): refused here, before the rollout starts, rather than at the step.
 */
function checkExpressible(plan: CompiledPlan, config: RouterConfig, versions: { stable: string; canary: string }, problems: Problems): void {
  const scheme = config.bucketing?.scheme;
  if (scheme === undefined || scheme === "turnout") return;
  const split = config.split ?? { [config.stable]: 1 };
  const total = Object.values(split).reduce((sum, weight) => sum + weight, 0);
  const others: Record<string, number> = {};
  let othersPercent = 0;
  for (const [name, weight] of Object.entries(split)) {
    if (name === versions.stable || name === versions.canary || total <= 0) continue;
    others[name] = (weight / total) * 100;
    othersPercent += others[name]!;
  }
  plan.steps.forEach((step, i) => {
    const candidate = {
      ...config,
      canary: versions.canary,
      split: { ...others, [versions.canary]: step.weight, [versions.stable]: Math.max(0, 100 - othersPercent - step.weight) },
    };
    const refused = configProblems(candidate).list.find((problem) => problem.code === "not_expressible");
    if (refused !== undefined) problems.add("not_expressible", `plan.steps[${i}].weight`, `${step.weight} %: ${refused.message.replace(/^[^:]*: /, "")}`);
  });
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
      checkExpressible(plan, router.config, versions, problems);
    }
  }
  if (!hasFunctions(o.stats, ["window"]))
    problems.add(o.stats === undefined ? "required" : "type", "options.stats", "expected a stats reader (an object with window())");
  if (o.clock !== undefined && typeof o.clock !== "function") problems.add("type", "options.clock", "expected a function returning epoch milliseconds");
  if (o.timers !== undefined && !hasFunctions(o.timers, ["setTimeout", "clearTimeout"])) {
    problems.add("type", "options.timers", "expected { setTimeout(callback, ms), clearTimeout(handle) }");
  }
  if (o.timers === undefined && defaultTimers() === undefined) {
    problems.add("required", "options.timers", "this runtime has no setTimeout: pass timers");
  }
  for (const key of ["onEvent", "onState", "commit", "beforeCheck"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "function") problems.add("type", `options.${key}`, "expected a function");
  }
  if (o.retryMs !== undefined && (typeof o.retryMs !== "number" || !Number.isFinite(o.retryMs) || o.retryMs < 1 || o.retryMs > MAX_DELAY_MS)) {
    problems.add("out_of_range", "options.retryMs", "expected milliseconds from 1 to 2147483647");
  }
  if (o.fetch !== undefined && typeof o.fetch !== "function") problems.add("type", "options.fetch", "expected a fetch function");
  else if (o.fetch === undefined && globalFetch() === undefined && plan.webhooks.length > 0) {
    problems.add("required", "options.fetch", "this runtime has no fetch for the plan's webhooks: pass one");
  }
  if (o.providers !== undefined && !isRecord(o.providers)) problems.add("type", "options.providers", "expected an object of provider functions by name");
  const given = isRecord(o.providers) ? o.providers : {};
  for (const [name, provider] of Object.entries(plan.providers)) {
    const own = Object.hasOwn(given, name) ? given[name] : undefined;
    if (own !== undefined && typeof own !== "function") problems.add("type", `options.providers.${name}`, "expected a function returning the figures");
    else if (own === undefined && provider.type === "custom") {
      problems.add("required", `options.providers.${name}`, `the plan's custom provider "${name}" needs its function in options.providers`);
    }
  }
  if (o.logger !== undefined && !hasFunctions(o.logger, ["warn", "error"]))
    problems.add("type", "options.logger", "expected an object with warn() and error() (console works)");
  if (o.state !== undefined) for (const problem of checkState(plan, o.state)) problems.list.push(problem);
  problems.throwIfAny("rollout options");
  return o as unknown as RolloutOptions;
}

/** What a provider handed back, before it is checked. */
type ProviderAnswerLike = Parameters<typeof evaluateFigures>[0];

/** A value now, or later. */
type Maybe<T> = T | Promise<T>;

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** `fn(value)`, synchronously when `value` is there already: without hooks the runner never goes asynchronous. */
function then<T, U>(value: Maybe<T>, fn: (value: T) => Maybe<U>): Maybe<U> {
  return isThenable<T>(value) ? Promise.resolve(value).then(fn) : fn(value);
}

/** What `commit` made of a change. */
type Stored = true | { readonly failure: "refused" | "failed"; readonly message: string };

const NONE: readonly RolloutEvent[] = [];
const DEFAULT_RETRY_MS = 1000;
const BUSY = "busy: a change is still being committed (send() queues a command behind it)";

class Runner implements Rollout {
  readonly plan: CompiledPlan;
  private current: RolloutState;
  private readonly router: Router;
  private readonly stats: StatsReader;
  private readonly clock: () => number;
  private readonly timers: Timers;
  private readonly logger: Logger | undefined;
  private readonly onState: ((state: RolloutState) => void) | undefined;
  private readonly commitHook: RolloutOptions["commit"];
  private readonly beforeCheck: RolloutOptions["beforeCheck"];
  private readonly retryMs: number;
  private readonly providers = new Map<string, AnalysisProvider>();
  private readonly fetch: FetchLike | undefined;
  /** The gate holding the rollout, if one is. */
  private held: GateHold | undefined;
  /** A `start`/`retry` a gate held: asked again every `retryMs` (ticks retry by themselves). */
  private heldCommand: RolloutCommand | undefined;
  private readonly listeners = new Set<(event: RolloutEvent) => void>();
  private timer: unknown = undefined;
  private stopped = false;
  private statsFailing = false;
  private commitFailing = false;
  private gateFailing = false;
  private warnedSpan = false;
  /** The asynchronous work in flight (a pending check gate or commit), settled when the runner is free again. */
  private busy: Promise<unknown> | undefined;
  /** `send`/`adopt`/`settled` calls waiting behind it, and the end of the last of them. */
  private queued = 0;
  private hooking = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(plan: CompiledPlan, options: RolloutOptions) {
    this.plan = plan;
    this.router = options.router;
    this.stats = options.stats;
    this.clock = options.clock ?? (() => Date.now());
    this.timers = options.timers ?? (defaultTimers() as Timers);
    this.logger = options.logger;
    this.onState = options.onState;
    this.commitHook = options.commit;
    this.beforeCheck = options.beforeCheck;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.fetch = options.fetch ?? globalFetch();
    for (const [name, spec] of Object.entries(plan.providers)) {
      const own = options.providers !== undefined && Object.hasOwn(options.providers, name) ? options.providers[name] : undefined;
      if (own !== undefined) this.providers.set(name, own);
      else if (spec.type === "prometheus") {
        this.providers.set(name, prometheusProvider({ ...spec, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) }));
      }
    }
    if (options.onEvent !== undefined) this.listeners.add(options.onEvent);
    // A restored state is copied so that the caller's object can never change the rollout behind its back.
    this.current = options.state !== undefined ? copy(options.state) : initialState(plan);
    const restored =
      this.current.phase !== RolloutPhase.Idle
        ? then(this.reconcile(this.now()), (events) => {
            for (const event of events) this.emit(event);
          })
        : undefined;
    if (isThenable(restored))
      void this.track(
        Promise.resolve(restored).then(() => this.schedule(0)),
        undefined,
      );
    else this.schedule(0);
  }

  start(): ControlResult {
    return this.control({ type: "start" });
  }
  pause(): ControlResult {
    return this.control({ type: "pause" });
  }
  resume(): ControlResult {
    return this.control({ type: "resume" });
  }
  promote(): ControlResult {
    return this.control({ type: "promote" });
  }
  promoteFull(): ControlResult {
    return this.control({ type: "promoteFull" });
  }
  abort(reason?: string): ControlResult {
    return this.control(typeof reason === "string" ? { type: "abort", reason } : { type: "abort" });
  }
  retry(): ControlResult {
    return this.control({ type: "retry" });
  }
  tick(now?: number): ControlResult {
    return this.control({ type: "tick" }, now);
  }

  send(command: RolloutCommand, now?: number): Promise<ControlResult> {
    return this.enqueue(
      () => this.execute(command, now),
      () => ({ accepted: false, rejection: "the command failed inside the runner (see the logger)", status: this.status() }),
    );
  }

  adopt(state: RolloutState): ControlResult {
    const problems = checkState(this.plan, state);
    const first = problems[0];
    if (first !== undefined) return { accepted: false, rejection: `invalid state: ${first.path}: ${first.message}`, status: this.status() };
    const adopted = copy(state);
    if (!this.occupied()) return this.replace(adopted);
    void this.enqueue(
      () => this.replace(adopted),
      () => undefined,
    );
    return { accepted: true, pending: true, status: this.status() };
  }

  async settled(): Promise<void> {
    // Loops: what was in flight may have queued more (an adopt from inside a commit hook).
    while (this.occupied()) {
      await this.enqueue(
        () => undefined,
        () => undefined,
      );
    }
  }

  status(): RolloutStatus {
    const status = statusOf(this.plan, this.current, this.now(), this.versions());
    return this.held === undefined ? status : { ...status, held: this.held };
  }

  state(): RolloutState {
    return copy(this.current);
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

  /** Whether asynchronous work is in flight or queued: timer ticks then wait, synchronous controls answer "busy". */
  private occupied(): boolean {
    return this.busy !== undefined || this.queued > 0 || this.hooking > 0;
  }

  /**
   * Calls a hook: its answer (now, or when its promise settles) goes through `answered`, a throw or a rejection
   * through `failed`. While it runs, `adopt`/`send` from inside it queue behind the change instead of cutting in.
   */
  private ask<T>(call: () => unknown, answered: (value: unknown) => T, failed: (error: unknown) => T): Maybe<T> {
    let value: unknown;
    this.hooking += 1;
    try {
      value = call();
    } catch (error) {
      return failed(error);
    } finally {
      this.hooking -= 1;
    }
    return isThenable(value) ? Promise.resolve(value).then(answered, failed) : answered(value);
  }

  /** A synchronous control: runs now, unless the runner is busy with a pending commit. */
  private control(command: RolloutCommand, at?: number): ControlResult {
    if (this.occupied()) return { accepted: false, rejection: BUSY, status: this.status() };
    const result = this.execute(command, at);
    if (!isThenable(result)) return result;
    void this.track(result, undefined);
    return { accepted: true, pending: true, status: this.status() };
  }

  /** Marks `work` as the work in flight until it settles; a fault in it is logged and answered by `fallback`. */
  private track<T>(work: PromiseLike<T>, fallback: T): Promise<T> {
    const done: Promise<T> = Promise.resolve(work).then(
      (value) => {
        if (this.busy === done) this.busy = undefined;
        return value;
      },
      (error: unknown) => {
        if (this.busy === done) this.busy = undefined;
        try {
          this.logger?.error("turnout rollout: the runner failed", { error });
        } catch {
          // A throwing logger must not turn send() into a rejection.
        }
        return fallback;
      },
    );
    this.busy = done;
    return done;
  }

  /** Runs `job` once everything queued or in flight before it is done; at once when nothing is. */
  private enqueue<T>(job: () => Maybe<T>, fallback: () => T): Promise<T> {
    const begin = (): Promise<T> => {
      try {
        const result = job();
        return isThenable<T>(result) ? this.track(result, fallback()) : Promise.resolve(result);
      } catch (error) {
        return this.track(Promise.reject(error), fallback());
      }
    };
    if (!this.occupied()) return begin();
    this.queued += 1;
    const result = this.tail.then(async () => {
      while (this.busy !== undefined) await this.busy;
      this.queued -= 1;
      return begin();
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private replace(state: RolloutState): ControlResult {
    this.current = state;
    this.schedule(0);
    return { accepted: true, status: this.status() };
  }

  /** Runs a command: check gate, stats, transition, commit, effects, events, next timer. Synchronous without hooks. */
  private execute(command: RolloutCommand, at?: number): Maybe<ControlResult> {
    const now = typeof at === "number" && Number.isFinite(at) ? at : this.now();
    const due = isRecord(command) && command.type === "tick" ? analysisRequest(this.plan, this.current, now) : undefined;
    if (due === undefined) return this.advance(command, now, undefined);
    if (this.beforeCheck === undefined) return this.advance(command, now, due);
    return then(this.gate(due), (go) => (go ? this.advance(command, now, due) : this.skip(now)));
  }

  /** Asks `beforeCheck` whether a due check may be made now; a hook that throws or rejects says no. */
  private gate(due: AnalysisRequest): Maybe<boolean> {
    return this.ask(
      () => this.beforeCheck?.(due),
      (go) => {
        this.gateFailing = false;
        return go === true;
      },
      (error) => {
        if (!this.gateFailing) this.logger?.error("turnout rollout: beforeCheck failed; the check waits", { error });
        this.gateFailing = true;
        return false;
      },
    );
  }

  /** A due check that `beforeCheck` refused: no transition at all; the weight is still reconciled. */
  private skip(now: number): Maybe<ControlResult> {
    return then(this.reconcile(now), (events) => {
      for (const event of events) this.emit(event);
      this.schedule(this.retryMs);
      return { accepted: true, status: this.status() };
    });
  }

  private advance(command: RolloutCommand, now: number, due: AnalysisRequest | undefined): Maybe<ControlResult> {
    if (due === undefined) return this.decide(command, now, undefined, undefined);
    return then(this.measure(due), (health) => this.decide(command, now, due, health));
  }

  private decide(command: RolloutCommand, now: number, due: AnalysisRequest | undefined, health: Health | undefined): Maybe<ControlResult> {
    // A due check that could not be measured is retried after a pause instead of at once.
    const wait = due !== undefined && health === undefined ? Math.min(due.analysis.intervalMs, 60_000) : 0;
    const previous = this.current;
    const result = transition(this.plan, previous, command, now, health);
    if (!result.accepted) return { accepted: false, rejection: result.rejection ?? "rejected", status: this.status() };
    const gates = result.state === previous ? [] : gatesFor(this.plan, command, result);
    if (gates.length === 0) return this.commitAndApply(command, now, previous, result, health, wait);
    return then(this.confirm(gates, previous, result.state, now), (hold) => {
      if (hold === undefined) return this.commitAndApply(command, now, previous, result, health, wait);
      this.hold(command, hold, now);
      return { accepted: false, rejection: `held: ${hold.message}`, status: this.status() };
    });
  }

  /** Asks every gate (in parallel); resolves with the first refusal, or undefined when all said yes. */
  private async confirm(gates: readonly ResolvedWebhook[], previous: RolloutState, next: RolloutState, now: number): Promise<GateHold | undefined> {
    const fetch = this.fetch;
    if (fetch === undefined) return { webhook: gates[0]?.name ?? "", type: gates[0]?.type ?? "preStep", message: "no fetch to ask the gates with", since: now };
    const versions = this.versions();
    const answers = await Promise.all(gates.map((gate) => askGate(fetch, gate, payloadOf(this.plan, gate, previous, versions, now, { next }))));
    const index = answers.findIndex((a) => !a.yes);
    const refused = answers[index];
    const gate = gates[index];
    if (refused === undefined || refused.yes || gate === undefined) return undefined;
    return { webhook: gate.name, type: gate.type, message: refused.message, since: this.held?.webhook === gate.name ? this.held.since : now };
  }

  /** A gate said no: the rollout stays where it is, says why once, and asks again after `retryMs`. */
  private hold(command: RolloutCommand, hold: GateHold, now: number): void {
    const news = this.held?.message !== hold.message;
    this.held = hold;
    this.heldCommand = command.type === "start" || command.type === "retry" ? command : undefined;
    if (news) {
      const s = this.current;
      const event: RolloutEvent = {
        type: RolloutEventType.Held,
        reason: RolloutEventReason.Gate,
        at: now,
        phase: s.phase,
        stepIndex: s.stepIndex,
        weight: s.weight,
        message: `held: ${hold.message}`,
      };
      this.emit(event);
      // `event` webhooks are told of every event, a hold included.
      this.notify(s, [event]);
    }
    this.schedule(this.retryMs);
  }

  /** Tells the notifications of an applied transition; never waits for them. */
  private notify(previous: RolloutState, events: readonly RolloutEvent[]): void {
    const fetch = this.fetch;
    if (this.plan.webhooks.length === 0 || fetch === undefined) return;
    const versions = this.versions();
    for (const { webhook, event } of notificationsFor(this.plan, previous, events)) {
      void tell(fetch, webhook, payloadOf(this.plan, webhook, this.current, versions, event.at, { event })).then((failure) => {
        if (failure !== undefined) this.logger?.warn(`turnout rollout: ${failure}`, { webhook: webhook.name });
      });
    }
  }

  private commitAndApply(
    command: RolloutCommand,
    now: number,
    previous: RolloutState,
    result: TransitionResult,
    health: Health | undefined,
    wait: number,
  ): Maybe<ControlResult> {
    if (result.state === previous || this.commitHook === undefined) return this.apply(command, now, result, wait);
    const change: RolloutChange = {
      kind: "transition",
      command,
      at: now,
      previous,
      state: result.state,
      effects: result.effects,
      events: result.events,
      ...(health === undefined ? {} : { health }),
    };
    return then(this.store(change), (stored) => {
      if (stored === true) return this.apply(command, now, result, wait);
      // A refused tick is retried after retryMs; a refused control leaves the timer for the state's own next tick.
      if (command.type === "tick" || this.timer === undefined) this.schedule(Math.max(wait, this.retryMs));
      return { accepted: false, rejection: `not committed: ${stored.message}`, commitFailure: stored.failure, status: this.status() };
    });
  }

  /** Takes an accepted (and stored) transition: state, router, reconcile, persistence, events, next timer. */
  private apply(command: RolloutCommand, now: number, result: TransitionResult, wait: number): Maybe<ControlResult> {
    const previous = this.current;
    const changed = result.state !== previous;
    this.current = result.state;
    if (changed) {
      this.held = undefined;
      this.heldCommand = undefined;
    }
    const applied: RolloutEvent[] = [];
    for (const effect of result.effects) {
      if (effect.type === "setWeight") {
        const failure = this.setWeight(effect.weight, now);
        if (failure !== undefined) applied.push(failure);
      }
    }
    const reconciled = command.type === "tick" && this.current.phase !== RolloutPhase.Idle && result.effects.length === 0 ? this.reconcile(now) : NONE;
    return then(reconciled, (restored) => {
      for (const event of restored) this.emit(event);
      if (changed) this.persist();
      for (const event of result.events) this.emit(event);
      for (const event of applied) this.emit(event);
      if (changed) this.notify(previous, result.events);
      this.schedule(wait);
      return { accepted: true, status: this.status() };
    });
  }

  /** Asks the `commit` hook to store a change. */
  private store(change: RolloutChange): Maybe<Stored> {
    return this.ask<Stored>(
      () => this.commitHook?.(change),
      (stored) => {
        if (this.commitFailing) this.logger?.warn("turnout rollout: commit works again");
        this.commitFailing = false;
        return stored === true ? true : { failure: "refused", message: "the commit hook refused the change" };
      },
      (error) => {
        if (!this.commitFailing) this.logger?.error("turnout rollout: commit failed; the change was not applied", { kind: change.kind, error });
        this.commitFailing = true;
        return { failure: "failed", message: `commit failed: ${error instanceof Error ? error.message : String(error)}` };
      },
    );
  }

  /**
   * Measures a due check: from the analysis's provider when it names one, else from the stats. Undefined when the
   * stats reader failed (the check is retried later, never guessed); a provider that fails gives an inconclusive
   * verdict that says why.
   */
  private measure(due: AnalysisRequest): Maybe<Health | undefined> {
    const name = due.analysis.provider;
    if (name !== null) return this.consult(due, name);
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

  /** Asks a provider for the figures of a due check. */
  private consult(due: AnalysisRequest, name: string): Maybe<Health> {
    const { now, windowMs, since } = due.query;
    const from = Math.max(now - windowMs, since);
    const weight = this.current.weight;
    const failed = (error: unknown): Health => {
      const why = `provider "${name}" failed: ${error instanceof Error ? error.message : String(error)}`;
      this.logger?.warn("turnout rollout: an analysis provider failed; the check is inconclusive", { provider: name, error });
      const empty = evaluateFigures({ canary: { requests: null }, stable: { requests: null } }, due.analysis, { weight, from, to: now });
      return {
        ...empty,
        verdict: HealthVerdict.Inconclusive,
        message: why,
        checks: empty.checks.map((c) => (c.outcome === "skipped" ? c : { ...c, outcome: HealthVerdict.Inconclusive, message: why })),
      };
    };
    const provider = this.providers.get(name);
    if (provider === undefined) return failed(new Error("no implementation was given to the runner"));
    const versions = this.versions();
    let answer: unknown;
    try {
      answer = provider({ provider: name, ...versions, from, to: now, stepStartedAt: since, weight, analysis: due.analysis });
    } catch (error) {
      return failed(error);
    }
    const judged = (value: unknown): Health => evaluateFigures(value as ProviderAnswerLike, due.analysis, { weight, from, to: now });
    return isThenable(answer) ? Promise.resolve(answer).then(judged, failed) : judged(answer);
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

  /**
   * Puts the router back at the state's weight if someone (a config reload, a person) moved it — once `commit`, if
   * there is one, stored that. Returns the events to emit (`weightRestored`, or `effectFailed`).
   */
  private reconcile(now: number): Maybe<readonly RolloutEvent[]> {
    const s = this.current;
    let actual: number;
    try {
      actual = this.router.canaryPercent;
    } catch {
      actual = Number.NaN;
    }
    if (Math.abs(actual - s.weight) <= WEIGHT_TOLERANCE) return NONE;
    const restored: RolloutEvent = {
      type: RolloutEventType.WeightRestored,
      reason: RolloutEventReason.Reconcile,
      at: now,
      phase: s.phase,
      stepIndex: s.stepIndex,
      weight: s.weight,
      previousWeight: actual,
      message: `the router was at ${actual}%, set back to ${s.weight}%`,
    };
    const put = (): readonly RolloutEvent[] => {
      const failure = this.setWeight(s.weight, now);
      if (failure !== undefined) return [failure];
      this.logger?.warn("turnout rollout: the router's canary weight had moved; set back", { found: actual, weight: s.weight });
      return [restored];
    };
    if (this.commitHook === undefined) return put();
    const change: RolloutChange = { kind: "reconcile", at: now, previous: s, state: s, effects: [{ type: "setWeight", weight: s.weight }], events: [restored] };
    // A refused reconcile leaves the router as it is; the next tick looks again.
    return then(this.store(change), (stored) => (stored === true && this.current === s ? put() : NONE));
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

  /** Sets the timer for the next tick the state needs, no sooner than `wait` ms from now. */
  private schedule(wait: number): void {
    this.clearTimer();
    if (this.stopped) return;
    const held = this.heldCommand;
    if (held !== undefined) {
      this.timer = this.timers.setTimeout(
        () => {
          this.timer = undefined;
          if (this.heldCommand !== held) return;
          if (this.occupied())
            return void this.enqueue(
              () => this.schedule(0),
              () => undefined,
            );
          const result = this.execute(held);
          if (isThenable(result)) void this.track(result, undefined);
        },
        Math.max(wait, 1),
      );
      return;
    }
    const at = nextTickAt(this.plan, this.current);
    if (at === null) return;
    const now = this.now();
    const delay = Math.min(Math.max(0, at - now, wait), MAX_DELAY_MS);
    try {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        // Busy with a pending commit: the tick runs once the runner is free (from the state it has then).
        if (this.occupied()) {
          void this.enqueue(
            () => this.schedule(0),
            () => undefined,
          );
          return;
        }
        const result = this.execute({ type: "tick" });
        if (isThenable(result)) void this.track(result, undefined);
      }, delay);
    } catch (error) {
      this.logger?.error("turnout rollout: setTimeout threw; call tick() yourself", { error });
    }
  }
}

function copy(state: RolloutState): RolloutState {
  return JSON.parse(JSON.stringify(state)) as RolloutState;
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

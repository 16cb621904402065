/**
 * A rollout shared by a fleet. The rollout's JSON state lives in Redis and moves only by compare-and-set on its
 * revision, in one Lua script together with the config change the step implies (the canary's weight) and an entry
 * in the rollout's event stream: a step is stored, applied and recorded at once, or not at all.
 *
 * Two or more controllers run the same plan. One holds a lease (a key with an expiry, renewed while it lives) and
 * drives the rollout with the pure machine (`transition`); the others retry to take the lease, and take over from
 * the stored state when it expires — holds are absolute instants, so a step continues with its remaining time.
 * The lease is for liveness only: every write also checks the lease token and the state's revision atomically, so
 * a leader that stalled past its lease cannot write, and two controllers can never both take the same step.
 *
 * Health checks read the fleet's merged stats; a check that is due while the stats are stale (too few instances
 * reporting, or snapshots too old) is not made, and nothing advances until it can be.
 */
import { ProblemCode, TurnoutConfigError } from "../../errors.js";
import { Problems, checkFields, isRecord } from "../../internal/problems.js";
import { evaluateHealth } from "../../rollout/analysis.js";
import { analysisRequest, checkState, initialState, isFinal, nextTickAt, statusOf, transition } from "../../rollout/machine.js";
import { compilePlan, isCompiledPlan } from "../../rollout/plan.js";
import {
  type CompiledPlan,
  type ControlResult,
  type Health,
  type RolloutCommand,
  type RolloutEvent,
  RolloutEventReason,
  RolloutEventType,
  RolloutPhase,
  type RolloutPlan,
  type RolloutState,
  type RolloutStatus,
  type TransitionResult,
} from "../../rollout/types.js";
import { createRouter } from "../../router/index.js";
import type { RouterConfig } from "../../types.js";
import { type StoreContext, readConfig } from "./config.js";
import { FailureLog, TurnoutRedisError, guarded, int, list, message, randomId, text, validName } from "./link.js";
import { LEASE_RELEASE, LEASE_RENEW, ROLLOUT_CAS } from "./scripts.js";
import { readFleetStats, resolveFreshness, staleError } from "./stats.js";
import {
  type ControlRolloutOptions,
  type ControllerFailure,
  type FleetControllerStatus,
  type FleetRollout,
  RedisFailure,
  type StoredConfig,
} from "./types.js";

/** Entries kept in a rollout's event stream (approximately: `XADD MAXLEN ~`). */
const EVENTS_KEPT = 1000;
/** Compare-and-set attempts of one command or cycle before giving up for now. */
const ATTEMPTS = 8;
const WEIGHT_TOLERANCE = 1e-9;

interface Stored {
  /** The state (the initial state when none is stored). */
  readonly state: RolloutState;
  /** The stored revision (0: none stored). */
  readonly revision: number;
  /** The nonce of the write that stored it. */
  readonly nonce: string | null;
}

type Outcome = "ok" | "conflict" | "lease" | "uncertain";

/** A failure with the stage it belongs to (the config document's problems are not the state's). */
class StageError extends Error {
  constructor(
    readonly stage: ControllerFailure["stage"],
    readonly error: unknown,
  ) {
    super(message(error));
  }
}

function stageOf(error: unknown): { stage: ControllerFailure["stage"]; error: unknown } {
  if (error instanceof StageError) return { stage: error.stage, error: error.error };
  return { stage: error instanceof TurnoutRedisError && error.reason === RedisFailure.Missing ? "config" : "state", error };
}

function checkOptions(options: unknown): void {
  const problems = new Problems();
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "", "expected an options object");
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  checkFields(problems, o, "", ["name", "id", "lead", "leaseMs", "renewMs", "stats", "staleRetryMs", "onEvent", "onLeadership", "onError"]);
  if (o.name !== undefined && !validName(o.name, 100)) problems.add(ProblemCode.InvalidName, "name", "expected 1–100 characters without whitespace");
  if (o.id !== undefined && !validName(o.id)) problems.add(ProblemCode.InvalidName, "id", "expected 1–200 characters without whitespace");
  if (o.lead !== undefined && typeof o.lead !== "boolean") problems.add(ProblemCode.Type, "lead", "expected a boolean");
  for (const n of ["leaseMs", "renewMs", "staleRetryMs"]) {
    const v = o[n];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 10 || v > 2_147_483_647)) problems.add(ProblemCode.OutOfRange, n, "expected a number of milliseconds ≥ 10");
  }
  if (typeof o.leaseMs === "number" && typeof o.renewMs === "number" && o.renewMs >= o.leaseMs) {
    problems.add(ProblemCode.Conflict, "renewMs", "must be shorter than leaseMs (the lease would expire between renewals)");
  }
  for (const fn of ["onEvent", "onLeadership", "onError"]) if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  if (o.stats !== undefined) {
    try {
      resolveFreshness(o.stats, "stats");
    } catch (error) {
      if (error instanceof TurnoutConfigError) problems.list.push(...error.problems);
    }
  }
  problems.throwIfAny("controlRollout options");
}

/** The stable and canary names of a config (a two-version config without `canary` has an implied one). */
function versionsOf(config: RouterConfig | undefined, plan: CompiledPlan): { stable: string; canary: string } {
  const stable = config?.stable ?? plan.source.stable ?? "";
  let canary = config?.canary ?? plan.source.canary;
  if (canary === undefined && config !== undefined && config.versions.length === 2) canary = config.versions.find((v) => v !== config.stable);
  return { stable, canary: canary ?? "" };
}

/** The canary weight a config gives, and the same config with another weight (what `router.setCanaryPercent` does). */
class Weights {
  private cached: { sha: string; weight: number } | undefined;

  weightOf(doc: StoredConfig): number {
    if (this.cached?.sha === doc.sha) return this.cached.weight;
    const weight = createRouter(doc.config).canaryPercent;
    this.cached = { sha: doc.sha, weight };
    return weight;
  }

  withWeight(config: RouterConfig, weight: number): RouterConfig {
    const router = createRouter(config);
    router.setCanaryPercent(weight);
    return router.config;
  }
}

class Controller implements FleetRollout {
  readonly plan: CompiledPlan;
  readonly id: string;
  readonly ready: Promise<void>;
  private readonly ctx: StoreContext;
  private readonly keys: { state: string; lease: string; events: string };
  private readonly token: string;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly staleRetryMs: number;
  private readonly freshness: ReturnType<typeof resolveFreshness>;
  private readonly options: ControlRolloutOptions;
  private readonly failures: FailureLog<ControllerFailure["stage"]>;
  private readonly weights = new Weights();
  /** Writes whose reply was lost (timeout): their events are emitted if a later read finds their nonce. */
  private readonly uncertain = new Map<string, readonly RolloutEvent[]>();
  private leading = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cycling: Promise<void> = Promise.resolve();
  private last: { state: RolloutState; config: StoredConfig | null } | null = null;
  private fleet: FleetControllerStatus["fleet"] = null;
  private lastContactAt: number | null = null;

  constructor(ctx: StoreContext, plan: CompiledPlan, options: ControlRolloutOptions) {
    this.ctx = ctx;
    this.plan = plan;
    this.options = options;
    this.id = options.id ?? `controller-${randomId(4)}`;
    this.token = `${this.id}:${randomId(8)}`; // unique per process, even when two processes share an id
    this.keys = ctx.keys.rollout(options.name ?? "default");
    this.leaseMs = Math.round(options.leaseMs ?? 10_000);
    this.renewMs = Math.round(options.renewMs ?? Math.max(1, Math.floor(this.leaseMs / 3)));
    this.staleRetryMs = Math.round(options.staleRetryMs ?? 1000);
    this.freshness = resolveFreshness(options.stats, "stats");
    const logger = ctx.logger;
    this.failures = new FailureLog<ControllerFailure["stage"]>(
      (error, stage) => {
        if (options.onError !== undefined) guarded(logger, "controlRollout onError", () => options.onError?.(error, { stage }));
        else if (stage === "stats") guarded(logger, "logger", () => logger.warn(`turnout/redis: rollout ${this.id}: ${message(error)}; the check waits`, { error }));
        else guarded(logger, "logger", () => logger.error(`turnout/redis: rollout ${this.id}: ${stage} failed`, { error }));
      },
      (after) => guarded(logger, "logger", () => logger.warn(`turnout/redis: rollout ${this.id}: ${after.stage} works again`)),
    );
    this.ready = options.lead === false ? Promise.resolve() : this.runCycle();
  }

  start(): Promise<ControlResult> {
    return this.command({ type: "start" });
  }
  pause(): Promise<ControlResult> {
    return this.command({ type: "pause" });
  }
  resume(): Promise<ControlResult> {
    return this.command({ type: "resume" });
  }
  promote(): Promise<ControlResult> {
    return this.command({ type: "promote" });
  }
  promoteFull(): Promise<ControlResult> {
    return this.command({ type: "promoteFull" });
  }
  abort(reason?: string): Promise<ControlResult> {
    return this.command(typeof reason === "string" ? { type: "abort", reason } : { type: "abort" });
  }
  retry(): Promise<ControlResult> {
    return this.command({ type: "retry" });
  }

  async state(): Promise<RolloutState | null> {
    try {
      const stored = await this.readState();
      return stored.revision === 0 ? null : stored.state;
    } catch (error) {
      this.failures.fail("state", error, this.now());
      return null;
    }
  }

  status(): FleetControllerStatus {
    return {
      id: this.id,
      leading: this.leading,
      rollout: this.last === null ? null : this.statusOf(this.last.state, this.last.config),
      fleet: this.fleet,
      lastContactAt: this.lastContactAt,
      lastError: this.failures.last,
    };
  }

  async close(): Promise<void> {
    if (this.closed) {
      await this.cycling;
      return;
    }
    this.closed = true;
    clearTimeout(this.timer);
    await this.cycling;
    if (this.leading) {
      try {
        await this.ctx.link.eval(LEASE_RELEASE, [this.keys.lease], [this.token]);
      } catch (error) {
        this.failures.fail("lease", error, this.now());
      }
      this.setLeading(false);
    }
  }

  // ---- internals ----

  private now(): number {
    try {
      const t = this.ctx.clock();
      if (Number.isFinite(t)) return t;
    } catch {
      // fall through
    }
    return Date.now();
  }

  private statusOf(state: RolloutState, config: StoredConfig | null): RolloutStatus {
    return statusOf(this.plan, state, this.now(), versionsOf(config?.config, this.plan));
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (this.options.onLeadership !== undefined) guarded(this.ctx.logger, "onLeadership", () => this.options.onLeadership?.(leading));
  }

  private async readState(): Promise<Stored> {
    const reply = list(await this.ctx.link.send(["HMGET", this.keys.state, "revision", "state", "nonce"]), "HMGET rollout");
    this.lastContactAt = this.now();
    const revisionText = text(reply[0]);
    if (revisionText === null) return { state: initialState(this.plan), revision: 0, nonce: null };
    const revision = int(revisionText, "rollout revision");
    const body = text(reply[1]);
    let value: unknown;
    try {
      value = JSON.parse(body ?? "null");
    } catch (error) {
      throw new TurnoutRedisError(RedisFailure.Command, `the stored rollout state at revision ${revision} is not JSON`, { cause: error });
    }
    const problems = checkState(this.plan, value);
    if (problems.length > 0) throw new TurnoutConfigError(problems, `stored rollout state (${this.keys.state})`);
    const state = value as RolloutState;
    if (state.revision !== revision) throw new TurnoutRedisError(RedisFailure.Command, `the stored rollout state says revision ${state.revision}, its key ${revision}`);
    const nonce = text(reply[2]);
    if (nonce !== null) {
      const events = this.uncertain.get(nonce);
      if (events !== undefined) {
        this.uncertain.clear(); // that write landed; any older uncertain one cannot have
        this.emit(events);
      }
    }
    return { state, revision, nonce };
  }

  /** The config document, checked as a router config (its weight is read and rewritten); a `config` stage failure otherwise. */
  private async readConfig(): Promise<StoredConfig | null> {
    try {
      const doc = await readConfig(this.ctx);
      if (doc !== null) this.weights.weightOf(doc);
      return doc;
    } catch (error) {
      throw new StageError("config", error);
    }
  }

  private emit(events: readonly RolloutEvent[]): void {
    const listener = this.options.onEvent;
    if (listener === undefined) return;
    for (const event of events) {
      try {
        listener(event);
      } catch (error) {
        this.failures.fail("listener", error, this.now());
      }
    }
  }

  /**
   * Stores `result` if the state is still `from` (and, with `token`, this controller still holds the lease), with the
   * config change its weight implies, in one script. `config` is the document the new weight is applied to.
   */
  private async commit(
    from: Stored,
    result: Pick<TransitionResult, "state" | "events"> & { readonly weight: number | null },
    config: StoredConfig | null,
    token: string,
    record: Record<string, unknown>,
    stateChanged = true,
  ): Promise<Outcome> {
    let configArgs: [string, string] = ["", ""];
    if (result.weight !== null) {
      if (config === null) throw new TurnoutRedisError(RedisFailure.Missing, "no configuration document in Redis: the canary's weight cannot be applied (write one with writeConfig first)");
      let next: RouterConfig;
      try {
        next = this.weights.withWeight(config.config, result.weight);
      } catch (error) {
        throw new StageError("config", error);
      }
      configArgs = [String(config.revision), JSON.stringify(next)];
    }
    const nonce = randomId(8);
    const entry = JSON.stringify({ ...record, controller: this.id, events: result.events });
    let reply: unknown[];
    try {
      reply = list(
        await this.ctx.link.eval(
          ROLLOUT_CAS,
          [this.keys.state, this.keys.lease, this.ctx.keys.config, this.keys.events],
          [
            token,
            String(from.revision),
            stateChanged ? JSON.stringify(result.state) : "",
            String(stateChanged ? result.state.revision : from.revision),
            nonce,
            configArgs[0],
            configArgs[1],
            this.ctx.keys.configChannel,
            result.events.length > 0 ? entry : "",
            String(EVENTS_KEPT),
            this.id,
          ],
        ),
        "rollout CAS",
      );
    } catch (error) {
      // Sent but unanswered (a timeout, a connection lost before the reply): the script may have run. Its events are
      // emitted if a later read finds its nonce; the compare-and-set makes a second attempt harmless either way.
      const sent = !(error instanceof TurnoutRedisError && error.reason === RedisFailure.Offline);
      if (sent && stateChanged) {
        this.uncertain.set(nonce, result.events);
        if (this.uncertain.size > 8) this.uncertain.delete(this.uncertain.keys().next().value as string);
        this.failures.fail("state", error, this.now());
        return "uncertain";
      }
      throw error;
    }
    this.lastContactAt = this.now();
    const code = int(reply[0], "rollout CAS");
    if (code === 1) {
      this.emit(result.events);
      return "ok";
    }
    if (code === -1) return "lease";
    return "conflict"; // 0: the state moved; -2: the config moved
  }

  async command(command: RolloutCommand): Promise<ControlResult> {
    if (!isRecord(command) || typeof command.type !== "string") return { accepted: false, rejection: "a command is an object with a type", status: this.statusOf(this.last?.state ?? initialState(this.plan), this.last?.config ?? null) };
    let stored: Stored | undefined;
    let config: StoredConfig | null = null;
    for (let attempt = 0; attempt < ATTEMPTS && !this.closed; attempt++) {
      try {
        stored = await this.readState();
        config = await this.readConfig();
        const now = this.now();
        const result = transition(this.plan, stored.state, command, now);
        if (!result.accepted) return { accepted: false, rejection: result.rejection ?? "rejected", status: this.statusOf(stored.state, config) };
        if (result.state === stored.state) return { accepted: true, status: this.statusOf(stored.state, config) };
        const weight = result.effects.find((e) => e.type === "setWeight")?.weight ?? null;
        const outcome = await this.commit(stored, { ...result, weight }, config, "", { command, at: now });
        this.failures.ok("state");
        if (outcome === "ok") {
          this.last = { state: result.state, config };
          if (this.leading) this.wake();
          return { accepted: true, status: this.statusOf(result.state, config) };
        }
        if (outcome === "uncertain") return { accepted: false, rejection: "Redis did not answer in time: the command may or may not have been stored (read state() to know)", status: this.statusOf(stored.state, config) };
      } catch (caught) {
        const { stage, error } = stageOf(caught);
        this.failures.fail(stage, error, this.now());
        const status = this.statusOf(stored?.state ?? this.last?.state ?? initialState(this.plan), config);
        return { accepted: false, rejection: `${command.type} not stored: ${message(error)}`, status };
      }
    }
    return { accepted: false, rejection: `${command.type} not stored: the state kept changing (${ATTEMPTS} attempts)`, status: this.statusOf(stored?.state ?? initialState(this.plan), config) };
  }

  private wake(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runCycle(), 0);
    this.timer.unref?.();
  }

  private runCycle(): Promise<void> {
    this.cycling = this.cycling.then(async () => {
      if (this.closed) return;
      let delay = this.renewMs;
      try {
        delay = await this.cycle();
      } catch (caught) {
        const { stage, error } = stageOf(caught);
        this.failures.fail(stage, error, this.now());
      }
      if (this.closed) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.runCycle(), Math.max(5, Math.min(delay, this.renewMs)));
      this.timer.unref?.();
    });
    return this.cycling;
  }

  /** Holds the lease (or tries to take it); when leading, does whatever is due. Returns the delay to the next cycle. */
  private async cycle(): Promise<number> {
    if (!(await this.holdLease())) return this.renewMs;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (this.closed) return this.renewMs;
      const stored = await this.readState();
      const config = await this.readConfig();
      this.last = { state: stored.state, config };
      this.failures.ok("state");
      const state = stored.state;
      // Before the start and after the end the weight is not the rollout's: operators may set it as they like.
      if (state.phase === RolloutPhase.Idle || isFinal(state)) return this.renewMs;
      if (config === null) throw new TurnoutRedisError(RedisFailure.Missing, "no configuration document in Redis: the rollout cannot apply its weight");
      this.failures.ok("config");

      // Someone moved the weight (an operator's config write): put it back, as the single-process runner does.
      const actual = this.weights.weightOf(config);
      if (Math.abs(actual - state.weight) > WEIGHT_TOLERANCE) {
        const now = this.now();
        const event: RolloutEvent = {
          type: RolloutEventType.WeightRestored,
          reason: RolloutEventReason.Reconcile,
          at: now,
          phase: state.phase,
          stepIndex: state.stepIndex,
          weight: state.weight,
          previousWeight: actual,
          message: `the stored config was at ${actual}%, set back to ${state.weight}%`,
        };
        const outcome = await this.commit(stored, { state, events: [event], weight: state.weight }, config, this.token, { command: { type: "reconcile" }, at: now }, false);
        if (outcome === "lease") return this.lostLease();
        continue;
      }

      const now = this.now();
      const at = nextTickAt(this.plan, state);
      if (at === null) return this.renewMs;
      if (now < at) return at - now;
      let health: Health | undefined;
      const due = analysisRequest(this.plan, state, now);
      if (due !== undefined) {
        const fleet = await readFleetStats(this.ctx, this.freshness);
        this.fleet = { at: fleet.readAt, fresh: fleet.fresh, instances: fleet.instances.filter((i) => i.fresh).length, reason: fleet.reason };
        if (!fleet.fresh) {
          this.failures.fail("stats", staleError(fleet.reason ?? "stale"), now, `stats:stale`);
          return this.staleRetryMs; // never judge (and so never advance) on stale numbers
        }
        this.failures.ok("stats");
        health = evaluateHealth(fleet.reader.window(due.query), versionsOf(config.config, this.plan), due.analysis, { weight: state.weight });
      }
      const result = transition(this.plan, state, { type: "tick" }, now, health);
      if (!result.accepted || result.state === state) return this.renewMs;
      const weight = result.effects.find((e) => e.type === "setWeight")?.weight ?? null;
      const record: Record<string, unknown> = { command: { type: "tick" }, at: now };
      if (health !== undefined) record.health = health;
      const outcome = await this.commit(stored, { ...result, weight }, config, this.token, record);
      if (outcome === "lease") return this.lostLease();
      if (outcome === "uncertain") return Math.min(this.renewMs, 250);
      // ok or conflict: read again, there may be more to do
    }
    return 50;
  }

  private lostLease(): number {
    this.setLeading(false);
    this.failures.fail("lease", new TurnoutRedisError(RedisFailure.Lease, `${this.id} lost the lease of ${this.keys.lease}`), this.now());
    return this.renewMs;
  }

  /** Renews the lease when leading, else tries to take it. */
  private async holdLease(): Promise<boolean> {
    try {
      if (this.leading) {
        const renewed = int(await this.ctx.link.eval(LEASE_RENEW, [this.keys.lease], [this.token, String(this.leaseMs)]), "lease renew");
        if (renewed === 1) {
          this.failures.ok("lease");
          return true;
        }
        this.lostLease();
      }
      const taken = await this.ctx.link.send(["SET", this.keys.lease, this.token, "NX", "PX", String(this.leaseMs)]);
      this.lastContactAt = this.now();
      if (text(taken) === "OK") {
        this.setLeading(true);
        this.failures.ok("lease");
        return true;
      }
      return false;
    } catch (error) {
      // Without an answer the lease may be running out: stop acting until Redis answers (every write is fenced anyway).
      this.setLeading(false);
      this.failures.fail("lease", error, this.now());
      return false;
    }
  }
}

/** Joins the controllers of a rollout shared through Redis. */
export function controlRollout(ctx: StoreContext, plan: RolloutPlan | CompiledPlan, options: ControlRolloutOptions = {}): FleetRollout {
  checkOptions(options);
  const compiled = isCompiledPlan(plan) ? plan : compilePlan(plan);
  return new Controller(ctx, compiled, options);
}

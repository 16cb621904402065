/**
 * A rollout shared by a fleet. The rollout's JSON state lives in Redis and moves only by compare-and-set on its
 * revision, in one Lua script together with the config change the step implies (the canary's weight) and an entry
 * in the rollout's event stream: a step is stored, applied and recorded at once, or not at all.
 *
 * Two or more controllers run the same plan. One holds a lease (a key with an expiry, renewed on its own timer while it
 * lives, so a cycle slowed by Redis never lets it lapse) and
 * drives the rollout with the library's runner (`createRollout`), whose `commit` hook is that compare-and-set; the
 * others retry to take the lease, and take over from the stored state when it expires — holds are absolute instants,
 * so a step continues with its remaining time. The lease is for liveness only: every write also checks the lease
 * token and the state's revision atomically, so a leader that stalled past its lease cannot write, and two
 * controllers can never both take the same step.
 *
 * Health checks read the fleet's merged stats (the runner's `beforeCheck` hook); a check that is due while the stats
 * are stale (too few instances reporting, or snapshots too old) is not made, and nothing advances until it can be.
 */
import { ProblemCode, TurnoutConfigError } from "../../errors.js";
import { Problems, checkFields, isRecord } from "../../internal/problems.js";
import { checkState, initialState, isFinal, statusOf } from "../../rollout/machine.js";
import { compilePlan, isCompiledPlan } from "../../rollout/plan.js";
import { createRollout } from "../../rollout/runner.js";
import {
  type CompiledPlan,
  type ControlResult,
  type Rollout,
  type RolloutChange,
  type RolloutCommand,
  type RolloutEvent,
  RolloutPhase,
  type RolloutPlan,
  type RolloutState,
  type RolloutStatus,
  type Timers,
} from "../../rollout/types.js";
import { createRouter } from "../../router/index.js";
import type { Router, RouterConfig, StatsReader } from "../../types.js";
import { type StoreContext, readConfig } from "./config.js";
import { FailureLog, TurnoutRedisError, guarded, int, list, message, randomId, sha1, text, validName } from "./link.js";
import { LEASE_RELEASE, LEASE_RENEW, ROLLOUT_CAS } from "./scripts.js";
import { readFleetStats, resolveFreshness, staleError } from "./stats.js";
import {
  type ControlRolloutOptions,
  type ControllerFailure,
  type FleetControllerStatus,
  type FleetRollout,
  type FleetStats,
  RedisFailure,
  type StoredConfig,
} from "./types.js";

/** Entries kept in a rollout's event stream (approximately: `XADD MAXLEN ~`). */
const EVENTS_KEPT = 1000;
/** Compare-and-set attempts of one command or cycle before giving up for now. */
const ATTEMPTS = 8;
/** The newest event-stream entries searched for writes whose reply was lost (at most 8 are kept, all recent). */
const UNCERTAIN_SCAN = 50;

interface Stored {
  /** The state (the initial state when none is stored). */
  readonly state: RolloutState;
  /** The stored revision (0: none stored). */
  readonly revision: number;
}

/** What a write found: stored, the state or config moved (`conflict`), the lease gone, no reply, or a failure. */
type Outcome =
  | { readonly kind: "ok" | "conflict" | "lease" | "uncertain" }
  | { readonly kind: "failed"; readonly stage: ControllerFailure["stage"]; readonly error: unknown };

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
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 10 || v > 2_147_483_647))
      problems.add(ProblemCode.OutOfRange, n, "expected a number of milliseconds ≥ 10");
  }
  if (typeof o.leaseMs === "number" && typeof o.renewMs === "number" && o.renewMs >= o.leaseMs) {
    problems.add(ProblemCode.Conflict, "renewMs", "must be shorter than leaseMs (the lease would expire between renewals)");
  }
  for (const fn of ["onEvent", "onLeadership", "onError"])
    if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  if (o.stats !== undefined) {
    try {
      resolveFreshness(o.stats, "stats");
    } catch (error) {
      if (error instanceof TurnoutConfigError) problems.list.push(...error.problems);
    }
  }
  problems.throwIfAny("controlRollout options");
}

/** The config with another canary weight, exactly as `router.setCanaryPercent` writes it. */
export function withWeight(config: RouterConfig, weight: number): RouterConfig {
  const router = createRouter(config);
  router.setCanaryPercent(weight);
  return router.config;
}

/**
 * One controller. The rollout is driven by the library's runner (`createRollout`) over a local *mirror* router that
 * follows the stored config document: the runner's `commit` hook is the compare-and-set script (so the runner moves,
 * sets the weight and emits only what Redis took), its `beforeCheck` hook reads the fleet stats and refuses stale
 * ones, and every read of the stored state is `adopt`ed. Only the leader's runner ticks (its timers are gated on the
 * lease); every controller's runner takes commands.
 */
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
  /**
   * Writes whose reply was lost (a timeout, a connection lost), by nonce: the revision they were made from and their
   * events. A client may still deliver such a write later (an ioredis cluster retries a command through a failover
   * after turnout stopped waiting): its events are emitted once the event stream shows it landed, whether or not this
   * controller still leads, and it is forgotten once the state moved on without it.
   */
  private readonly uncertain = new Map<string, { readonly from: number; readonly events: readonly RolloutEvent[] }>();
  /** What the write of a command (keyed by the command object sent to the runner) found. */
  private readonly outcomes = new WeakMap<RolloutCommand, Outcome>();
  /** The runner's timers: real ones, not keeping the process alive, firing only while this controller leads. */
  private readonly timers: Timers;
  private leading = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cycling: Promise<void> = Promise.resolve();
  /** The lease's own loop (renew or take every `renewMs`), apart from the cycles so that a slow cycle never delays it. */
  private leaseTimer: ReturnType<typeof setTimeout> | undefined;
  private leasing: Promise<void> = Promise.resolve();
  /**
   * A lease command went unanswered: it may have landed (a late own `SET NX`, a renewal whose reply was lost), so the
   * lease may be this controller's without it knowing. The next attempt renews by token before it tries `SET NX`,
   * which would otherwise find the key taken — by itself — and wait for its expiry.
   */
  private leaseUnknown = false;
  /** The runner and its mirror router, from the first usable config document on. */
  private runner: Rollout | null = null;
  private mirror: Router | null = null;
  /** The stored config document the mirror holds (null: there is none in Redis). */
  private doc: { readonly revision: number; readonly sha: string } | null = null;
  /** The last state read (for `status()` before the first config document). */
  private lastRead: RolloutState | null = null;
  /** The fleet stats of the check being made: what the runner's stats reader serves. */
  private fleetReader: StatsReader | null = null;
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
        else if (stage === "stats")
          guarded(logger, "logger", () => logger.warn(`turnout/redis: rollout ${this.id}: ${message(error)}; the check waits`, { error }));
        else guarded(logger, "logger", () => logger.error(`turnout/redis: rollout ${this.id}: ${stage} failed`, { error }));
      },
      (after) => guarded(logger, "logger", () => logger.warn(`turnout/redis: rollout ${this.id}: ${after.stage} works again`)),
    );
    this.timers = {
      setTimeout: (callback, ms) => {
        const timer = setTimeout(() => {
          if (this.leading && !this.closed) callback();
        }, ms);
        timer.unref?.();
        return timer;
      },
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    this.ready = options.lead === false ? Promise.resolve() : this.runLease().then(() => this.runCycle());
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
      await this.settleUncertain(stored.revision);
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
      rollout: this.runner?.status() ?? (this.lastRead === null ? null : this.bareStatus(this.lastRead)),
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
    clearTimeout(this.leaseTimer);
    await this.leasing;
    await this.cycling;
    this.runner?.stop();
    await this.runner?.settled();
    if (this.leading) {
      try {
        await this.ctx.link.eval(LEASE_RELEASE, [this.keys.lease], [this.token]);
      } catch (error) {
        this.failures.fail("lease", error, this.now());
      }
      this.setLeading(false);
    }
  }

  async command(command: RolloutCommand): Promise<ControlResult> {
    if (!isRecord(command) || typeof command.type !== "string")
      return { accepted: false, rejection: "a command is an object with a type", status: this.currentStatus() };
    for (let attempt = 0; attempt < ATTEMPTS && !this.closed; attempt++) {
      let runner: Rollout;
      try {
        const read = await this.refresh();
        if (read.runner === null)
          throw new TurnoutRedisError(
            RedisFailure.Missing,
            "no configuration document in Redis: the rollout cannot apply its weight (write one with writeConfig first)",
          );
        runner = read.runner;
      } catch (caught) {
        const { stage, error } = stageOf(caught);
        this.failures.fail(stage, error, this.now());
        return { accepted: false, rejection: `${command.type} not stored: ${message(error)}`, status: this.currentStatus() };
      }
      const sent = { ...command }; // a fresh object per attempt: the key of this attempt's outcome
      const result = await runner.send(sent);
      const outcome = this.outcomes.get(sent);
      if (result.accepted) {
        if (this.leading) this.wake();
        return { accepted: true, status: result.status };
      }
      if (result.commitFailure === undefined || outcome === undefined) return result; // the machine said no
      if (outcome.kind === "uncertain") {
        return {
          accepted: false,
          rejection: "Redis did not answer in time: the command may or may not have been stored (read state() to know)",
          status: result.status,
        };
      }
      if (outcome.kind === "failed") return { accepted: false, rejection: `${command.type} not stored: ${message(outcome.error)}`, status: result.status };
      // conflict (or a lease this command did not need): read again and recompute
    }
    return { accepted: false, rejection: `${command.type} not stored: the state kept changing (${ATTEMPTS} attempts)`, status: this.currentStatus() };
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

  /** The status of a state when there is no runner yet (no config document ever read): the plan's version names. */
  private bareStatus(state: RolloutState): RolloutStatus {
    return statusOf(this.plan, state, this.now(), { stable: this.plan.source.stable ?? "", canary: this.plan.source.canary ?? "" });
  }

  private currentStatus(): RolloutStatus {
    return this.runner?.status() ?? this.bareStatus(this.lastRead ?? initialState(this.plan));
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (this.options.onLeadership !== undefined) guarded(this.ctx.logger, "onLeadership", () => this.options.onLeadership?.(leading));
  }

  private async readState(): Promise<Stored> {
    const reply = list(await this.ctx.link.send(["HMGET", this.keys.state, "revision", "state"]), "HMGET rollout");
    this.lastContactAt = this.now();
    const revisionText = text(reply[0]);
    if (revisionText === null) return { state: initialState(this.plan), revision: 0 };
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
    if (state.revision !== revision)
      throw new TurnoutRedisError(RedisFailure.Command, `the stored rollout state says revision ${state.revision}, its key ${revision}`);
    return { state, revision };
  }

  /**
   * Decides the writes whose reply was lost and that were made from a revision older than `revision` (the state moved
   * on, with them or without them): those the event stream holds are reported, in their order, and the rest forgotten.
   */
  private async settleUncertain(revision: number): Promise<void> {
    if (![...this.uncertain.values()].some((write) => write.from < revision)) return;
    const entries = list(await this.ctx.link.send(["XREVRANGE", this.keys.events, "+", "-", "COUNT", String(UNCERTAIN_SCAN)]), "XREVRANGE rollout events");
    const landed: string[] = [];
    for (const entry of entries) {
      const fields = Array.isArray(entry) && Array.isArray(entry[1]) ? (entry[1] as unknown[]).map((f) => text(f)) : [];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const nonce = fields[i + 1];
        if (fields[i] === "nonce" && typeof nonce === "string" && this.uncertain.has(nonce)) landed.unshift(nonce); // newest first in the reply
      }
    }
    for (const nonce of landed) {
      const write = this.uncertain.get(nonce);
      this.uncertain.delete(nonce);
      for (const event of write?.events ?? []) this.emit(event);
    }
    for (const [nonce, write] of this.uncertain) if (write.from < revision) this.uncertain.delete(nonce);
  }

  /**
   * Reads the config document into the mirror router (validated as a router config: a `config` stage failure
   * otherwise), creating the runner over it the first time.
   */
  private async readConfig(): Promise<void> {
    let doc: StoredConfig | null;
    try {
      doc = await readConfig(this.ctx);
    } catch (error) {
      throw new StageError("config", error);
    }
    if (doc === null) {
      this.doc = null;
      return;
    }
    if (this.mirror !== null && this.doc?.revision === doc.revision && this.doc.sha === doc.sha) return;
    try {
      if (this.mirror === null) {
        const mirror = createRouter(doc.config);
        this.runner = this.createRunner(mirror);
        this.mirror = mirror;
      } else {
        this.mirror.update(doc.config);
      }
    } catch (error) {
      this.doc = null;
      throw new StageError("config", error);
    }
    this.doc = { revision: doc.revision, sha: doc.sha };
  }

  private createRunner(mirror: Router): Rollout {
    return createRollout(this.plan, {
      router: mirror,
      stats: { window: (query) => (this.fleetReader ?? EMPTY_READER).window(query) },
      clock: () => this.now(),
      timers: this.timers,
      commit: (change) => this.commit(change),
      beforeCheck: () => this.freshStats(),
      retryMs: this.staleRetryMs,
      onEvent: (event) => this.emit(event),
      logger: this.ctx.logger,
    });
  }

  /** Reads the stored state and the config document, and hands the state to the runner (when there is one). */
  private async refresh(): Promise<{ readonly stored: Stored; readonly runner: Rollout | null }> {
    const stored = await this.readState();
    this.lastRead = stored.state;
    await this.settleUncertain(stored.revision);
    await this.readConfig();
    this.runner?.adopt(stored.state);
    return { stored, runner: this.runner };
  }

  private emit(event: RolloutEvent): void {
    const listener = this.options.onEvent;
    if (listener === undefined) return;
    try {
      listener(event);
    } catch (error) {
      this.failures.fail("listener", error, this.now());
    }
  }

  /** The runner's `beforeCheck`: reads the fleet stats; a stale (or unreadable) view skips the check. */
  private async freshStats(): Promise<boolean> {
    this.fleetReader = null;
    let fleet: FleetStats;
    try {
      fleet = await readFleetStats(this.ctx, this.freshness);
    } catch (error) {
      this.failures.fail("stats", error, this.now());
      return false;
    }
    this.fleet = { at: fleet.readAt, fresh: fleet.fresh, instances: fleet.instances.filter((i) => i.fresh).length, reason: fleet.reason };
    if (!fleet.fresh) {
      this.failures.fail("stats", staleError(fleet.reason ?? "stale"), this.now(), "stats:stale");
      return false; // never judge (and so never advance) on stale numbers
    }
    this.failures.ok("stats");
    this.fleetReader = fleet.reader;
    return true;
  }

  /** The runner's `commit`: the compare-and-set script. Anything but a stored write is a refusal (never a throw). */
  private async commit(change: RolloutChange): Promise<boolean> {
    const outcome = await this.write(change);
    if (change.command !== undefined) this.outcomes.set(change.command, outcome);
    if (outcome.kind === "failed") this.failures.fail(outcome.stage, outcome.error, this.now());
    if (outcome.kind === "lease") this.lostLease();
    if (outcome.kind === "conflict" && this.leading) this.wake(); // read the winner's state now
    return outcome.kind === "ok";
  }

  /**
   * Stores a change if the state is still at `change.previous.revision` (and, for the leader's ticks and
   * reconciles, this controller still holds the lease), with the config change its weight implies, in one script.
   */
  private async write(change: RolloutChange): Promise<Outcome> {
    const fenced = this.leading && (change.kind === "reconcile" || change.command?.type === "tick");
    const weight = change.effects.find((e) => e.type === "setWeight")?.weight ?? null;
    let config: { readonly expected: number; readonly text: string; readonly value: RouterConfig } | null = null;
    if (weight !== null) {
      if (this.doc === null || this.mirror === null) {
        return {
          kind: "failed",
          stage: "config",
          error: new TurnoutRedisError(
            RedisFailure.Missing,
            "no configuration document in Redis: the canary's weight cannot be applied (write one with writeConfig first)",
          ),
        };
      }
      let value: RouterConfig;
      try {
        value = withWeight(this.mirror.config, weight);
      } catch (error) {
        return { kind: "failed", stage: "config", error };
      }
      config = { expected: this.doc.revision, text: JSON.stringify(value), value };
    }
    const stateChanged = change.kind === "transition";
    const from = change.previous.revision;
    const nonce = randomId(8);
    const record: Record<string, unknown> = { command: change.command ?? { type: "reconcile" }, at: change.at };
    if (change.health !== undefined) record.health = change.health;
    const entry = JSON.stringify({ ...record, controller: this.id, events: change.events });
    let reply: unknown[];
    try {
      reply = list(
        await this.ctx.link.eval(
          ROLLOUT_CAS,
          [this.keys.state, this.keys.lease, this.ctx.keys.config, this.keys.events],
          [
            fenced ? this.token : "",
            String(from),
            stateChanged ? JSON.stringify(change.state) : "",
            String(stateChanged ? change.state.revision : from),
            nonce,
            config === null ? "" : String(config.expected),
            config === null ? "" : config.text,
            this.ctx.keys.configChannel,
            change.events.length > 0 ? entry : "",
            String(EVENTS_KEPT),
            this.id,
          ],
        ),
        "rollout CAS",
      );
    } catch (error) {
      // Sent but unanswered (a timeout, a connection lost before the reply): the script may have run, now or later. Its
      // events are emitted once the event stream shows it (settleUncertain); the compare-and-set makes a second attempt
      // harmless either way.
      const sent = !(error instanceof TurnoutRedisError && error.reason === RedisFailure.Offline);
      if (sent && stateChanged) {
        this.uncertain.set(nonce, { from, events: change.events });
        if (this.uncertain.size > 8) this.uncertain.delete(this.uncertain.keys().next().value as string);
        this.failures.fail("state", error, this.now());
        return { kind: "uncertain" };
      }
      return { kind: "failed", stage: "state", error };
    }
    this.lastContactAt = this.now();
    let code: number;
    try {
      code = int(reply[0], "rollout CAS");
    } catch (error) {
      return { kind: "failed", stage: "state", error };
    }
    this.failures.ok("state");
    if (code === -1) return { kind: "lease" };
    if (code !== 1) return { kind: "conflict" }; // 0: the state moved; -2: the config moved
    if (config !== null && this.mirror !== null) {
      // The mirror now holds exactly what was stored (the runner then finds the weight already set); if that cannot
      // be, the next read brings it in.
      const revision = Number(reply[2]);
      try {
        this.mirror.update(config.value);
        this.doc = Number.isSafeInteger(revision) && revision > 0 ? { revision, sha: sha1(config.text) } : null;
      } catch {
        this.doc = null;
      }
    }
    return { kind: "ok" };
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

  /** Renews the lease (or tries to take it) now and every `renewMs`; a controller that just took it starts a cycle. */
  private runLease(): Promise<void> {
    this.leasing = this.leasing.then(async () => {
      if (this.closed) return;
      const was = this.leading;
      await this.holdLease();
      if (this.closed) return;
      if (this.leading && !was) this.wake();
      clearTimeout(this.leaseTimer);
      this.leaseTimer = setTimeout(() => void this.runLease(), this.renewMs);
      this.leaseTimer.unref?.();
    });
    return this.leasing;
  }

  /**
   * When leading, reads the stored state into the runner and ticks it: due work is done, and a weight someone moved is
   * put back. Between cycles the runner's own timers act on time. Returns the delay to the next cycle.
   */
  private async cycle(): Promise<number> {
    if (!this.leading) {
      // Not leading: a write of this controller whose reply was lost may have landed meanwhile; report it if so.
      if (this.uncertain.size > 0) await this.settleUncertain((await this.readState()).revision);
      return this.renewMs;
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (this.closed || !this.leading) return this.renewMs;
      const { stored, runner } = await this.refresh();
      this.failures.ok("state");
      // Before the start and after the end the weight is not the rollout's: operators may set it as they like.
      if (stored.state.phase === RolloutPhase.Idle || isFinal(stored.state)) return this.renewMs;
      if (this.doc === null || runner === null)
        throw new TurnoutRedisError(RedisFailure.Missing, "no configuration document in Redis: the rollout cannot apply its weight");
      this.failures.ok("config");
      const tick: RolloutCommand = { type: "tick" };
      await runner.send(tick);
      const outcome = this.outcomes.get(tick);
      if (outcome?.kind === "uncertain") return Math.min(this.renewMs, 250);
      if (outcome?.kind !== "conflict") return this.renewMs;
      // conflict: read the winner's state and go on from it
    }
    return 50;
  }

  private lostLease(): number {
    this.setLeading(false);
    this.failures.fail("lease", new TurnoutRedisError(RedisFailure.Lease, `${this.id} lost the lease of ${this.keys.lease}`), this.now());
    return this.renewMs;
  }

  /** Renews the lease when leading (or when it may be this controller's unknowingly), else tries to take it. */
  private async holdLease(): Promise<boolean> {
    try {
      if (this.leading || this.leaseUnknown) {
        const renewed = int(await this.ctx.link.eval(LEASE_RENEW, [this.keys.lease], [this.token, String(this.leaseMs)]), "lease renew");
        this.leaseUnknown = false;
        this.lastContactAt = this.now();
        if (renewed === 1) {
          this.setLeading(true);
          this.failures.ok("lease");
          return true;
        }
        if (this.leading) this.lostLease();
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
      // The command may still have landed: the next attempt renews by token first.
      this.leaseUnknown = true;
      this.setLeading(false);
      this.failures.fail("lease", error, this.now());
      return false;
    }
  }
}

/** Serves no numbers: read only if a check ran without its fleet view (it cannot: `beforeCheck` sets one first). */
const EMPTY_READER: StatsReader = {
  window: () => {
    throw new TurnoutRedisError(RedisFailure.Stale, "no fleet stats were read for this check");
  },
};

/** Joins the controllers of a rollout shared through Redis. */
export function controlRollout(ctx: StoreContext, plan: RolloutPlan | CompiledPlan, options: ControlRolloutOptions = {}): FleetRollout {
  checkOptions(options);
  const compiled = isCompiledPlan(plan) ? plan : compilePlan(plan);
  return new Controller(ctx, compiled, options);
}

import { murmur3Signed } from "../router/hash.js";
import type { Decision, Outcome, WindowQuery } from "../types.js";
import { Aggregate, REASONS, STAGED_LATENCY, type VersionState } from "./aggregate.js";
import { MAX_LATENCY_MS } from "./ddsketch.js";
import { CLIENT_SEED, ZERO_HASH } from "./hll.js";
import { MAX_TIME_MS, isTime, isVersionName, resolveOptions } from "./options.js";
import { encodeSnapshot } from "./snapshot.js";
import {
  type MigrationStatus,
  RejectionReason,
  type Stats,
  type StatsOptions,
  type StatsSample,
  type StatsSnapshot,
  type StatsWindow,
  type WindowClientPrecision,
} from "./types.js";

/** Longest client id accepted (hashing is linear in its length). */
export const MAX_CLIENT_LENGTH = 1024;
/** Largest `count` of one sample. */
export const MAX_COUNT = 4_294_967_295;

const R_SAMPLE = REASONS.indexOf(RejectionReason.InvalidSample);
const R_VERSION = REASONS.indexOf(RejectionReason.InvalidVersion);
const R_UNKNOWN = REASONS.indexOf(RejectionReason.UnknownVersion);
const R_TOO_MANY = REASONS.indexOf(RejectionReason.TooManyVersions);
const R_OK = REASONS.indexOf(RejectionReason.InvalidOk);
const R_LATENCY = REASONS.indexOf(RejectionReason.InvalidLatency);
const R_CLIENT = REASONS.indexOf(RejectionReason.InvalidClient);
const R_COUNT = REASONS.indexOf(RejectionReason.InvalidCount);
const R_TIME = REASONS.indexOf(RejectionReason.InvalidTime);
const R_STATUS = REASONS.indexOf(RejectionReason.InvalidStatus);
/** The `now` of the sample being recorded (see `record`). */
const STAGED_TIME = new Float64Array(1);
/** Equal to nothing a caller can pass: the "no last version yet" marker. */
const NONE: unknown = Object.freeze({});

class LiveStats implements Stats {
  private readonly agg: Aggregate;
  private readonly clock: () => number;
  private readonly strict: boolean;
  private readonly maxVersions: number;
  private readonly resolution: number;
  /** The last version recorded, to skip the map lookup for runs of one version. */
  private lastName: unknown = NONE;
  private lastState: VersionState | undefined = undefined;

  constructor(options: StatsOptions | undefined) {
    const resolved = resolveOptions(options);
    this.clock = resolved.clock;
    this.strict = resolved.versions !== undefined;
    this.maxVersions = resolved.maxVersions;
    this.resolution = resolved.params.resolutionMs;
    // A clock that fails now leaves the ring empty: the first record then places it (see Aggregate.slotFor).
    const start = this.safeClock();
    this.agg = new Aggregate(resolved.params, Math.floor((start ?? 0) / this.resolution), start ?? null, resolved.migration, resolved.windowClientPrecision);
    this.agg.awaitingFirst = true;
    for (const name of resolved.versions ?? []) this.agg.state(name);
  }

  get versions(): readonly string[] {
    return this.agg.sorted().map((state) => state.name);
  }

  get windowMs(): number {
    return this.agg.params.windowMs;
  }

  get resolutionMs(): number {
    return this.resolution;
  }

  get windowClientPrecision(): WindowClientPrecision {
    return this.agg.clientPrecision as WindowClientPrecision;
  }

  record(sample: StatsSample, now?: number): boolean {
    // Tiny on purpose, so that V8 inlines it at the caller: a double `now` then reaches STAGED_TIME unboxed instead
    // of being boxed (16 bytes) to cross a call.
    if (now === undefined) return this.ingest(sample, false);
    STAGED_TIME[0] = typeof now === "number" ? now : Number.NaN;
    return this.ingest(sample, true);
  }

  /** Hot path: the sample at STAGED_TIME (`staged`) or at the clock's time. */
  private ingest(sample: StatsSample, staged: boolean): boolean {
    // A few type checks, one hash, one log, a handful of typed-array writes, no allocation. Keep it that way: no
    // double crosses a call that V8 may not inline (see STAGED_LATENCY), nothing is created. Only the property
    // reads sit in the try block (a getter or a proxy may throw): code inlined inside one is slower.
    let version: unknown;
    let state: VersionState | null | undefined;
    let ok: unknown;
    let timed: boolean;
    let client: unknown;
    let n = 1;
    try {
      if (typeof sample !== "object" || sample === null) return this.reject(R_SAMPLE);
      version = sample.version;
      state = version === this.lastName ? (this.lastState as VersionState) : this.lookup(version);
      if (state === undefined) return false;
      ok = sample.ok;
      if (ok !== true && ok !== false) return this.reject(R_OK);
      const latencyMs = sample.latencyMs;
      timed = latencyMs !== undefined && latencyMs !== null;
      if (timed) {
        if (typeof latencyMs !== "number" || !(latencyMs >= 0 && latencyMs <= MAX_LATENCY_MS)) return this.reject(R_LATENCY);
        STAGED_LATENCY[0] = latencyMs + 0; // + 0 turns -0 into 0 (a -0 would surface as "-0" quantiles)
      }
      client = sample.client;
      const count = sample.count;
      if (count !== undefined && count !== null) {
        if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_COUNT) return this.reject(R_COUNT);
        n = count;
      }
    } catch {
      return this.reject(R_SAMPLE);
    }
    return this.commit(state, version, ok as boolean, timed, client, n, staged);
  }

  /**
   * Hot path, shared by record and recordOutcome: the client's hash, the time, the slot, the writes. `state` null:
   * `version` is a new version (dynamic mode), created here, once every check has passed, so that a rejected sample
   * never adds one.
   */
  private commit(state: VersionState | null, version: unknown, ok: boolean, timed: boolean, client: unknown, n: number, staged: boolean): boolean {
    let hash = 0;
    if (client !== undefined && client !== null) {
      if (typeof client !== "string" || client.length > MAX_CLIENT_LENGTH) return this.reject(R_CLIENT);
      hash = murmur3Signed(client, CLIENT_SEED) || ZERO_HASH;
    }
    const t = staged ? (STAGED_TIME[0] as number) : this.clockOrNaN();
    if (typeof t !== "number" || !(t >= -MAX_TIME_MS && t <= MAX_TIME_MS)) return this.reject(R_TIME);
    const target = state ?? this.create(version as string);
    const s = Math.floor(t / this.resolution);
    const agg = this.agg;
    const k = s === agg.head && !agg.awaitingFirst ? agg.headSlot : agg.slotFor(s, t);
    if (k >= 0) target.add(k, ok, timed, hash, n);
    else target.addRetired(ok, timed, hash, n);
    return true;
  }

  /** Creates a new version's state (the name was checked by {@link lookup}). */
  private create(version: string): VersionState {
    const state = this.agg.state(version);
    this.lastName = version;
    this.lastState = state;
    return state;
  }

  recordOutcome(decision: Pick<Decision, "version">, outcome: Outcome, now?: number): boolean {
    // Tiny, like record(), so that a double `now` is not boxed.
    STAGED_TIME[0] = now === undefined ? Number.NaN : typeof now === "number" ? now : Number.NaN;
    return this.outcome(decision, outcome, now !== undefined);
  }

  private outcome(decision: Pick<Decision, "version">, outcome: Outcome, staged: boolean): boolean {
    let version: unknown;
    let state: VersionState | null | undefined;
    let ok: boolean;
    let timed: boolean;
    let client: unknown;
    try {
      if (typeof decision !== "object" || decision === null || typeof outcome !== "object" || outcome === null) {
        return this.reject(R_SAMPLE);
      }
      version = decision.version;
      state = version === this.lastName ? (this.lastState as VersionState) : this.lookup(version);
      if (state === undefined) return false;
      const verdict = outcome.ok;
      if (verdict === true || verdict === false) ok = verdict;
      else if (verdict !== undefined && verdict !== null) return this.reject(R_OK);
      else {
        const status = outcome.status;
        if (status !== undefined && status !== null) {
          if (typeof status !== "number" || !Number.isInteger(status) || status < 0 || status > 999) return this.reject(R_STATUS);
        }
        const error = outcome.error;
        ok = (error === undefined || error === null) && !(typeof status === "number" && status >= 500);
      }
      const durationMs = outcome.durationMs;
      timed = durationMs !== undefined && durationMs !== null;
      if (timed) {
        if (typeof durationMs !== "number" || !(durationMs >= 0 && durationMs <= MAX_LATENCY_MS)) return this.reject(R_LATENCY);
        STAGED_LATENCY[0] = durationMs + 0; // -0 becomes 0
      }
      client = outcome.client;
    } catch {
      return this.reject(R_SAMPLE);
    }
    return this.commit(state, version, ok, timed, client, 1, staged);
  }

  /** The clock's answer; NaN (rejected as invalid_time) when it throws. */
  private clockOrNaN(): number {
    try {
      return this.clock();
    } catch {
      return Number.NaN;
    }
  }

  /**
   * Finds a version's state; in dynamic mode, null for a new version that may be created once its sample passed
   * every check; undefined, with the rejection counted, when the version is not accepted.
   */
  private lookup(version: unknown): VersionState | null | undefined {
    if (typeof version !== "string") {
      this.reject(R_VERSION);
      return undefined;
    }
    const state = this.agg.byName.get(version);
    if (state === undefined) {
      if (!isVersionName(version)) {
        this.reject(R_VERSION);
        return undefined;
      }
      if (this.strict) {
        this.reject(R_UNKNOWN);
        return undefined;
      }
      if (this.agg.states.length >= this.maxVersions) {
        this.reject(R_TOO_MANY);
        return undefined;
      }
      return null;
    }
    this.lastName = version;
    this.lastState = state;
    return state;
  }

  private reject(reason: number): false {
    this.agg.rejected[reason] = (this.agg.rejected[reason] as number) + 1;
    return false;
  }

  /** The clock's answer, or undefined when it throws or answers junk (or a time beyond a Date's range). */
  private safeClock(): number | undefined {
    try {
      const t = this.clock();
      return isTime(t) ? t : undefined;
    } catch {
      return undefined;
    }
  }

  /** `now` for reads: the argument, else the clock, else the start of the newest slice. */
  private now(now: unknown): number {
    if (isTime(now)) return now;
    return this.safeClock() ?? this.agg.head * this.resolution;
  }

  window(query?: WindowQuery): StatsWindow {
    const explicit = typeof query === "object" && query !== null && isTime(query.now);
    return this.agg.query(query, explicit ? 0 : this.now(undefined));
  }

  lifetime(now?: number): StatsWindow {
    return this.agg.lifetime(this.now(now));
  }

  migration(now?: number): MigrationStatus | null {
    return this.agg.migrationAt(this.now(now));
  }

  snapshot(now?: number): StatsSnapshot {
    const at = this.now(now);
    const s = Math.floor(at / this.resolution);
    if (s > this.agg.head) this.agg.advance(s);
    return encodeSnapshot(this.agg, at);
  }

  rejected(): Readonly<Record<RejectionReason, number>> {
    return this.agg.rejections();
  }
}

/**
 * Creates a stats aggregator. Throws `TurnoutConfigError` (listing every problem) for invalid options; after
 * that nothing it does throws.
 *
 * @example
 * ```ts
 * const stats = createStats({ versions: ["v1", "v2"], window: "5m", resolution: "10s", migration: { from: "v1", to: "v2" } });
 * stats.record({ version: "v2", ok: true, latencyMs: 18, client: "user-123" });
 * const w = stats.window();
 * w.versions.v2?.latency?.p99; // 18 (one latency: quantiles are clamped to the exact min and max)
 * stats.snapshot().versionPercentages; // { v1: 0, v2: 100 }
 * ```
 */
export function createStats(options?: StatsOptions): Stats {
  return new LiveStats(options);
}

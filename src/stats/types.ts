/**
 * The public types of the stats aggregator: options, samples, the live `Stats`, snapshots and their readers.
 * The shared contracts (`StatsReader`, `WindowSummary`, `VersionStats`, `LatencySummary`, `OutcomeRecorder`) live
 * in `../types.ts`; everything here extends them.
 */

import type { Duration } from "../internal/duration.js";
import type { Decision, Outcome, OutcomeRecorder, StatsReader, VersionStats, WindowQuery, WindowSummary } from "../types.js";

/**
 * The migration whose progress the stats track: traffic moves from `from` to `to`.
 *
 * @example
 * ```ts
 * createStats({ versions: ["v1", "v2"], migration: { from: "v1", to: "v2", minRequests: 1000 } });
 * ```
 */
export interface MigrationOptions {
  /** The version being retired (the stable one). */
  readonly from: string;
  /** The version taking over. */
  readonly to: string;
  /** Requests (all versions together) that the examined span must hold before the migration can be complete. Default 100. */
  readonly minRequests?: number;
}

/**
 * Precision p of the window's distinct-client sketches: each window slice of each version keeps a sketch of 2^p
 * bytes — an exact set of up to 3·2^p/16 client hashes, then 2^p HyperLogLog registers with a standard error of
 * 1.04/√(2^p). The lifetime sketches are always precision 14.
 *
 * | p | slice sketch | exact up to | standard error |
 * |---|---|---|---|
 * | 10 (default) | 1 KiB | 192 | 3.25 % |
 * | 11 | 2 KiB | 384 | 2.30 % |
 * | 12 | 4 KiB | 768 | 1.63 % |
 * | 13 | 8 KiB | 1,536 | 1.15 % |
 * | 14 | 16 KiB | 3,072 | 0.81 % |
 *
 * @example
 * ```ts
 * const precision: WindowClientPrecision = 14; // window counts within 2 % at 1,000,000 clients
 * createStats({ versions: ["v1", "v2"], windowClientPrecision: precision });
 * ```
 */
export type WindowClientPrecision = 10 | 11 | 12 | 13 | 14;

/**
 * Options of {@link createStats}. Invalid options throw one `TurnoutConfigError` listing every problem.
 *
 * @example
 * ```ts
 * const stats = createStats({
 *   versions: ["v1", "v2"],          // strict: anything else is rejected as unknown
 *   window: "5m",                     // the sliding evaluation window
 *   resolution: "10s",                // in slices of 10 seconds
 *   migration: { from: "v1", to: "v2" },
 *   clock: () => virtualNow,          // default Date.now
 *   windowClientPrecision: 14,        // window client counts within 2 % at 1,000,000 clients (default 10)
 * });
 * ```
 */
export interface StatsOptions {
  /** The versions to accept (strict mode). Without it any valid version name is accepted, up to `maxVersions`. */
  readonly versions?: readonly string[];
  /** Dynamic mode only: how many distinct versions are accepted before new ones are rejected. Default 16, at most 64. */
  readonly maxVersions?: number;
  /** Length of the sliding window: a whole multiple of `resolution`, at most 1,440 slices. Default `"5m"`. */
  readonly window?: Duration;
  /** Length of one window slice, whole milliseconds ≥ 1. Default `"10s"`. */
  readonly resolution?: Duration;
  /** The migration to track (see {@link MigrationStatus}). */
  readonly migration?: MigrationOptions;
  /** Epoch milliseconds "now". Default `Date.now` (looked up on `globalThis`). */
  readonly clock?: () => number;
  /**
   * Precision of the window's distinct-client sketches, 10 to 14 (see {@link WindowClientPrecision}): 2^p bytes
   * per window slice and version. Default 10 (1 KiB, ≈ 3.3 % standard error); 14 (16 KiB, ≈ 0.8 %) keeps window
   * counts within 2 % at 1,000,000 clients. Snapshots record it; merging snapshots of different precisions merges
   * down to the lowest.
   */
  readonly windowClientPrecision?: WindowClientPrecision;
}

/**
 * One request (or `count` identical requests) to record.
 *
 * @example
 * ```ts
 * stats.record({ version: "v2", ok: true, latencyMs: 12.5, client: "user-123" });
 * stats.record({ version: "v1", ok: false, latencyMs: 250, count: 40 }); // 40 identical failures at once
 * ```
 */
export interface StatsSample {
  /** The version that served the request. */
  readonly version: string;
  /** False for a failed request. */
  readonly ok: boolean;
  /** Duration in milliseconds: finite, 0 ≤ latencyMs ≤ 100,000,000. Optional (`null` counts as absent). */
  readonly latencyMs?: number | null;
  /** A client identifier for the distinct-client counts, at most 1,024 characters. Optional (`null` counts as absent). */
  readonly client?: string | null;
  /** How many identical requests this sample stands for: an integer from 1 to 2^32 − 1. Default 1. */
  readonly count?: number | null;
}

/**
 * Why a sample was not recorded. A rejected sample changes nothing but its reason's counter.
 *
 * @example
 * ```ts
 * stats.record({ version: "v9", ok: true }); // false in strict mode
 * stats.rejected()[RejectionReason.UnknownVersion]; // 1
 * ```
 */
export const RejectionReason = {
  /** The sample (or the decision/outcome) is not an object, or reading it threw (a getter, a proxy). */
  InvalidSample: "invalid_sample",
  /** The version is not a string, or not a valid version name (`[A-Za-z0-9][A-Za-z0-9._-]*`, ≤ 64 characters). */
  InvalidVersion: "invalid_version",
  /** Strict mode: the version is not one of `options.versions`. */
  UnknownVersion: "unknown_version",
  /** Dynamic mode: a new version beyond `maxVersions`. */
  TooManyVersions: "too_many_versions",
  /** `ok` is not a boolean. */
  InvalidOk: "invalid_ok",
  /** The latency is not a number in [0, 100,000,000] ms (NaN, negative, Infinity, a string …). */
  InvalidLatency: "invalid_latency",
  /** The client is not a string of at most 1,024 characters. */
  InvalidClient: "invalid_client",
  /** `count` is not an integer from 1 to 2^32 − 1. */
  InvalidCount: "invalid_count",
  /** The time (the `now` argument or the clock's answer) is not a number within ±8.64e15 ms (a `Date`'s range), or the clock threw. */
  InvalidTime: "invalid_time",
  /** `recordOutcome`: the status is not an integer from 0 to 999. */
  InvalidStatus: "invalid_status",
} as const;
/** One of the {@link RejectionReason} values. */
export type RejectionReason = (typeof RejectionReason)[keyof typeof RejectionReason];

/**
 * A version's numbers over a span, with the raw latency totals that Prometheus summaries need.
 *
 * @example
 * ```ts
 * { requests: 1200, errors: 6, errorRate: 0.005, latency: { p50: 11, p95: 40, p99: 95, max: 180 },
 *   clients: 830, share: 0.1, latencyCount: 1200, latencySumMs: 15480.2 }
 * ```
 */
export interface VersionSummary extends VersionStats {
  /** Requests that reported a latency. */
  readonly latencyCount: number;
  /** Sum of those latencies in ms (each rounded to the microsecond when recorded). */
  readonly latencySumMs: number;
}

/**
 * The numbers per version over a span, plus integer percentages of the requests.
 *
 * @example
 * ```ts
 * const w = stats.window();
 * w.versions.v2?.errorRate;   // 0.004
 * w.versionPercentages;       // { v1: 20, v2: 80 }
 * ```
 */
export interface StatsWindow extends WindowSummary {
  /** Per version, in code-unit order of the names. */
  readonly versions: Readonly<Record<string, VersionSummary>>;
  /** All versions together; `clients` counts a client seen on two versions once. */
  readonly totals: VersionSummary;
  /**
   * Each version's share of the span's requests as whole percentages summing to exactly 100 (all 0 when there were
   * no requests). Largest remainder: every version gets ⌊100·n/N⌋, and the points still missing go one each to
   * the largest remainders; equal remainders go to the version with more requests, then to the name first in
   * code-unit order.
   */
  readonly versionPercentages: Readonly<Record<string, number>>;
}

/**
 * Why a migration is or is not complete, checked in this order.
 *
 * @example
 * ```ts
 * if (stats.migration()?.reason === MigrationReason.FromTraffic) console.log("v1 still gets traffic");
 * ```
 */
export const MigrationReason = {
  /** `from` received requests in the examined span. */
  FromTraffic: "from_traffic",
  /**
   * Observation began after the span's start: a whole window has not been watched yet. Also when the span reaches
   * back before the slices the stats still hold (a `now` behind data already recorded, e.g. a clock that stepped back).
   */
  NotObserved: "window_not_observed",
  /** Fewer than `minRequests` requests in the span: not enough evidence. */
  TooFewRequests: "too_few_requests",
  /** No `from` traffic over a whole observed window with enough requests. */
  Complete: "complete",
} as const;
/** One of the {@link MigrationReason} values. */
export type MigrationReason = (typeof MigrationReason)[keyof typeof MigrationReason];

/**
 * Progress of the configured migration. The examined span is the last *full* window (the `window / resolution`
 * whole slices before the current one) plus the current, partial slice: `[since, now]` with
 * `since = (⌊now / resolution⌋ − slices) × resolution`. The migration is complete when, over that span,
 * `from` received no request, at least `minRequests` requests (all versions) were recorded, and observation had
 * already begun at `since` (`startedAt ≤ since`) — with every slice of the span still held (not so for a `now`
 * behind data already recorded).
 *
 * @example
 * ```ts
 * const m = stats.migration();
 * // { from: "v1", to: "v2", minRequests: 100, complete: false, reason: "from_traffic",
 * //   since: 1700000000000, requests: 5000, fromRequests: 12, toRequests: 4988, progress: 0.9976 }
 * ```
 */
export interface MigrationStatus {
  /** The version being retired. */
  readonly from: string;
  /** The version taking over. */
  readonly to: string;
  /** Requests needed in the span. */
  readonly minRequests: number;
  /** True when the migration is complete (see above). */
  readonly complete: boolean;
  /** Why (or why not). */
  readonly reason: MigrationReason;
  /** Start of the examined span (epoch ms, on a slice boundary). */
  readonly since: number;
  /** All requests in the span. */
  readonly requests: number;
  /** Requests to `from` in the span. */
  readonly fromRequests: number;
  /** Requests to `to` in the span. */
  readonly toRequests: number;
  /** `toRequests / requests` (0 without requests). */
  readonly progress: number;
}

/**
 * DDSketch bins as they travel in a snapshot.
 *
 * @example
 * ```ts
 * { zero: 0, offset: 116, bins: "AQID" } // keys 116, 117, 118 hold 1, 2 and 3 observations
 * ```
 */
export interface RawSketch {
  /** Observations below 0.001 ms. */
  readonly zero: number;
  /** DDSketch key of the first count: key(x) = ⌈ln(x) / ln(1.01/0.99)⌉ (x in ms). */
  readonly offset: number;
  /** Counts of consecutive keys from `offset`, as unsigned LEB128 varints, base64. */
  readonly bins: string;
}

/**
 * Latency of a span: exact count-free totals plus the sketch (the count is the sum of the bins).
 *
 * @example
 * ```ts
 * { zero: 0, offset: 116, bins: "AQID", sumUs: 61234, min: 9.8, max: 11.2 }
 * ```
 */
export interface RawLatency extends RawSketch {
  /** Sum of latencies in whole microseconds (exact below 2^53, a rounded whole number beyond). */
  readonly sumUs: number;
  /** Smallest latency (ms). */
  readonly min: number;
  /** Largest latency (ms). */
  readonly max: number;
}

/**
 * A distinct-client sketch: exact sorted hashes while small, HyperLogLog registers beyond.
 *
 * @example
 * ```ts
 * { hashes: "AAAAAQAAAAI=" }  // two clients
 * ```
 */
export type RawClients =
  | {
      /** Sorted unsigned 32-bit client hashes (MurmurHash3 x86_32, seed 0x9e3779b9), 4 bytes big-endian each, base64. */
      readonly hashes: string;
    }
  | {
      /** HyperLogLog registers, one byte each (2^14 per lifetime sketch, 2^windowClientPrecision per slice), base64. */
      readonly registers: string;
    };

/**
 * Request counts and latency of a span.
 *
 * @example
 * ```ts
 * { requests: 10, errors: 1, latency: null }
 * ```
 */
export interface RawCounts {
  /** Requests. */
  readonly requests: number;
  /** Failed requests. */
  readonly errors: number;
  /** Latency totals and sketch, or `null` when no request reported one. */
  readonly latency: RawLatency | null;
}

/**
 * One window slice: the span `[index × resolution, (index + 1) × resolution)` of absolute time, so that slices of
 * different instances line up.
 *
 * @example
 * ```ts
 * { index: 170000000, requests: 10, errors: 0, latency: null, clients: { hashes: "" } }
 * ```
 */
export interface RawSlice extends RawCounts {
  /** ⌊t / resolution⌋ of the slice's data. */
  readonly index: number;
  /** Distinct clients of the slice (precision: the snapshot's `windowClientPrecision`). */
  readonly clients: RawClients;
}

/**
 * A version's mergeable state. Lifetime = `retired` + every slice; clients since start are in `clients`.
 *
 * @example
 * ```ts
 * { retired: { requests: 0, errors: 0, latency: null }, clients: { hashes: "" }, slices: [] }
 * ```
 */
export interface RawVersion {
  /** Slices that have left the window, added up. */
  readonly retired: RawCounts;
  /** Every distinct client since start (precision 14). */
  readonly clients: RawClients;
  /** The slices still in the window (and any later ones), by ascending index; only non-empty ones. */
  readonly slices: readonly RawSlice[];
}

/**
 * The snapshot format tags turnout reads: `turnout.stats/1` (window client precision 10) and `turnout.stats/2`
 * (any precision, recorded in `windowClientPrecision`).
 *
 * @example
 * ```ts
 * const format: SnapshotFormat = stats.snapshot().format; // "turnout.stats/1" at the default precision
 * ```
 */
export type SnapshotFormat = "turnout.stats/1" | "turnout.stats/2";

/**
 * A JSON-serialisable picture of a `Stats`: the human view (lifetime and window numbers, percentages, migration)
 * and the raw mergeable state from which all of it is computed. `mergeSnapshots` reads only `raw` (and the
 * parameters), so edited human fields can never leak into a merge.
 *
 * @example
 * ```ts
 * const s = stats.snapshot();
 * reply({ total_clients: s.totalClients, version_percentages: s.versionPercentages, migration_complete: s.migrationComplete });
 * await redis.set(`stats:${instanceId}`, JSON.stringify(s), { EX: 30 });
 * ```
 */
export interface StatsSnapshot {
  /**
   * Format tag: `turnout.stats/1` at window client precision 10 (the default; readable by every turnout reader),
   * `turnout.stats/2` at a higher one (readers from before `windowClientPrecision` refuse it, rather than
   * misread its slices). A reader refuses any other.
   */
  readonly format: SnapshotFormat;
  /** When the snapshot was taken (epoch ms; a merge takes the latest); `null` only in {@link emptySnapshot}. */
  readonly at: number | null;
  /**
   * When observation began (epoch ms; a merge takes the earliest); `null` only in {@link emptySnapshot}. A new stats
   * starts at its creation, or at its first sample's time when that is earlier (a `now` before the clock, however far).
   */
  readonly startedAt: number | null;
  /** Length of the sliding window (ms). */
  readonly windowMs: number;
  /** Length of a slice (ms). */
  readonly resolutionMs: number;
  /**
   * Precision of the window slices' client sketches (10 … 14). Optional on input: a `turnout.stats/1` snapshot
   * without it is precision 10; `turnout.stats/2` requires it. Always present in what turnout produces.
   */
  readonly windowClientPrecision: WindowClientPrecision;
  /** Distinct clients since start, over all versions (= `lifetime.totals.clients`). */
  readonly totalClients: number;
  /** Lifetime request percentages per version (= `lifetime.versionPercentages`). */
  readonly versionPercentages: Readonly<Record<string, number>>;
  /** Whether the configured migration is complete at `at` (false without a migration). */
  readonly migrationComplete: boolean;
  /** The migration's progress at `at`, or `null` when none is configured. */
  readonly migration: MigrationStatus | null;
  /** Since start (`from` = `startedAt`, `to` = `at`). */
  readonly lifetime: StatsWindow;
  /** The sliding window ending at `at`. */
  readonly window: StatsWindow;
  /** Rejected samples per reason (every reason present). */
  readonly rejected: Readonly<Record<RejectionReason, number>>;
  /** The mergeable state. */
  readonly raw: {
    /** Per version, in code-unit order of the names. */
    readonly versions: Readonly<Record<string, RawVersion>>;
  };
}

/**
 * A snapshot (usually a merged fleet view) read like a live `Stats`: the rollout's health analysis accepts it.
 * Queries default to `now = snapshot.at`.
 *
 * @example
 * ```ts
 * const fleet = readSnapshot(mergeSnapshots(...instanceSnapshots));
 * fleet.window({ since: stepStartedAt }).versions.v2?.errorRate;
 * ```
 */
export interface SnapshotReader extends StatsReader {
  /** The per-version numbers over (part of) the window ending at `query.now` (default `snapshot.at`). */
  window(query?: WindowQuery): StatsWindow;
  /** Lifetime numbers. */
  lifetime(): StatsWindow;
  /** The migration's progress at `now` (default `snapshot.at`), or `null` when none is configured. */
  migration(now?: number): MigrationStatus | null;
  /** The snapshot, normalised (human view recomputed from the raw state). */
  readonly snapshot: StatsSnapshot;
}

/**
 * The live aggregator: records requests in O(1) time and memory, whatever the number of clients, and answers
 * window, lifetime, migration and snapshot queries. Created by {@link createStats}.
 *
 * @example
 * ```ts
 * const stats = createStats({ versions: ["v1", "v2"] });
 * stats.record({ version: "v2", ok: true, latencyMs: 12, client: "user-1" });
 * stats.recordOutcome(decision, { status: 503, durationMs: 80, client: "user-2" });
 * stats.window({ since: stepStartedAt }).versions.v2?.latency?.p99;
 * ```
 */
export interface Stats extends StatsReader, OutcomeRecorder {
  /** Records a sample at `now` (epoch ms, default the clock). Never throws; false when the sample was rejected. */
  record(sample: StatsSample, now?: number): boolean;
  /**
   * Records how a routed request ended: failed when `outcome.ok` is false, or (without `ok`) when it has an
   * `error` or a status ≥ 500. `durationMs` and `client` are recorded as in {@link Stats.record}.
   */
  recordOutcome(decision: Pick<Decision, "version">, outcome: Outcome, now?: number): boolean;
  /**
   * The numbers over (part of) the sliding window. A slice counts only when it lies wholly inside the span asked
   * for: its start must be ≥ `now − windowMs` and ≥ `since`, and ≤ `now`. So the data is never older than asked,
   * and the span may be up to one resolution shorter (`from` is the first included slice's start).
   */
  window(query?: WindowQuery): StatsWindow;
  /** The numbers since start, at `now` (default the clock). */
  lifetime(now?: number): StatsWindow;
  /** The migration's progress at `now`, or `null` when no migration is configured. */
  migration(now?: number): MigrationStatus | null;
  /** A JSON-serialisable snapshot at `now` (default the clock). */
  snapshot(now?: number): StatsSnapshot;
  /** Rejected samples per reason. */
  rejected(): Readonly<Record<RejectionReason, number>>;
  /** The versions known so far (strict: the configured ones), in code-unit order. */
  readonly versions: readonly string[];
  /** Length of the sliding window (ms). */
  readonly windowMs: number;
  /** Length of a slice (ms). */
  readonly resolutionMs: number;
  /** Precision of the window's distinct-client sketches (the `windowClientPrecision` option). */
  readonly windowClientPrecision: WindowClientPrecision;
}

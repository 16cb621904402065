/**
 * Fleet stats: every instance pushes its snapshot under its own key with a TTL (a dead instance's numbers age out
 * by themselves) and records the push time — Redis's clock — in an index. A reader merges the snapshots pushed
 * recently enough and says whether the view is fresh enough to judge health with. Beside each snapshot, under a key of
 * its own with the same TTL, the instance reports the config revision it applies.
 */
import { hostname } from "node:os";
import { ProblemCode } from "../../errors.js";
import { Problems, checkFields, isRecord } from "../../internal/problems.js";
import { emptySnapshot, mergeSnapshots, parseSnapshot, readSnapshot } from "../../stats/index.js";
import type { Stats, StatsSnapshot } from "../../stats/types.js";
import type { StoreContext } from "./config.js";
import { FailureLog, TurnoutRedisError, guarded, int, list, message, randomId, text, validName } from "./link.js";
import { STATS_PUSH, STATS_READ, STATS_REMOVE } from "./scripts.js";
import {
  type ConfigSync,
  type FleetFreshness,
  type FleetInstance,
  type FleetStats,
  type PublishStatsOptions,
  RedisFailure,
  type StatsPublisher,
  type WatchRedisConfigOptions,
} from "./types.js";

// A snapshot at windowClientPrecision 14 holds ~0.7 MiB per busy version; 32 MiB leaves room for dozens of them and
// still refuses an absurd payload before JSON.parse.
const MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_AGE_MS = 15_000;

/** Where an instance's reported config revision lives: beside, not inside, `{<namespace>}:stats:<instance>`. */
function revisionPrefix(ctx: StoreContext): string {
  return `${ctx.keys.prefix}stats-revision:`;
}

/**
 * The config revision a store's instance applies, as the store's latest config watch knows it. The store's stats
 * publishers report it with every push, and push at once when a new one comes into force, so the fleet view shows it
 * within a round trip instead of an interval later.
 */
export class AppliedRevision {
  private sync: ConfigSync | undefined;
  private readonly listeners = new Set<() => void>();

  /** Follows `sync`, the store's newest config watch; returns it. */
  follow(sync: ConfigSync): ConfigSync {
    this.sync = sync;
    return sync;
  }

  /** The stored revision in force, or null before the first apply (or without a watch). */
  current(): number | null {
    return this.sync?.status().revision ?? null;
  }

  /** Calls `listener` after each apply, until the returned function is called. */
  onApply(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `options` with an `onApply` that tells the publishers first, then calls the caller's. Options that are not valid
   * are passed on untouched, for `watchConfig` to report.
   */
  watchOptions(options: WatchRedisConfigOptions | undefined): WatchRedisConfigOptions | undefined {
    const given: unknown = options;
    if (given !== undefined && (!isRecord(given) || (given.onApply !== undefined && typeof given.onApply !== "function"))) return options;
    const onApply = options?.onApply;
    return {
      ...options,
      onApply: (applied) => {
        for (const listener of this.listeners) listener();
        onApply?.(applied);
      },
    };
  }
}

/** A reported revision: a whole number ≥ 0, or null for none. */
function validRevision(value: unknown): value is number | null {
  return value === null || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0);
}

function checkPublish(options: unknown): void {
  const problems = new Problems();
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "", "expected an options object");
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  checkFields(problems, o, "", ["instance", "intervalMs", "ttlMs", "onError", "revision"]);
  if (o.instance !== undefined && !validName(o.instance)) problems.add(ProblemCode.InvalidName, "instance", "expected 1–200 characters without whitespace");
  for (const n of ["intervalMs", "ttlMs"]) {
    const v = o[n];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 1 || v > 2_147_483_647))
      problems.add(ProblemCode.OutOfRange, n, "expected a number of milliseconds ≥ 1");
  }
  for (const fn of ["onError", "revision"]) if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  problems.throwIfAny("publishStats options");
}

/**
 * Pushes `stats.snapshot()` now and every `intervalMs`, with the config revision `options.revision` gives, or else the
 * one `applied` (the store's config watch) knows.
 */
export function publishStats(ctx: StoreContext, stats: Pick<Stats, "snapshot">, options: PublishStatsOptions = {}, applied?: AppliedRevision): StatsPublisher {
  checkPublish(options);
  if (!isRecord(stats) || typeof stats.snapshot !== "function") throw new TypeError("publishStats: expected a Stats (an object with snapshot())");
  const { logger } = ctx;
  const instance = options.instance ?? `${hostname().replace(/\s/g, "_").slice(0, 100)}-${process.pid}-${randomId(3)}`;
  const intervalMs = options.intervalMs ?? 5000;
  const ttlMs = Math.round(options.ttlMs ?? 3 * intervalMs);
  const key = `${ctx.keys.statsPrefix}${instance}`;
  const revisionKey = `${revisionPrefix(ctx)}${instance}`;
  const failures = new FailureLog<"push">(
    (error) => {
      if (options.onError !== undefined) guarded(logger, "publishStats onError", () => options.onError?.(error));
      else guarded(logger, "logger", () => logger.warn(`turnout/redis: pushing the stats of ${instance} failed; retrying every ${intervalMs} ms`, { error }));
    },
    () => guarded(logger, "logger", () => logger.warn(`turnout/redis: pushing the stats of ${instance} works again`)),
  );
  // A revision function that throws or answers junk is reported once (until it answers well again); the pushes go on
  // without a revision meanwhile.
  const revisions = new FailureLog<"revision">((error) => {
    if (options.onError !== undefined) guarded(logger, "publishStats onError", () => options.onError?.(error));
    else guarded(logger, "logger", () => logger.warn(`turnout/redis: the revision of ${instance} is not reported`, { error }));
  });
  const revision = (): string => {
    if (options.revision === undefined) return String(applied?.current() ?? "");
    try {
      const value = options.revision();
      if (!validRevision(value)) throw new TypeError(`publishStats revision() returned ${String(value)}: expected a whole number ≥ 0 or null`);
      revisions.ok();
      return value === null ? "" : String(value);
    } catch (error) {
      revisions.fail("revision", error, ctx.clock());
      return "";
    }
  };
  let lastPushAt: number | null = null;
  let closed = false;
  let inFlight: Promise<boolean> | undefined;
  let queued: Promise<boolean> | undefined;

  const pushNow = async (): Promise<boolean> => {
    try {
      const snapshot: StatsSnapshot = stats.snapshot();
      const pushedAt = int(
        await ctx.link.eval(STATS_PUSH, [ctx.keys.statsIndex, key, revisionKey], [instance, JSON.stringify(snapshot), String(ttlMs), revision()]),
        "stats push",
      );
      lastPushAt = pushedAt;
      failures.ok();
      return true;
    } catch (error) {
      failures.fail("push", error, ctx.clock());
      return false;
    }
  };
  const start = (): Promise<boolean> => {
    const current = pushNow().finally(() => {
      if (inFlight === current) inFlight = undefined;
    });
    inFlight = current;
    return current;
  };
  // A push resolves once a snapshot taken after it was called is stored. While one is under way (Redis slow), the
  // callers meanwhile share one more push that starts when it ends: never more than two, and nobody is told true for
  // an older snapshot.
  const push = (): Promise<boolean> => {
    if (closed) return Promise.resolve(false);
    const current = inFlight;
    if (current === undefined) return start();
    queued ??= current.then(() => {
      queued = undefined;
      return closed ? false : start();
    });
    return queued;
  };
  const timer = setInterval(() => void push(), intervalMs);
  timer.unref?.();
  const stopFollowing = options.revision === undefined ? applied?.onApply(() => void push()) : undefined;
  void push();

  return {
    instance,
    push,
    lastPushAt: () => lastPushAt,
    async close(closeOptions) {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stopFollowing?.();
      await queued;
      await inFlight;
      if (closeOptions?.remove === true) {
        try {
          await ctx.link.eval(STATS_REMOVE, [ctx.keys.statsIndex, key, revisionKey], [instance]);
        } catch (error) {
          guarded(logger, "logger", () => logger.warn(`turnout/redis: removing the stats of ${instance} failed (they expire in ${ttlMs} ms)`, { error }));
        }
      }
    },
  };
}

/** Checks freshness options, filling in the defaults. */
export function resolveFreshness(freshness: unknown, path = "freshness"): Required<FleetFreshness> {
  const problems = new Problems();
  if (freshness !== undefined && !isRecord(freshness)) problems.add(ProblemCode.Type, path, "expected { maxAgeMs?, minInstances? }");
  const o: Record<string, unknown> = isRecord(freshness) ? freshness : {};
  checkFields(problems, o, path, ["maxAgeMs", "minInstances"]);
  const maxAgeMs = o.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const minInstances = o.minInstances ?? 1;
  if (typeof maxAgeMs !== "number" || !Number.isFinite(maxAgeMs) || maxAgeMs < 1)
    problems.add(ProblemCode.OutOfRange, `${path}.maxAgeMs`, "expected a number of milliseconds ≥ 1");
  if (typeof minInstances !== "number" || !Number.isSafeInteger(minInstances) || minInstances < 1)
    problems.add(ProblemCode.OutOfRange, `${path}.minInstances`, "expected a whole number ≥ 1");
  problems.throwIfAny("fleet stats freshness");
  return { maxAgeMs: maxAgeMs as number, minInstances: minInstances as number };
}

/**
 * Reads every live snapshot, merges those pushed within `maxAgeMs` (Redis's clock), and calls the view fresh when at
 * least `minInstances` of them count. A snapshot that does not parse, or a set that cannot be merged (instances with
 * different windows), never counts: it is listed with its problem.
 */
export async function readFleetStats(ctx: StoreContext, freshness?: FleetFreshness): Promise<FleetStats> {
  const { maxAgeMs, minInstances } = resolveFreshness(freshness);
  const reply = list(
    await ctx.link.eval(STATS_READ, [ctx.keys.statsIndex], [ctx.keys.statsPrefix, String(Math.round(maxAgeMs)), revisionPrefix(ctx)]),
    "stats read",
  );
  const readAt = int(reply[0], "stats read time");
  const instances: FleetInstance[] = [];
  const good: StatsSnapshot[] = [];
  const counted: number[] = [];
  for (let i = 1; i + 3 < reply.length; i += 4) {
    const instance = text(reply[i]) ?? "";
    const pushedAt = Math.round(Number(text(reply[i + 1]) ?? reply[i + 1]));
    const body = text(reply[i + 2]) ?? "";
    const ageMs = Math.max(0, readAt - pushedAt);
    const revision = revisionOf(text(reply[i + 3]) ?? "", pushedAt);
    const known = revision === undefined ? {} : { revision };
    if (body === "") {
      instances.push({ instance, pushedAt, ageMs, fresh: false, problem: `pushed ${ageMs} ms ago, more than maxAgeMs (${maxAgeMs})`, ...known });
      continue;
    }
    try {
      if (body.length > MAX_SNAPSHOT_BYTES) throw new RangeError(`the snapshot is larger than ${MAX_SNAPSHOT_BYTES} bytes`);
      good.push(parseSnapshot(JSON.parse(body)));
      counted.push(instances.length);
      instances.push({ instance, pushedAt, ageMs, fresh: true, ...known });
    } catch (error) {
      instances.push({
        instance,
        pushedAt,
        ageMs,
        fresh: false,
        problem: `unreadable snapshot: ${message(error).split("\n").slice(0, 2).join(" ")}`,
        ...known,
      });
    }
  }
  let snapshot = emptySnapshot();
  let reason: string | null = null;
  try {
    if (good.length > 0) snapshot = mergeSnapshots(...good);
  } catch (error) {
    reason = `the snapshots cannot be merged (do all instances use the same window and resolution?): ${message(error).split("\n").slice(0, 2).join(" ")}`;
    for (const index of counted) instances[index] = { ...(instances[index] as FleetInstance), fresh: false, problem: "not mergeable with the others" };
    good.length = 0;
  }
  if (reason === null && good.length < minInstances) {
    reason = `${good.length} instance${good.length === 1 ? "" : "s"} reported within ${maxAgeMs} ms, ${minInstances} needed`;
  }
  instances.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  return { fresh: reason === null, reason, readAt, instances, snapshot, reader: readSnapshot(snapshot) };
}

/**
 * The revision of a stored "revision:pushedAt", when it was written by the push the index records. A push of a turnout
 * that reports no revision leaves the key of an earlier push of the same instance name behind: it does not count.
 */
function revisionOf(stored: string, pushedAt: number): number | undefined {
  const match = /^(\d{1,15}):(\d{1,16})$/.exec(stored);
  if (match === null || Number(match[2]) !== pushedAt) return undefined;
  return Number(match[1]);
}

/** A `stale` failure for the controller's reports. */
export function staleError(reason: string): TurnoutRedisError {
  return new TurnoutRedisError(RedisFailure.Stale, `fleet stats are stale: ${reason}`);
}

/**
 * Config distribution: one versioned document per namespace (a hash: revision, config, sha, updatedAt, writer),
 * written by compare-and-set and announced on pub/sub; every instance validates and applies it, and polls the
 * revision as a backstop because pub/sub loses what is published while a subscriber reconnects.
 *
 * Nothing here runs on the request path: the router's `decide` never waits for Redis. A change reaches the router
 * through `router.update(config, { revision })` from a callback, atomically, with the document's revision, so
 * every instance of the fleet runs the same revision number for the same document.
 */
import { ProblemCode } from "../../errors.js";
import { Problems, checkFields, isRecord } from "../../internal/problems.js";
import { createRouter } from "../../router/index.js";
import type { Logger, Router, RouterConfig } from "../../types.js";
import type { Subscription } from "./client.js";
import { FailureLog, type Keys, type Link, TurnoutRedisError, guarded, int, list, text } from "./link.js";
import { CONFIG_CAS } from "./scripts.js";
import {
  type ConfigApplied,
  type ConfigSync,
  type ConfigSyncFailure,
  type ConfigSyncStatus,
  RedisFailure,
  type StoredConfig,
  type WatchRedisConfigOptions,
  type WriteConfigOptions,
  type WriteResult,
} from "./types.js";

/** What the store's parts share. */
export interface StoreContext {
  readonly link: Link;
  readonly keys: Keys;
  readonly logger: Logger;
  readonly clock: () => number;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** The document fields as read, before parsing the config. */
interface RawDocument {
  readonly revision: number;
  readonly sha: string;
  readonly text: string;
  readonly updatedAt: number;
  readonly writer: string;
}

async function readRaw(ctx: StoreContext): Promise<RawDocument | null> {
  const reply = list(await ctx.link.send(["HMGET", ctx.keys.config, "revision", "sha", "config", "updatedAt", "writer"]), "HMGET config");
  const revision = text(reply[0]);
  if (revision === null) return null;
  const body = text(reply[2]);
  if (body === null) throw new TurnoutRedisError(RedisFailure.Command, `the config document at revision ${revision} has no config field`);
  const updatedAt = text(reply[3]);
  return {
    revision: int(revision, "config revision"),
    sha: text(reply[1]) ?? "",
    text: body,
    updatedAt: updatedAt === null ? 0 : int(updatedAt, "config updatedAt"),
    writer: text(reply[4]) ?? "",
  };
}

/** The stored configuration (parsed, not validated), or null when there is none. */
export async function readConfig(ctx: StoreContext): Promise<StoredConfig | null> {
  const raw = await readRaw(ctx);
  if (raw === null) return null;
  return { revision: raw.revision, sha: raw.sha, updatedAt: raw.updatedAt, writer: raw.writer, config: JSON.parse(raw.text) as RouterConfig };
}

function checkWrite(options: unknown): { expectedRevision: number; writer: string } {
  const problems = new Problems();
  const o = isRecord(options) ? options : {};
  if (!isRecord(options)) problems.add(ProblemCode.Required, "options", "expected { expectedRevision }");
  const expected = o.expectedRevision;
  if (typeof expected !== "number" || !Number.isSafeInteger(expected) || expected < 0) {
    problems.add(
      expected === undefined ? ProblemCode.Required : ProblemCode.OutOfRange,
      "options.expectedRevision",
      "expected the revision read (a whole number ≥ 0; 0 creates the document)",
    );
  }
  const writer = o.writer ?? "turnout";
  if (typeof writer !== "string" || writer.length > 200) problems.add(ProblemCode.Type, "options.writer", "expected a string of at most 200 characters");
  problems.throwIfAny("writeConfig options");
  return { expectedRevision: expected as number, writer: writer as string };
}

/** Validates, then writes by compare-and-set on the revision, and announces the new revision. */
export async function writeConfig(ctx: StoreContext, config: RouterConfig, options: WriteConfigOptions): Promise<WriteResult> {
  const { expectedRevision, writer } = checkWrite(options);
  createRouter(config); // throws TurnoutConfigError listing every problem: a bad config never reaches the fleet
  const reply = list(
    await ctx.link.eval(CONFIG_CAS, [ctx.keys.config], [String(expectedRevision), JSON.stringify(config), ctx.keys.configChannel, writer]),
    "config CAS",
  );
  if (int(reply[0], "config CAS") === 1) return { written: true, revision: int(reply[1], "config CAS"), updatedAt: int(reply[2], "config CAS") };
  return { written: false, revision: int(reply[1], "config CAS") };
}

/** Read, change, compare-and-set; again on a conflict. */
export async function updateConfig(
  ctx: StoreContext,
  change: (current: RouterConfig | null) => RouterConfig,
  options: { readonly writer?: string; readonly attempts?: number } = {},
): Promise<WriteResult> {
  const attempts = options.attempts ?? 10;
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw new RangeError("updateConfig: attempts must be a whole number ≥ 1");
  let result: WriteResult = { written: false, revision: 0 };
  for (let attempt = 0; attempt < attempts; attempt++) {
    const current = await readConfig(ctx);
    const next = change(current === null ? null : current.config);
    result = await writeConfig(ctx, next, { expectedRevision: current?.revision ?? 0, ...(options.writer !== undefined ? { writer: options.writer } : {}) });
    if (result.written) return result;
  }
  return result;
}

function checkWatch(options: unknown): void {
  const problems = new Problems();
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "", "expected an options object");
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  checkFields(problems, o, "", ["onApply", "onError", "pollMs", "staleAfterMs", "maxBytes", "subscribe"]);
  for (const fn of ["onApply", "onError"]) if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  for (const n of ["pollMs", "staleAfterMs", "maxBytes"]) {
    const v = o[n];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 2_147_483_647))
      problems.add(ProblemCode.OutOfRange, n, "expected a number of at least 0");
  }
  if (o.subscribe !== undefined && typeof o.subscribe !== "boolean") problems.add(ProblemCode.Type, "subscribe", "expected a boolean");
  problems.throwIfAny("watchConfig options");
}

/** JSON text with object keys sorted, to tell whether two configurations are the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** Keeps `router` in step with the stored configuration. */
export function watchConfig(ctx: StoreContext, router: Router, options: WatchRedisConfigOptions = {}): ConfigSync {
  checkWatch(options);
  const { logger, clock } = ctx;
  const pollMs = options.pollMs ?? 2000;
  const staleAfterMs = options.staleAfterMs ?? (pollMs > 0 ? 3 * pollMs : 6000);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const report = (error: unknown, failure: ConfigSyncFailure): void => {
    if (options.onError !== undefined) guarded(logger, "watchConfig onError", () => options.onError?.(error, failure));
    else logger.error(`turnout/redis: the configuration was not synced (${failure.stage})`, { error, ...failure });
  };
  const recovered = (what: string) => (after: { stage: string }) =>
    guarded(logger, "logger", () => logger.warn(`turnout/redis: ${what} works again after a failure (${after.stage})`));
  let failingRevision: number | undefined;
  const reads = new FailureLog<ConfigSyncFailure["stage"]>(
    (error, stage) => report(error, failingRevision === undefined ? { stage } : { stage, revision: failingRevision }),
    recovered("reading the configuration"),
  );
  const subscription = new FailureLog<ConfigSyncFailure["stage"]>((error, stage) => report(error, { stage }), recovered("the config subscription"));

  let closed = false;
  let applied: { revision: number; sha: string } | null = null;
  let rejected: { revision: number; sha: string } | null = null;
  let storeRevision: number | null = null;
  let lastContactAt: number | null = null;
  let appliedAt: number | null = null;
  let subscribed = false;
  // Whether the router may be missing a change it cannot know about: the last read failed, or (announcements being the
  // only source without a poll) the subscription is down or has not been followed by a read since it came back.
  let lastReadFailed = false;
  let subscriptions = 0;
  let readAfterSubscription = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryMs = 0;
  const now = (): number => {
    try {
      const t = clock();
      return Number.isFinite(t) ? t : Date.now();
    } catch {
      return Date.now();
    }
  };
  const same = (a: { revision: number; sha: string } | null, revision: number, sha: string): boolean => a !== null && a.revision === revision && a.sha === sha;

  const apply = (raw: RawDocument, via: ConfigApplied["via"]): boolean => {
    storeRevision = raw.revision;
    if (same(applied, raw.revision, raw.sha)) {
      reads.ok();
      return false;
    }
    if (same(rejected, raw.revision, raw.sha)) return false; // reported once already
    failingRevision = raw.revision;
    const key = `${raw.revision}:${raw.sha}`;
    let config: unknown;
    try {
      if (Buffer.byteLength(raw.text, "utf8") > maxBytes)
        throw new RangeError(`the stored config is ${Buffer.byteLength(raw.text, "utf8")} bytes, more than maxBytes (${maxBytes})`);
      config = JSON.parse(raw.text);
    } catch (error) {
      rejected = { revision: raw.revision, sha: raw.sha };
      reads.fail("parse", error, now(), `parse:${key}`);
      return false;
    }
    const previousRevision = router.revision;
    if (applied === null && router.revision === raw.revision && canonical(config) === canonical(router.config)) {
      applied = { revision: raw.revision, sha: raw.sha }; // already in force (the router was created from this document)
    } else {
      try {
        router.update(config as RouterConfig, { revision: raw.revision });
      } catch (error) {
        rejected = { revision: raw.revision, sha: raw.sha };
        reads.fail("validate", error, now(), `validate:${key}`);
        return false;
      }
      applied = { revision: raw.revision, sha: raw.sha };
    }
    rejected = null;
    failingRevision = undefined;
    const at = now();
    appliedAt = at;
    reads.ok();
    if (options.onApply !== undefined) {
      const change: ConfigApplied = { revision: raw.revision, previousRevision, config: router.config, via, lagMs: Math.max(0, at - raw.updatedAt) };
      guarded(logger, "watchConfig onApply", () => options.onApply?.(change));
    }
    return true;
  };

  const load = async (via: ConfigApplied["via"], hint?: { revision: number; sha: string }): Promise<boolean> => {
    if (hint !== undefined && same(applied, hint.revision, hint.sha)) return false;
    const epoch = subscriptions;
    const reached = (): void => {
      lastReadFailed = false;
      readAfterSubscription = epoch;
      retryMs = 0;
    };
    try {
      if (via === "poll" && applied !== null) {
        // The cheap question first: has anything changed?
        const reply = list(await ctx.link.send(["HMGET", ctx.keys.config, "revision", "sha"]), "HMGET config");
        lastContactAt = now();
        reached();
        const revision = text(reply[0]);
        if (revision !== null) {
          const r = int(revision, "config revision");
          const sha = text(reply[1]) ?? "";
          storeRevision = r;
          if (same(applied, r, sha) || same(rejected, r, sha)) {
            if (same(applied, r, sha)) reads.ok();
            return false;
          }
        }
      }
      const raw = await readRaw(ctx);
      lastContactAt = now();
      reached();
      if (closed) return false;
      if (raw === null) {
        failingRevision = undefined;
        reads.fail(
          "missing",
          new TurnoutRedisError(RedisFailure.Missing, `no configuration document at ${ctx.keys.config}; the configuration in force stays`),
          now(),
        );
        return false;
      }
      return apply(raw, via);
    } catch (error) {
      failingRevision = undefined;
      const stage =
        error instanceof TurnoutRedisError && error.reason === RedisFailure.Offline ? "connection" : error instanceof SyntaxError ? "parse" : "read";
      reads.fail(stage, error, now());
      if (stage !== "parse") {
        lastReadFailed = true;
        retrySoon();
      }
      return false;
    }
  };

  // One read at a time, and at most one more waiting: a burst of announcements or polls never piles up commands.
  let running: Promise<boolean> = Promise.resolve(false);
  let waiting: Promise<boolean> | undefined;
  const refresh = (via: ConfigApplied["via"], hint?: { revision: number; sha: string }): Promise<boolean> => {
    if (waiting !== undefined) return waiting;
    const next = running.then(() => {
      waiting = undefined;
      return closed ? false : load(via, hint);
    });
    waiting = next;
    running = next;
    return next;
  };

  // Without a poll nothing else would read again: a failed read is retried (100 ms, doubling up to 2 s) until one
  // succeeds, so a change announced while the client was offline, or lost across a reconnect, still arrives.
  const retrySoon = (): void => {
    if (closed || pollMs > 0 || retry !== undefined) return;
    retryMs = Math.min(2000, retryMs === 0 ? 100 : retryMs * 2);
    retry = setTimeout(() => {
      retry = undefined;
      void refresh("reconnect");
    }, retryMs);
    retry.unref?.();
  };

  let subscriber: Subscription | undefined;
  if (options.subscribe !== false) {
    const onMessage = (payload: string): void => {
      const match = /^(\d{1,16}):([0-9a-f]{40})$/.exec(payload);
      void refresh("message", match === null ? undefined : { revision: Number(match[1]), sha: match[2] as string });
    };
    try {
      subscriber = ctx.link.connection.subscribe(ctx.keys.configChannel, {
        message: onMessage,
        subscribed(again) {
          if (closed) return;
          subscribed = true;
          subscriptions++;
          subscription.ok();
          // What was announced while the subscription was down (or before it began) reached nobody: read now.
          void refresh(again ? "reconnect" : "initial");
        },
        down(error) {
          subscribed = false;
          if (error !== undefined && !closed) subscription.fail("connection", error, now());
        },
      });
    } catch (error) {
      subscription.fail("connection", error, now());
    }
  }

  const poll = pollMs > 0 ? setInterval(() => void refresh("poll"), pollMs) : undefined;
  poll?.unref?.();
  const ready = refresh("initial").then(() => undefined);

  return {
    ready,
    refresh: () => refresh("manual"),
    status(): ConfigSyncStatus {
      const t = now();
      const lagMs = lastContactAt === null ? null : Math.max(0, t - lastContactAt);
      const errors = [reads.last, subscription.last].filter((e) => e !== null).sort((a, b) => b.at - a.at);
      return {
        revision: applied?.revision ?? null,
        storeRevision,
        upToDate:
          applied !== null &&
          storeRevision === applied.revision &&
          rejected === null &&
          !lastReadFailed &&
          !(options.subscribe !== false && pollMs === 0 && (!subscribed || readAfterSubscription < subscriptions)),
        lastContactAt,
        appliedAt,
        lagMs,
        stale: lagMs === null || lagMs > staleAfterMs,
        subscribed,
        lastError: errors[0] ?? null,
        rejectedRevision: rejected?.revision ?? null,
      };
    },
    async close() {
      if (closed) {
        await running;
        return;
      }
      closed = true;
      clearInterval(poll);
      clearTimeout(retry);
      subscribed = false;
      await subscriber?.close();
      await running;
    },
  };
}

// turnout/redis — a fleet of instances sharing one configuration, one rollout and one stats view through Redis.
// No Redis library is imported: a client (node-redis 5/6 or ioredis 5/6) is used through its shape (`RedisClientLike`),
// so `redis` and `ioredis` are optional peer dependencies and only the user's own client talks to the network.
// Nothing here runs on the request path.

/**
 * A fleet of instances sharing one configuration, one rollout and one stats view through Redis
 * ({@link createRedisStore}).
 *
 * @module turnout/redis
 */

import { ProblemCode } from "../errors.js";
import { Problems, checkFields, isRecord } from "../internal/problems.js";
import { type Connection, connectionFor, isIORedis, isNodeRedis } from "./redis/client.js";
import { readConfig, updateConfig, watchConfig, writeConfig, type StoreContext } from "./redis/config.js";
import { Keys, Link, validNamespace } from "./redis/link.js";
import { dashboardSource } from "./redis/dashboard.js";
import { controlRollout } from "./redis/rollout.js";
import { AppliedRevision, publishStats, readFleetStats } from "./redis/stats.js";
import type { RedisClientLike, RedisStore, RedisStoreOptions } from "./redis/types.js";

export { TurnoutRedisError } from "./redis/link.js";
export { RedisFailure } from "./redis/types.js";
export type {
  ConfigApplied,
  ConfigSync,
  ConfigSyncFailure,
  ConfigSyncStatus,
  ControllerFailure,
  ControlRolloutOptions,
  FleetControllerStatus,
  FleetFreshness,
  FleetInstance,
  FleetRollout,
  FleetStats,
  PublishStatsOptions,
  RedisDashboardSourceOptions,
  IORedisLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  RedisClientLike,
  RedisStore,
  RedisStoreOptions,
  StatsPublisher,
  StoredConfig,
  WatchRedisConfigOptions,
  WriteConfigOptions,
  WriteResult,
} from "./redis/types.js";

function checkOptions(client: unknown, options: unknown): void {
  const problems = new Problems();
  if (!isIORedis(client) && !isNodeRedis(client)) {
    problems.add(ProblemCode.Type, "client", "expected a Redis client: node-redis (createClient, createCluster) or ioredis (new Redis, new Cluster)");
  }
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "options", "expected an options object");
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  checkFields(problems, o, "options", ["namespace", "commandTimeoutMs", "logger", "clock"]);
  if (o.namespace !== undefined && !validNamespace(o.namespace))
    problems.add(ProblemCode.InvalidName, "options.namespace", "expected 1–100 characters without braces or whitespace");
  const timeout = o.commandTimeoutMs;
  if (timeout !== undefined && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 1 || timeout > 2_147_483_647)) {
    problems.add(ProblemCode.OutOfRange, "options.commandTimeoutMs", "expected a number of milliseconds ≥ 1");
  }
  const logger = o.logger;
  if (logger !== undefined && !(isRecord(logger) && typeof logger.warn === "function" && typeof logger.error === "function")) {
    problems.add(ProblemCode.Type, "options.logger", "expected an object with warn() and error() (console works)");
  }
  if (o.clock !== undefined && typeof o.clock !== "function")
    problems.add(ProblemCode.Type, "options.clock", "expected a function returning epoch milliseconds");
  problems.throwIfAny("redis store options");
}

/**
 * The fleet's shared store on one Redis client: a versioned configuration document (compare-and-set writes,
 * pub/sub announcements, a poll as backstop), a rollout state advanced by compare-and-set under a lease, and the
 * instances' stats snapshots with a TTL. Pass a client you created and connected — node-redis 5 or 6 (`createClient`,
 * `createCluster`, with an `error` listener as node-redis requires) or ioredis 5 or 6 (`new Redis`,
 * Sentinel-backed or not, `new Cluster`); turnout opens one `duplicate()` of it per config watch for the
 * subscription, and closes it.
 * Throws `TurnoutConfigError` for bad options.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { createRouter, createStats } from "turnout";
 * import { createRedisStore } from "turnout/redis";
 *
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on("error", (error) => console.warn("redis", error.message));
 * await client.connect();
 *
 * const store = createRedisStore(client, { namespace: "checkout-api" });
 * const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" }); // until Redis answers
 * const sync = store.watchConfig(router);   // every instance: the stored config, validated, applied
 * const stats = createStats({ versions: ["v1", "v2"] });
 * store.publishStats(stats, { instance: process.env.HOSTNAME }); // every instance: its numbers, with a TTL
 * await sync.ready;
 * ```
 */
export function createRedisStore(client: RedisClientLike, options: RedisStoreOptions = {}): RedisStore {
  checkOptions(client, options);
  const keys = new Keys(options.namespace ?? "turnout");
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const ctx: StoreContext = {
    link: new Link(connectionFor(client, timeoutMs) as Connection, timeoutMs),
    keys,
    logger: options.logger ?? console,
    clock: options.clock ?? Date.now,
  };
  // What the store's config watch applies, its stats publishers report.
  const applied = new AppliedRevision();
  return {
    prefix: keys.prefix,
    readConfig: () => readConfig(ctx),
    writeConfig: (config, writeOptions) => writeConfig(ctx, config, writeOptions),
    updateConfig: (change, updateOptions) => updateConfig(ctx, change, updateOptions),
    watchConfig: (router, watchOptions) => applied.follow(watchConfig(ctx, router, applied.watchOptions(watchOptions))),
    publishStats: (stats, publishOptions) => publishStats(ctx, stats, publishOptions, applied),
    readFleetStats: (freshness) => readFleetStats(ctx, freshness),
    controlRollout: (plan, controlOptions) => controlRollout(ctx, plan, controlOptions),
    dashboardSource: (plan, sourceOptions) => dashboardSource(ctx, plan, sourceOptions),
  };
}

/**
 * The public types of `turnout/redis`: the client shape it needs, the store, the config watch, the stats
 * publisher, the fleet stats view and the fleet rollout controller. node-redis is never imported: a client is used
 * through its shape, so the types work whether or not `redis` is installed.
 */

import type { Logger, Router, RouterConfig } from "../../types.js";
import type { CompiledPlan, ControlResult, RolloutCommand, RolloutEvent, RolloutPlan, RolloutState, RolloutStatus } from "../../rollout/types.js";
import type { SnapshotReader, Stats, StatsSnapshot } from "../../stats/types.js";
import type { DashboardSource } from "../dashboard.js";

/**
 * The part of a node-redis client (v5 or v6, `createClient()`) that turnout uses. Commands
 * go through `sendCommand`; pub/sub uses a `duplicate()` of the client that turnout connects and closes itself.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const client: NodeRedisClientLike = createClient({ url: "redis://127.0.0.1:6379" });
 * client.on("error", (error) => log.warn("redis", error)); // node-redis needs an error listener
 * await client.connect();
 * ```
 */
export interface NodeRedisClientLike {
  /** Sends one raw command, e.g. `["HGET", key, field]`. */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new, unconnected client with the same options (turnout subscribes on it). */
  duplicate(): NodeRedisClientLike;
  /** Connects the client. */
  connect(): Promise<unknown>;
  /** Subscribes `listener` to `channel` (node-redis resubscribes by itself after a reconnect). */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Closes the connection at once (turnout uses it for the subscription it opened). */
  destroy?(): void;
  /** Listens to `error`, `ready`, `end`, … */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** True while the connection is up and usable; turnout sends nothing while it is false. */
  readonly isReady?: boolean;
}

/**
 * The part of a node-redis cluster client (`createCluster()` of `redis` 5 or 6) that turnout uses. Every key of a
 * namespace shares one hash slot, so each command and script goes to one shard.
 *
 * @example
 * ```ts
 * import { createCluster } from "redis";
 * const cluster: NodeRedisClusterLike = createCluster({ rootNodes: [{ url: "redis://10.0.0.1:6379" }] });
 * cluster.on("error", (error) => log.warn("redis", error));
 * await cluster.connect();
 * ```
 */
export interface NodeRedisClusterLike {
  /** Sends one raw command to the shard of `firstKey`. */
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The primaries (how a cluster client is told from a single-node one). */
  readonly masters: readonly unknown[];
  /** A new, unconnected cluster client with the same options (turnout subscribes on it). */
  duplicate(): NodeRedisClusterLike;
  /** Connects the client. */
  connect(): Promise<unknown>;
  /** Subscribes `listener` to `channel`. */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Closes every connection at once. */
  destroy?(): void;
  /** Listens to `error`, … */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** True while the cluster client is open. */
  readonly isOpen?: boolean;
}

/**
 * The part of an ioredis client (v5 or v6: `new Redis()`, a Sentinel-backed `new Redis({ sentinels })`, or
 * `new Cluster()`) that turnout uses. Commands go through `call`; pub/sub uses a `duplicate()`, which ioredis
 * connects by itself and turnout disconnects.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * const client: IORedisLike = new Redis("redis://127.0.0.1:6379");
 * ```
 */
export interface IORedisLike {
  /** Sends one raw command, e.g. `call("HGET", key, field)`. */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** `"ready"` while commands can be sent; turnout sends nothing otherwise. */
  readonly status: string;
  /** A new client with the same options; it connects by itself. */
  duplicate(): IORedisLike;
  /** Subscribes this connection to `channel`; messages arrive as `message` events. */
  subscribe(channel: string): Promise<unknown>;
  /** Closes the connection at once and stops reconnecting. */
  disconnect(): void;
  /** Listens to `error`, `ready`, `close`, `message`, … */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * A Redis client turnout can use: node-redis 5 or 6 (a client or a cluster) or ioredis 5 or 6
 * (a client, Sentinel-backed or not, or a cluster). turnout imports none of them: each is recognised by its shape.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * const store = createRedisStore(new Redis(process.env.REDIS_URL), { namespace: "checkout-api" });
 * ```
 */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | IORedisLike;

/**
 * Why a Redis operation did not happen.
 *
 * @example
 * ```ts
 * onError: (error) => { if (error instanceof TurnoutRedisError && error.reason === RedisFailure.Offline) gauge.set(1); }
 * ```
 */
export const RedisFailure = {
  /** The client is not connected (node-redis is reconnecting): nothing was sent. */
  Offline: "offline",
  /** No reply within `commandTimeoutMs`. The command may still run; every write is a compare-and-set, so that is safe. */
  Timeout: "timeout",
  /** Redis answered with an error, or with a reply of an unexpected shape. */
  Command: "command",
  /** The document is not in Redis (never written, or the data was lost). */
  Missing: "missing",
  /** The fleet stats are too old or come from too few instances to judge health. */
  Stale: "stale",
  /** This controller lost its lease (it expired, or another controller holds it). */
  Lease: "lease",
} as const;
/** One of the {@link RedisFailure} values. */
export type RedisFailure = (typeof RedisFailure)[keyof typeof RedisFailure];

/**
 * Options of {@link createRedisStore}.
 *
 * @example
 * ```ts
 * const store = createRedisStore(client, { namespace: "checkout-api", commandTimeoutMs: 1000, logger: console });
 * ```
 */
export interface RedisStoreOptions {
  /**
   * Prefix of every key: `{<namespace>}:config`, `{<namespace>}:rollout:<name>`, `{<namespace>}:stats:<instance>`.
   * The braces make it a Redis Cluster hash tag, so every key of a fleet lives in one slot and the Lua scripts may
   * touch several of them. 1–100 characters without `{`, `}` or whitespace. Default `"turnout"`.
   */
  readonly namespace?: string;
  /** A command without a reply after this long counts as failed (it is never retried blindly). Default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** Where failures go when no `onError` is given, and where throwing callbacks are reported. Default `console`. */
  readonly logger?: Logger;
  /** Epoch milliseconds, for status figures and the rollout. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * The configuration document as stored in Redis.
 *
 * @example
 * ```ts
 * { revision: 7, config: { versions: ["v1", "v2"], … }, sha: "3f2a…", updatedAt: 1767225600000, writer: "deploy-bot" }
 * ```
 */
export interface StoredConfig {
  /** Increases by one with every write; every instance's router runs at this revision. */
  readonly revision: number;
  /** The configuration (validated by the writer; instances validate again). */
  readonly config: RouterConfig;
  /** SHA-1 of the stored JSON text: tells two documents with the same revision apart (after a restore). */
  readonly sha: string;
  /** When it was written (epoch ms, Redis's clock). */
  readonly updatedAt: number;
  /** Who wrote it (free text). */
  readonly writer: string;
}

/**
 * The answer of a compare-and-set write: written, or refused because the stored revision was not the expected one.
 *
 * @example
 * ```ts
 * const r = await store.writeConfig(next, { expectedRevision: 7 });
 * if (!r.written) console.log(`someone else wrote revision ${r.revision} first`);
 * ```
 */
export type WriteResult =
  | {
      /** The document now holds the config. */
      readonly written: true;
      /** Its revision. */
      readonly revision: number;
      /** When Redis stored it (epoch ms, Redis's clock). */
      readonly updatedAt: number;
    }
  | {
      /** The stored revision was not `expectedRevision`: nothing was written. */
      readonly written: false;
      /** The stored revision (0: no document). */
      readonly revision: number;
    };

/**
 * Options of {@link RedisStore.writeConfig}.
 *
 * @example
 * ```ts
 * await store.writeConfig(config, { expectedRevision: 0, writer: "bootstrap" }); // only if there is none yet
 * ```
 */
export interface WriteConfigOptions {
  /** The revision the write replaces: the one you read, or 0 to create the document. */
  readonly expectedRevision: number;
  /** Who writes (kept in the document). Default `"turnout"`. */
  readonly writer?: string;
}

/**
 * Where a config sync failed: `connection` (the subscriber connection, or the client is offline), `read` (a command
 * failed or timed out), `missing` (no document in Redis), `parse` (the stored text is not JSON, or too large),
 * `validate` (the router rejected it: the error is a `TurnoutConfigError` listing every problem).
 *
 * @example
 * ```ts
 * onError: (error, { stage, revision }) => stage === "validate" && alert(`config revision ${revision} rejected`, error)
 * ```
 */
export interface ConfigSyncFailure {
  /** Where it failed. */
  readonly stage: "connection" | "read" | "missing" | "parse" | "validate";
  /** The stored revision concerned, when known. */
  readonly revision?: number;
}

/**
 * A configuration that came into force on this instance.
 *
 * @example
 * ```ts
 * onApply: ({ revision, lagMs }) => metrics.configLag.observe(lagMs)
 * ```
 */
export interface ConfigApplied {
  /** The document's revision, now the router's. */
  readonly revision: number;
  /** The router's revision before. */
  readonly previousRevision: number;
  /** The configuration in force. */
  readonly config: RouterConfig;
  /** How it was noticed: the pub/sub announcement, the poll, the first read, a reconnect. */
  readonly via: "message" | "poll" | "initial" | "reconnect" | "manual";
  /** From the write (Redis's clock) to the apply (this instance's clock); meaningful with synchronised clocks. */
  readonly lagMs: number;
}

/**
 * Options of {@link RedisStore.watchConfig}.
 *
 * @example
 * ```ts
 * store.watchConfig(router, { pollMs: 2000, onApply: (a) => log.info("config", a.revision), onError: (e, f) => log.error(f.stage, e) });
 * ```
 */
export interface WatchRedisConfigOptions {
  /** Called after each configuration change is in force. */
  readonly onApply?: (applied: ConfigApplied) => void;
  /** Called once per distinct failure (not on every retry); the router keeps its last good configuration. Default: `logger.error`. */
  readonly onError?: (error: unknown, failure: ConfigSyncFailure) => void;
  /** Period of the revision poll, the backstop for announcements lost across reconnects; 0 turns it off. Default 2000 ms. */
  readonly pollMs?: number;
  /** `status().stale` turns true when Redis was last reached longer ago than this. Default 3 × `pollMs` (6 s without polling). */
  readonly staleAfterMs?: number;
  /** Larger documents are rejected. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Listen to the announcements on a `duplicate()` of the client. Default true (false: polling only). */
  readonly subscribe?: boolean;
}

/**
 * How current an instance's configuration is. Everything here is local knowledge: reading it costs nothing.
 *
 * @example
 * ```ts
 * app.get("/healthz", (_req, res) => res.json(sync.status())); // { revision: 7, storeRevision: 7, upToDate: true, stale: false, … }
 * ```
 */
export interface ConfigSyncStatus {
  /** The stored revision in force on this router, or null before the first apply. */
  readonly revision: number | null;
  /** The newest revision seen in Redis (higher than `revision` while a change is on its way, or when it was rejected). */
  readonly storeRevision: number | null;
  /** True when the router runs the newest document seen in Redis. */
  readonly upToDate: boolean;
  /** When Redis last answered (epoch ms), or null. */
  readonly lastContactAt: number | null;
  /** When the configuration in force was applied (epoch ms), or null. */
  readonly appliedAt: number | null;
  /** Time since Redis last answered (ms), or null before the first answer: how far behind this instance may be. */
  readonly lagMs: number | null;
  /** True when `lagMs` exceeds `staleAfterMs` (or Redis never answered): the config in force may be old. */
  readonly stale: boolean;
  /** True while the announcement subscription is connected. */
  readonly subscribed: boolean;
  /** The last failure, until the next success. */
  readonly lastError: {
    /** Where it failed. */
    readonly stage: ConfigSyncFailure["stage"];
    /** The error's message. */
    readonly message: string;
    /** When (epoch ms). */
    readonly at: number;
  } | null;
  /** A stored revision the router refused (the last good config serves meanwhile), or null. */
  readonly rejectedRevision: number | null;
}

/**
 * A running config sync.
 *
 * @example
 * ```ts
 * const sync = store.watchConfig(router);
 * await sync.ready;
 * process.on("SIGTERM", () => void sync.close());
 * ```
 */
export interface ConfigSync {
  /** Settles after the first read (whatever its outcome). */
  readonly ready: Promise<void>;
  /** Reads the document now; resolves to true when a new configuration came into force. Never rejects. */
  refresh(): Promise<boolean>;
  /** How current the configuration is. */
  status(): ConfigSyncStatus;
  /** Stops polling and closes the subscription. Idempotent. */
  close(): Promise<void>;
}

/**
 * Options of {@link RedisStore.publishStats}.
 *
 * @example
 * ```ts
 * store.publishStats(stats, { instance: process.env.HOSTNAME, intervalMs: 5000 });
 * ```
 */
export interface PublishStatsOptions {
  /** This instance's name, unique in the fleet (1–200 characters). Default: a random id. */
  readonly instance?: string;
  /** Time between two pushes. Default 5000 ms. */
  readonly intervalMs?: number;
  /** How long a pushed snapshot lives in Redis: a dead instance's numbers age out after this. Default 3 × `intervalMs`. */
  readonly ttlMs?: number;
  /** Called once per distinct failure. Default: `logger.warn`. */
  readonly onError?: (error: unknown) => void;
  /**
   * The config revision this instance applies, reported with each push (the dashboard's fleet table shows it): a whole
   * number ≥ 0, or null when there is none yet. Called at every push. Default: the revision the store's latest
   * `watchConfig` applied (none before its first apply, or without a watch), and each newly applied revision is
   * pushed at once. Give it when the instance applies its config otherwise (from a file, a flag service), e.g.
   * `() => router.revision`; a push then happens at the next interval or on `push()`.
   */
  readonly revision?: () => number | null;
}

/**
 * A running stats publisher.
 *
 * @example
 * ```ts
 * const publisher = store.publishStats(stats, { instance: "pod-7" });
 * await publisher.push(); // now, besides the periodic pushes
 * ```
 */
export interface StatsPublisher {
  /** The instance name used in Redis. */
  readonly instance: string;
  /** Pushes a snapshot taken now (after a push still under way, if any); resolves to true once Redis stored it. Never rejects. */
  push(): Promise<boolean>;
  /** When the last push was stored (epoch ms, Redis's clock), or null. */
  lastPushAt(): number | null;
  /** Stops the periodic pushes. With `{ remove: true }`, deletes this instance's snapshot (a clean shutdown). */
  close(options?: { readonly remove?: boolean }): Promise<void>;
}

/**
 * What makes a fleet stats view fresh enough to judge health with.
 *
 * @example
 * ```ts
 * const fleet = await store.readFleetStats({ maxAgeMs: 15_000, minInstances: 8 });
 * ```
 */
export interface FleetFreshness {
  /** A snapshot counts only when pushed at most this long ago (Redis's clock). Default 15,000 ms. */
  readonly maxAgeMs?: number;
  /** The view is stale when fewer instances than this have a snapshot that counts. Default 1. */
  readonly minInstances?: number;
}

/**
 * One instance's snapshot in the fleet view.
 *
 * @example
 * ```ts
 * { instance: "pod-7", pushedAt: 1767225600000, ageMs: 1200, fresh: true, revision: 12 }
 * ```
 */
export interface FleetInstance {
  /** The instance name. */
  readonly instance: string;
  /** When its snapshot was pushed (epoch ms, Redis's clock). */
  readonly pushedAt: number;
  /** Its age when read (ms, Redis's clock). */
  readonly ageMs: number;
  /** Whether it counts (young enough, and a valid snapshot). */
  readonly fresh: boolean;
  /** Why it does not count, when it does not. */
  readonly problem?: string;
  /**
   * The config revision it applied when it pushed (see {@link PublishStatsOptions.revision}); absent when it reported
   * none (no config watch yet, or a turnout version that does not report it).
   */
  readonly revision?: number;
}

/**
 * The merged stats of the fleet, with what went into them.
 *
 * @example
 * ```ts
 * const fleet = await store.readFleetStats({ minInstances: 4 });
 * if (fleet.fresh) evaluateHealth(fleet.reader.window({ since }), versions, analysis);
 * else console.warn(fleet.reason);
 * ```
 */
export interface FleetStats {
  /** True when at least `minInstances` fresh snapshots were merged. */
  readonly fresh: boolean;
  /** Why the view is stale, when it is. */
  readonly reason: string | null;
  /** Redis's clock when read (epoch ms). */
  readonly readAt: number;
  /** Every instance with a live snapshot, fresh or not. */
  readonly instances: readonly FleetInstance[];
  /** The merge of the fresh snapshots (an empty snapshot when there is none). */
  readonly snapshot: StatsSnapshot;
  /** The merged snapshot as a stats reader (what the rollout's analysis reads). */
  readonly reader: SnapshotReader;
}

/**
 * Where a fleet rollout controller failed: `lease`, `state` (reading or writing the rollout state), `config`
 * (the config document is missing or the weight cannot be applied to it), `stats` (stale or unreadable fleet stats:
 * the check waits, nothing advances), `listener` (an `onEvent` listener threw).
 *
 * @example
 * ```ts
 * onError: (error, { stage }) => stage === "stats" && page("the rollout waits: fleet stats are stale")
 * ```
 */
export interface ControllerFailure {
  /** Where it failed. */
  readonly stage: "lease" | "state" | "config" | "stats" | "listener";
}

/**
 * Options of {@link RedisStore.controlRollout}.
 *
 * @example
 * ```ts
 * store.controlRollout(plan, {
 *   id: process.env.HOSTNAME,
 *   leaseMs: 10_000,
 *   stats: { maxAgeMs: 15_000, minInstances: 8 },
 *   onEvent: (e) => log.info(e.type, e.message),
 * });
 * ```
 */
export interface ControlRolloutOptions {
  /** Several rollouts can share a namespace under different names (1–100 characters). Default `"default"`. */
  readonly name?: string;
  /** This controller's id (shown as the lease holder). Default: a random id. */
  readonly id?: string;
  /** Take part in the leader election and drive the rollout. False: only issue commands (an operator's CLI). Default true. */
  readonly lead?: boolean;
  /** How long the lease lasts without renewal: a dead leader is replaced after at most this. Default 10,000 ms. */
  readonly leaseMs?: number;
  /** Time between renewals (the leader) and takeover attempts (the others). Default `leaseMs / 3`. */
  readonly renewMs?: number;
  /** When the fleet stats are fresh enough for a health check (see {@link FleetFreshness}). */
  readonly stats?: FleetFreshness;
  /** When a check is due but the stats are stale, try again after this long. Default 1000 ms. */
  readonly staleRetryMs?: number;
  /** Receives every event of every transition this controller wrote, once (events of other controllers are theirs). */
  readonly onEvent?: (event: RolloutEvent) => void;
  /** Called when this controller gains or loses the lead. */
  readonly onLeadership?: (leading: boolean) => void;
  /** Called once per distinct failure. Default: `logger.error` (stale stats: `logger.warn`). */
  readonly onError?: (error: unknown, failure: ControllerFailure) => void;
}

/**
 * What a fleet controller knows, without asking Redis.
 *
 * @example
 * ```ts
 * const { leading, rollout, fleet } = controller.status();
 * ```
 */
export interface FleetControllerStatus {
  /** This controller's id. */
  readonly id: string;
  /** True while this controller holds the lease. */
  readonly leading: boolean;
  /** The rollout's status from the last state read, or null before one. */
  readonly rollout: RolloutStatus | null;
  /** The last fleet stats read for a check: how many instances counted and whether they were fresh. */
  readonly fleet: {
    /** When the fleet stats were read (epoch ms). */
    readonly at: number;
    /** Whether enough fresh snapshots were there. */
    readonly fresh: boolean;
    /** How many instances counted. */
    readonly instances: number;
    /** Why they were stale, or null. */
    readonly reason: string | null;
  } | null;
  /** When Redis last answered (epoch ms), or null. */
  readonly lastContactAt: number | null;
  /** The last failure, until the next success. */
  readonly lastError: {
    /** Where it failed. */
    readonly stage: ControllerFailure["stage"];
    /** The error's message. */
    readonly message: string;
    /** When (epoch ms). */
    readonly at: number;
  } | null;
}

/**
 * A rollout shared by a fleet through Redis. Every control is a compare-and-set on the stored state (retried on a
 * conflict), so controls from any process and the leader's ticks never overwrite each other. None throws.
 *
 * @example
 * ```ts
 * const controller = store.controlRollout(plan, { id: "ctl-a" });
 * await controller.start();
 * // on SIGTERM:
 * await controller.close(); // hands the lease over at once
 * ```
 */
export interface FleetRollout {
  /** The compiled plan. */
  readonly plan: CompiledPlan;
  /** This controller's id. */
  readonly id: string;
  /** Enters the first step (stored; the leader then drives it). */
  start(): Promise<ControlResult>;
  /** Holds the current step, keeping its remaining time. */
  pause(): Promise<ControlResult>;
  /** Continues a paused rollout. */
  resume(): Promise<ControlResult>;
  /** Moves to the next step now. */
  promote(): Promise<ControlResult>;
  /** The canary gets 100 % now. */
  promoteFull(): Promise<ControlResult>;
  /** Rolls back to the stable version. */
  abort(reason?: string): Promise<ControlResult>;
  /** After an abort: starts over. */
  retry(): Promise<ControlResult>;
  /** Any command by value (what a CLI or an HTTP admin endpoint receives), e.g. `{ type: "abort", reason }`. */
  command(command: RolloutCommand): Promise<ControlResult>;
  /** The stored state now (null: not started, or Redis unreachable). */
  state(): Promise<RolloutState | null>;
  /** What this controller last knew. */
  status(): FleetControllerStatus;
  /** Settles after the first election round (whatever its outcome). */
  readonly ready: Promise<void>;
  /** Stops driving; releases the lease if held, so another controller takes over at once. Idempotent. */
  close(): Promise<void>;
}

/**
 * The fleet's shared store: one Redis client, one namespace.
 *
 * @example
 * ```ts
 * const store = createRedisStore(client, { namespace: "checkout-api" });
 * const sync = store.watchConfig(router);                          // every instance
 * const publisher = store.publishStats(stats, { instance: pod });   // every instance
 * const controller = store.controlRollout(plan, { stats: { minInstances: 8 } }); // two or more controllers
 * ```
 */
export interface RedisStore {
  /** The namespace's key prefix, e.g. `{turnout}:`. */
  readonly prefix: string;
  /** The stored configuration, or null when there is none. Rejects when Redis cannot be read. */
  readConfig(): Promise<StoredConfig | null>;
  /** Validates `config` (throws `TurnoutConfigError`), then writes it if the stored revision is `expectedRevision`, and announces it. */
  writeConfig(config: RouterConfig, options: WriteConfigOptions): Promise<WriteResult>;
  /** Read, change, compare-and-set, retried on conflicts (up to `attempts`, default 10). Resolves to the write's result. */
  updateConfig(
    change: (current: RouterConfig | null) => RouterConfig,
    options?: { readonly writer?: string; readonly attempts?: number },
  ): Promise<WriteResult>;
  /** Keeps `router` in step with the stored configuration: announcements, a poll as backstop, validation first. */
  watchConfig(router: Router, options?: WatchRedisConfigOptions): ConfigSync;
  /** Pushes `stats.snapshot()` periodically, with a TTL. */
  publishStats(stats: Pick<Stats, "snapshot">, options?: PublishStatsOptions): StatsPublisher;
  /** Reads and merges the fleet's snapshots. Rejects when Redis cannot be read. */
  readFleetStats(freshness?: FleetFreshness): Promise<FleetStats>;
  /** Joins the controllers of a rollout shared through Redis. */
  controlRollout(plan: RolloutPlan | CompiledPlan, options?: ControlRolloutOptions): FleetRollout;
  /**
   * The fleet's rollout as a `turnout/dashboard` source: its state and history, the fleet's stats and instances, the
   * config revision and split, read from Redis; controls stored by compare-and-set, as a controller's commands are, so
   * the leading controller acts on them. It never leads nor ticks. Throws `TurnoutConfigError` for a bad plan.
   */
  dashboardSource(plan: RolloutPlan | CompiledPlan, options?: RedisDashboardSourceOptions): DashboardSource;
}

/**
 * Options of {@link RedisStore.dashboardSource}.
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ source: store.dashboardSource(plan, { name: "checkout" }), plan, tokens });
 * ```
 */
export interface RedisDashboardSourceOptions {
  /** The rollout's name, as its controllers were given it. Default `"default"`. */
  readonly name?: string;
  /** What makes the fleet's stats fresh (as the controllers judge it). */
  readonly stats?: FleetFreshness;
}

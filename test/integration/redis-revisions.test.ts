/**
 * The config revision each instance of a fleet reports with its stats, against a real redis-server, once per supported
 * client (node-redis 5 and 6, ioredis 6 and 5), and on a Redis Cluster: `readFleetStats` and the dashboard source's `fleet()` give each
 * instance's revision; it moves as soon as an instance's config watch applies a new one; an instance that reports
 * none, or a push by a turnout that does not report revisions, shows none while its snapshot still merges.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { createDashboard } from "../../src/integrations/dashboard.js";
import { type ConfigSync, type RedisStore, type StatsPublisher, createRedisStore } from "../../src/integrations/redis.js";
import { createRouter } from "../../src/router/index.js";
import type { RolloutPlan } from "../../src/rollout/types.js";
import { createStats } from "../../src/stats/index.js";
import { splitConfig } from "./fixtures.js";
import { memoryLogger } from "./helpers.js";
import { CLIENTS, type ClientKind, type Connected, connectClient } from "./redis/clients.js";
import { redisAvailable, startRedis } from "./redis/server.js";
import { type RedisCluster, rawCommand, startCluster } from "./redis/topology.js";

const available = redisAvailable();
const plan: RolloutPlan = { steps: [{ weight: 10, pause: "1h" }] };

/** The stats push of a turnout that reports no revision: the snapshot and the index, nothing beside them. */
const PUSH_WITHOUT_REVISION = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
return now`;

function trafficStats(requests: number) {
  const stats = createStats({ versions: ["v1", "v2"], window: "1m", resolution: "1s" });
  stats.record({ version: "v1", ok: true, latencyMs: 10, count: requests });
  return stats;
}

/** Each instance's reported revision, by name (undefined: none). */
function revisions(list: readonly { readonly id?: string; readonly instance?: string; readonly revision?: number }[]): Record<string, number | undefined> {
  return Object.fromEntries(list.map((i) => [i.id ?? i.instance ?? "", i.revision]));
}

/** Polls an async condition every 20 ms for up to 10 s (a loaded machine), failing with what it saw last. */
async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A client connected to Redis, and a raw command sent to the node holding `key` (what the tests check behind turnout). */
interface Reached {
  readonly connected: Connected;
  raw(args: readonly string[], key: string): Promise<string>;
  dispose(): Promise<void>;
}

/** The cases, through `kind`, against what `reach` connects to. */
function revisionCases(kind: ClientKind, reach: () => Promise<Reached>): void {
  let reached: Reached;
  let connected: Connected;
  let counter = 0;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    reached = await reach();
    connected = reached.connected;
  }, 30_000);
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    await reached?.dispose();
  });
  const raw = (args: readonly string[]): Promise<string> => reached.raw(args, args[0] === "EVAL" ? (args[3] ?? "") : (args[1] ?? ""));

  /** A namespace of its own for each test. */
  const namespace = (): string => `rev-${kind.replace(/\W/g, "")}-${++counter}`;
  /** One instance's store (each instance of a fleet has its own). */
  const storeOf = (ns: string, logger = memoryLogger()): RedisStore => createRedisStore(connected.client, { namespace: ns, logger });
  const publish = (store: RedisStore, ...args: Parameters<RedisStore["publishStats"]>): StatsPublisher => {
    const publisher = store.publishStats(...args);
    closers.push(() => publisher.close());
    return publisher;
  };
  const watch = (store: RedisStore, router: ReturnType<typeof createRouter>): ConfigSync => {
    const sync = store.watchConfig(router, { pollMs: 200 });
    closers.push(() => sync.close());
    return sync;
  };

  it("two instances on different revisions: readFleetStats and the dashboard source's fleet() give each one's, and it moves when a new one is applied", async () => {
    const ns = namespace();
    const operator = storeOf(ns);
    await operator.writeConfig(splitConfig(0), { expectedRevision: 0, writer: "test" });
    await operator.writeConfig(splitConfig(10), { expectedRevision: 1, writer: "test" });

    // pod-a follows the config through its store's watch; pod-b applies its config otherwise and says which revision;
    // pod-c says nothing. Their interval is long: every push below is one the test or a config apply asked for.
    const a = storeOf(ns);
    const routerA = createRouter(splitConfig(0));
    const publisherA = publish(a, trafficStats(10), { instance: "pod-a", intervalMs: 60_000 });
    const syncA = watch(a, routerA);
    let revisionB: number | null = 1;
    const publisherB = publish(storeOf(ns), trafficStats(20), { instance: "pod-b", intervalMs: 60_000, revision: () => revisionB });
    const publisherC = publish(storeOf(ns), trafficStats(30), { instance: "pod-c", intervalMs: 60_000 });
    await syncA.ready;
    await Promise.all([publisherB.push(), publisherC.push()]);

    const source = operator.dashboardSource(plan);
    // pod-a's first push went out before its watch applied anything; the apply pushed again, with revision 2.
    const fleet = await eventually(
      () => source.fleet?.() ?? Promise.resolve([]),
      (list) => list.find((i) => i.id === "pod-a")?.revision === 2,
      "pod-a's revision 2 without a push asked for",
    );
    expect(revisions(fleet)).toEqual({ "pod-a": 2, "pod-b": 1, "pod-c": undefined });
    expect(fleet.find((i) => i.id === "pod-c")).not.toHaveProperty("revision");
    expect(publisherA.lastPushAt()).not.toBeNull();
    const stats = await operator.readFleetStats({ minInstances: 3 });
    expect(stats.fresh).toBe(true);
    expect(revisions(stats.instances)).toEqual({ "pod-a": 2, "pod-b": 1, "pod-c": undefined });
    expect(stats.reader.window({ windowMs: 60_000 }).versions.v1?.requests).toBe(60);

    // A new revision: pod-a applies it and reports it at once; pod-b has not applied it.
    const written = await operator.updateConfig((c) => ({ ...(c ?? splitConfig(0)), split: { v1: 50, v2: 50 } }), { writer: "test" });
    expect(written).toMatchObject({ written: true, revision: 3 });
    const moved = await eventually(
      () => source.fleet?.() ?? Promise.resolve([]),
      (list) => list.find((i) => i.id === "pod-a")?.revision === 3,
      "pod-a's revision 3",
    );
    expect(routerA.revision).toBe(3);
    expect(revisions(moved)).toEqual({ "pod-a": 3, "pod-b": 1, "pod-c": undefined });

    // The dashboard's state puts the instances' revisions beside the config document's: the page marks pod-b behind.
    const dashboard = createDashboard({ source, plan });
    try {
      const state = await dashboard.state();
      expect(state.router?.revision).toBe(3);
      expect(state.fleet.map((i) => [i.id, i.revision])).toEqual([
        ["pod-a", 3],
        ["pod-b", 1],
        ["pod-c", undefined],
      ]);
      expect(state.fleet.every((i) => i.staleMs >= 0 && i.staleMs < 10_000)).toBe(true);
    } finally {
      dashboard.close();
    }

    // pod-b catches up, then reports none: what it reports at each push is what the store shows.
    revisionB = 3;
    await publisherB.push();
    expect((await operator.readFleetStats()).instances.find((i) => i.instance === "pod-b")?.revision).toBe(3);
    revisionB = null;
    await publisherB.push();
    expect((await operator.readFleetStats()).instances.find((i) => i.instance === "pod-b")).not.toHaveProperty("revision");
  });

  it("a push by a turnout that reports no revision shows none, also under the name of an instance that reported one, and still merges", async () => {
    const ns = namespace();
    const store = storeOf(ns);
    const publisher = publish(store, trafficStats(5), { instance: "pod-x", intervalMs: 60_000, revision: () => 7 });
    await publisher.push();
    expect((await store.readFleetStats()).instances).toMatchObject([{ instance: "pod-x", revision: 7, fresh: true }]);
    await publisher.close();

    // The same instance name, then another one, pushed the way an older turnout does: the revision key of pod-x's
    // earlier push is still there (its TTL runs), but it is not this push's.
    const older = (instance: string, requests: number): Promise<string> =>
      raw([
        "EVAL",
        PUSH_WITHOUT_REVISION,
        "2",
        `{${ns}}:stats`,
        `{${ns}}:stats:${instance}`,
        instance,
        JSON.stringify(trafficStats(requests).snapshot()),
        "60000",
      ]);
    expect(await older("pod-x", 5)).toMatch(/^:\d+$/);
    expect(await older("pod-old", 8)).toMatch(/^:\d+$/);
    expect(await raw(["EXISTS", `{${ns}}:stats-revision:pod-x`])).toBe(":1");
    const fleet = await store.readFleetStats({ minInstances: 2 });
    expect(fleet.fresh).toBe(true);
    expect(fleet.instances.map((i) => [i.instance, i.fresh, i.revision])).toEqual([
      ["pod-old", true, undefined],
      ["pod-x", true, undefined],
    ]);
    expect(fleet.reader.window({ windowMs: 60_000 }).versions.v1?.requests).toBe(13);
    expect((await store.dashboardSource(plan).fleet?.())?.map((i) => "revision" in i)).toEqual([false, false]);
  });

  it("close({ remove: true }) deletes the reported revision with the snapshot", async () => {
    const ns = namespace();
    const store = storeOf(ns);
    const publisher = store.publishStats(trafficStats(1), { instance: "pod-r", intervalMs: 60_000, revision: () => 4 });
    await publisher.push();
    expect(await raw(["EXISTS", `{${ns}}:stats-revision:pod-r`])).toBe(":1");
    await publisher.close({ remove: true });
    expect(await raw(["EXISTS", `{${ns}}:stats:pod-r`, `{${ns}}:stats-revision:pod-r`])).toBe(":0");
    expect((await store.readFleetStats()).instances).toEqual([]);
  });

  it("a revision() that throws or answers junk: the pushes go on without a revision, and it is reported once", async () => {
    const ns = namespace();
    const store = storeOf(ns);
    const errors: unknown[] = [];
    let answer: () => number | null = () => {
      throw new Error("no router yet");
    };
    const publisher = publish(store, trafficStats(1), { instance: "pod-j", intervalMs: 60_000, revision: () => answer(), onError: (e) => errors.push(e) });
    expect(await publisher.push()).toBe(true);
    expect(await publisher.push()).toBe(true);
    expect((await store.readFleetStats()).instances).toMatchObject([{ instance: "pod-j", fresh: true }]);
    expect((await store.readFleetStats()).instances[0]).not.toHaveProperty("revision");
    expect(errors.map((e) => (e as Error).message)).toEqual(["no router yet"]);
    answer = () => 2.5;
    await publisher.push();
    expect((await store.readFleetStats()).instances[0]).not.toHaveProperty("revision");
    expect((errors[1] as Error).message).toMatch(/returned 2\.5/);
    answer = () => 9;
    await publisher.push();
    expect((await store.readFleetStats()).instances[0]?.revision).toBe(9);
    expect(errors).toHaveLength(2);

    const error = (() => {
      try {
        store.publishStats(trafficStats(1), { revision: 3 as never });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isTurnoutConfigError(error) && error.problems.map((p) => [p.code, p.path])).toEqual([["type", "revision"]]);
  });
}

describe.skipIf(!available).each(CLIENTS)("the fleet's config revisions through %s", (kind: ClientKind) => {
  revisionCases(kind, async () => {
    const server = await startRedis();
    const connected = await connectClient(kind, { type: "single", url: server.url });
    return {
      connected,
      raw: (args) => rawCommand(server.port, args),
      async dispose() {
        await connected.close();
        await server.dispose();
      },
    };
  });
});

// Every key a stats script touches carries the namespace's hash tag: on a cluster each script runs on one shard.
describe.skipIf(!available)("the fleet's config revisions on a Redis Cluster (three primaries, three replicas)", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.dispose();
  }, 30_000);

  describe.each(["node-redis@6", "ioredis@6"] as const)("through %s", (kind: ClientKind) => {
    revisionCases(kind, async () => {
      const connected = await connectClient(kind, { type: "cluster", ports: cluster.ports });
      return { connected, raw: async (args, key) => rawCommand((await cluster.primaryFor(key)).port, args), dispose: () => connected.close() };
    });
  });
});

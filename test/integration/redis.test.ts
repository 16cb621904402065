/**
 * turnout/redis against a real redis-server (started on a free loopback port by these tests, stopped by them):
 * config compare-and-set, announcements and the poll backstop, bad documents kept out, Redis going away and coming
 * back, fleet stats with TTLs and staleness, and the rollout controller's lease and compare-and-set in one process.
 * The multi-process fleet is in redis-fleet.test.ts; the compare-and-set model tests in redis-cas.test.ts.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import {
  type ConfigSync,
  type ConfigSyncFailure,
  type RedisStore,
  type StatsPublisher,
  createRedisStore,
  RedisFailure,
  TurnoutRedisError,
} from "../../src/integrations/redis.js";
import { createRouter } from "../../src/router/index.js";
import type { RolloutEvent } from "../../src/rollout/types.js";
import { createStats } from "../../src/stats/index.js";
import type { RouterConfig } from "../../src/types.js";
import { splitConfig as config } from "./fixtures.js";
import { memoryLogger, until } from "./helpers.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();

type Client = ReturnType<typeof createClient>;

describe.skipIf(!available)("turnout/redis against redis-server", () => {
  let server: RedisServer;
  const clients: Client[] = [];
  const closers: (() => Promise<void>)[] = [];
  let namespaceCounter = 0;

  beforeAll(async () => {
    server = await startRedis({ persist: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  });

  async function client(): Promise<Client> {
    const c = createClient({ url: server.url });
    c.on("error", () => undefined); // node-redis needs a listener; the store reports what matters
    await c.connect();
    clients.push(c);
    return c;
  }

  async function store(
    options: { logger?: ReturnType<typeof memoryLogger>; commandTimeoutMs?: number } = {},
  ): Promise<{ store: RedisStore; client: Client; ns: string }> {
    const c = await client();
    const ns = `t${process.pid}-${++namespaceCounter}`;
    return {
      store: createRedisStore(c, {
        namespace: ns,
        logger: options.logger ?? memoryLogger(),
        ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
      }),
      client: c,
      ns,
    };
  }

  function watch(s: RedisStore, router: ReturnType<typeof createRouter>, options: Parameters<RedisStore["watchConfig"]>[1] = {}): ConfigSync {
    const sync = s.watchConfig(router, options);
    closers.push(() => sync.close());
    return sync;
  }

  describe("the published builds", () => {
    const root = join(import.meta.dirname, "..", "..");
    it.each([
      ["dist ESM", async () => (await import(join(root, "dist/redis.js"))) as { createRedisStore: typeof createRedisStore }],
      ["dist CJS", async () => createRequire(import.meta.url)(join(root, "dist/redis.cjs")) as { createRedisStore: typeof createRedisStore }],
    ])("%s: createRedisStore writes and reads the document through a real client", async (_name, load) => {
      const built = await load();
      const c = await client();
      const s = built.createRedisStore(c, { namespace: `built-${++namespaceCounter}` });
      expect(await s.writeConfig(config(3), { expectedRevision: 0 })).toMatchObject({ written: true, revision: 1 });
      expect((await s.readConfig())?.config).toEqual(config(3));
    });
  });

  describe("config document", () => {
    it("writes by compare-and-set on the revision: 0 creates, the revision read replaces, a stale revision is refused", async () => {
      const { store: s } = await store();
      expect(await s.readConfig()).toBeNull();
      const first = await s.writeConfig(config(0), { expectedRevision: 0, writer: "test" });
      expect(first).toMatchObject({ written: true, revision: 1 });
      expect(await s.writeConfig(config(5), { expectedRevision: 0 })).toEqual({ written: false, revision: 1 });
      expect(await s.writeConfig(config(5), { expectedRevision: 1 })).toMatchObject({ written: true, revision: 2 });
      expect(await s.writeConfig(config(9), { expectedRevision: 1 })).toEqual({ written: false, revision: 2 });
      const stored = await s.readConfig();
      expect(stored).toMatchObject({ revision: 2, config: config(5), writer: "turnout" });
      expect(stored?.sha).toMatch(/^[0-9a-f]{40}$/);
    });

    it("refuses an invalid config before it reaches Redis, listing every problem", async () => {
      const { store: s } = await store();
      const bad = { versions: ["v1", "v2"], stable: "v3", split: { v1: -1, v2: 1 } } as unknown as RouterConfig;
      const error = await s.writeConfig(bad, { expectedRevision: 0 }).catch((e: unknown) => e);
      expect(isTurnoutConfigError(error)).toBe(true);
      const paths = (error as { problems: { path: string }[] }).problems.map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(["stable", "split.v1"]));
      expect(await s.readConfig()).toBeNull();
      const options = await s.writeConfig(config(0), { expectedRevision: -1 }).catch((e: unknown) => e);
      expect(isTurnoutConfigError(options) && options.problems[0]?.path).toBe("options.expectedRevision");
    });

    it("updateConfig reads, changes and retries on conflicts: concurrent increments are never lost", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0, { salt: "0" }), { expectedRevision: 0 });
      const others = await Promise.all([store(), store(), store()]);
      const writers = [s, ...others.map((o) => createRedisStore(o.client, { namespace: s.prefix.slice(1, -2) }))];
      const bump = (c: RouterConfig | null): RouterConfig => ({ ...(c ?? config(0)), salt: String(Number(c?.salt ?? "0") + 1) });
      const results = await Promise.all(writers.flatMap((w) => Array.from({ length: 10 }, () => w.updateConfig(bump, { attempts: 100 }))));
      expect(results.every((r) => r.written)).toBe(true);
      expect(new Set(results.map((r) => r.revision)).size).toBe(40);
      const stored = await s.readConfig();
      expect(stored?.revision).toBe(41);
      expect(stored?.config.salt).toBe("40");
    });
  });

  describe("watchConfig", () => {
    it("applies the stored config with its revision, then every announced change", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(0));
      const applied: number[] = [];
      const sync = watch(s, router, { pollMs: 0, onApply: (a) => applied.push(a.revision) });
      await sync.ready;
      expect(router.revision).toBe(1);
      expect(router.canaryPercent).toBe(10);
      await until(() => sync.status().subscribed, 5000, "subscribed");
      await s.writeConfig(config(20), { expectedRevision: 1 });
      await until(() => router.revision === 2, 5000, "announced change");
      expect(router.canaryPercent).toBe(20);
      expect(applied).toEqual([1, 2]);
      expect(sync.status()).toMatchObject({ revision: 2, storeRevision: 2, upToDate: true, stale: false, lastError: null, rejectedRevision: null });
    });

    it("keeps the last good config when the stored one is invalid or not JSON, reports each once, and takes the next good one", async () => {
      const { store: s, client: c } = await store();
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(0));
      const failures: { stage: ConfigSyncFailure["stage"]; revision?: number; error: unknown }[] = [];
      const sync = watch(s, router, { pollMs: 50, onError: (error, f) => failures.push({ ...f, error }) });
      await sync.ready;
      // A hand-made document that bypasses the writer's validation.
      await c.hSet(`${s.prefix}config`, { revision: "2", sha: "x".repeat(40), config: JSON.stringify({ ...config(30), split: { v1: 70, v3: 30 } }) });
      await until(() => failures.length === 1, 5000, "validate failure");
      expect(failures[0]).toMatchObject({ stage: "validate", revision: 2 });
      expect(isTurnoutConfigError(failures[0]?.error)).toBe(true);
      expect(router.revision).toBe(1);
      expect(router.canaryPercent).toBe(10);
      await new Promise((r) => setTimeout(r, 200)); // several polls: still reported once
      expect(failures).toHaveLength(1);
      expect(sync.status()).toMatchObject({ revision: 1, storeRevision: 2, upToDate: false, rejectedRevision: 2 });

      await c.hSet(`${s.prefix}config`, { revision: "3", sha: "y".repeat(40), config: "{not json" });
      await until(() => failures.length === 2, 5000, "parse failure");
      expect(failures[1]).toMatchObject({ stage: "parse", revision: 3 });
      expect(router.canaryPercent).toBe(10);

      expect(await s.writeConfig(config(40), { expectedRevision: 3 })).toMatchObject({ written: true, revision: 4 });
      await until(() => router.revision === 4, 5000, "good config after bad");
      expect(router.canaryPercent).toBe(40);
      expect(sync.status()).toMatchObject({ upToDate: true, rejectedRevision: null, lastError: null });
    });

    it("the poll is the backstop: a change that was never announced arrives anyway", async () => {
      const { store: s, client: c } = await store();
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(0));
      const sync = watch(s, router, { pollMs: 100 });
      await sync.ready;
      const text = JSON.stringify(config(35));
      await c.hSet(`${s.prefix}config`, { revision: "2", sha: "a".repeat(40), config: text }); // no PUBLISH
      await until(() => router.revision === 2, 5000, "polled change");
      expect(router.canaryPercent).toBe(35);
    });

    it("after the subscription reconnects it reads the document: what was published meanwhile is not lost", async () => {
      const { store: s, client: c } = await store();
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(0));
      const vias: string[] = [];
      const sync = watch(s, router, { pollMs: 0, onApply: (a) => vias.push(a.via) });
      await sync.ready;
      await until(() => sync.status().subscribed, 5000, "subscribed");
      // Change the document without an announcement, then drop every pub/sub connection: only the read that follows
      // the reconnect can bring the change (changing it after the kill would race that read).
      await c.hSet(`${s.prefix}config`, { revision: "2", sha: "b".repeat(40), config: JSON.stringify(config(45)) });
      expect(router.revision).toBe(1);
      await c.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]);
      await until(() => router.revision === 2, 5000, "caught up on reconnect");
      expect(router.canaryPercent).toBe(45);
      expect(vias).toEqual(["initial", "reconnect"]);
    });

    it("a router already running the stored document is not updated again (no new revision)", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(10), { revision: 1 });
      const changes: number[] = [];
      router.subscribe((c) => changes.push(c.revision));
      const sync = watch(s, router, { pollMs: 0, subscribe: false });
      await sync.ready;
      expect(changes).toEqual([]);
      expect(sync.status()).toMatchObject({ revision: 1, upToDate: true });
    });

    it("reports a missing document once and keeps the router as it is", async () => {
      const { store: s } = await store();
      const router = createRouter(config(5));
      const failures: ConfigSyncFailure[] = [];
      const sync = watch(s, router, { pollMs: 30, subscribe: false, onError: (_e, f) => failures.push(f) });
      await sync.ready;
      await new Promise((r) => setTimeout(r, 150));
      expect(failures).toEqual([{ stage: "missing" }]);
      expect(router.canaryPercent).toBe(5);
      expect(sync.status()).toMatchObject({ revision: null, upToDate: false });
    });
  });

  describe("Redis down and back", () => {
    it("keeps routing with the last config, reports the outage and the staleness, and catches up when Redis returns", async () => {
      const logger = memoryLogger();
      const { store: s } = await store({ logger, commandTimeoutMs: 300 });
      const before = await s.readConfig();
      await s.writeConfig(config(10), { expectedRevision: before?.revision ?? 0 });
      const router = createRouter(config(0));
      const failures: ConfigSyncFailure[] = [];
      const sync = watch(s, router, { pollMs: 50, staleAfterMs: 300, onError: (_e, f) => failures.push(f) });
      await sync.ready;
      const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
      const decisions = keys.map((key) => router.decide({ key }).version).join();

      await server.stop("SIGKILL");
      await until(() => sync.status().stale, 5000, "stale");
      const status = sync.status();
      expect(status.revision).toBe(1);
      expect(status.lastError?.stage).toMatch(/connection|read/);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.length).toBeLessThan(5); // once per distinct failure, not once per poll
      // The request path does not notice: same answers, no exception, nothing awaited.
      expect(keys.map((key) => router.decide({ key }).version).join()).toBe(decisions);

      await server.start(); // same data (append-only file)
      const writer = createRedisStore(await client(), { namespace: s.prefix.slice(1, -2) });
      await writer.writeConfig(config(60), { expectedRevision: 1 });
      await until(() => router.revision === 2, 10_000, "caught up after the restart");
      expect(router.canaryPercent).toBe(60);
      await until(
        () => !sync.status().stale && sync.status().lastError === null,
        15_000,
        "fresh again",
        () => ({ status: sync.status(), log: logger.entries }),
      );
      expect(logger.entries.some((e) => e.level === "warn" && /works again/.test(e.message))).toBe(true);
    });

    it("sends nothing while the client is offline: reads fail at once, and nothing is queued for the reconnect", async () => {
      const { store: s, client: c } = await store();
      await server.stop("SIGKILL");
      await until(() => !c.isReady, 5000, "client offline");
      const errors = await Promise.all(Array.from({ length: 50 }, () => s.readConfig().catch((e: unknown) => e)));
      expect(errors.every((e) => e instanceof TurnoutRedisError && e.reason === RedisFailure.Offline)).toBe(true);
      await server.start();
      await until(() => c.isReady, 10_000, "client back");
      const info = String(await c.sendCommand(["INFO", "commandstats"]));
      expect(info).not.toMatch(/cmdstat_hmget/); // a fresh server: not one of the 50 reads arrived late
    });

    it("a slow Redis times out instead of blocking, and the next read works", async () => {
      const { store: s } = await store({ commandTimeoutMs: 200 });
      await s.writeConfig(config(10), { expectedRevision: 0 });
      const blocker = await client();
      // DEBUG SLEEP blocks the server: every command waits behind it.
      const sleeping = blocker.sendCommand(["DEBUG", "SLEEP", "0.6"]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      const error = await s.readConfig().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TurnoutRedisError);
      expect((error as TurnoutRedisError).reason).toBe(RedisFailure.Timeout);
      await sleeping;
      expect((await s.readConfig())?.revision).toBe(1);
    });
  });

  describe("fleet stats", () => {
    function trafficStats(v1: number, v2: number, errors2 = 0) {
      const stats = createStats({ versions: ["v1", "v2"], window: "1m", resolution: "1s" });
      stats.record({ version: "v1", ok: true, latencyMs: 10, count: v1 });
      if (v2 - errors2 > 0) stats.record({ version: "v2", ok: true, latencyMs: 12, count: v2 - errors2 });
      if (errors2 > 0) stats.record({ version: "v2", ok: false, latencyMs: 12, count: errors2 });
      return stats;
    }
    const publishers: StatsPublisher[] = [];
    afterEach(async () => {
      for (const p of publishers.splice(0)) await p.close();
    });

    it("merges the instances' snapshots; a dead instance ages out with its TTL", async () => {
      const { store: s } = await store();
      const a = s.publishStats(trafficStats(100, 10), { instance: "pod-a", intervalMs: 60_000 });
      const b = s.publishStats(trafficStats(200, 30, 3), { instance: "pod-b", intervalMs: 60_000, ttlMs: 300 });
      publishers.push(a, b);
      expect(await a.push()).toBe(true);
      expect(await b.push()).toBe(true);
      const fleet = await s.readFleetStats({ minInstances: 2 });
      expect(fleet.fresh).toBe(true);
      expect(fleet.instances.map((i) => i.instance)).toEqual(["pod-a", "pod-b"]);
      const w = fleet.reader.window();
      expect(w.versions.v1?.requests).toBe(300);
      expect(w.versions.v2?.requests).toBe(40);
      expect(w.versions.v2?.errors).toBe(3);
      await b.close(); // stops pushing: its snapshot expires after 300 ms
      await new Promise((r) => setTimeout(r, 450));
      const later = await s.readFleetStats({ minInstances: 2 });
      expect(later.instances.map((i) => i.instance)).toEqual(["pod-a"]);
      expect(later.fresh).toBe(false);
      expect(later.reason).toMatch(/1 instance reported within 15000 ms, 2 needed/);
      expect(later.reader.window().versions.v1?.requests).toBe(100);
    });

    it("a snapshot older than maxAgeMs or unreadable is listed and not counted", async () => {
      const { store: s, client: c } = await store();
      const a = s.publishStats(trafficStats(50, 5), { instance: "pod-a", intervalMs: 60_000 });
      publishers.push(a);
      await a.push();
      await c.set(`${s.prefix}stats:pod-junk`, JSON.stringify({ format: "turnout.stats/1", raw: { versions: { v1: 7 } } }), { PX: 60_000 });
      await c.zAdd(`${s.prefix}stats`, { score: Date.now(), value: "pod-junk" });
      await new Promise((r) => setTimeout(r, 120));
      const fleet = await s.readFleetStats({ maxAgeMs: 100 });
      expect(fleet.fresh).toBe(false);
      const byName = Object.fromEntries(fleet.instances.map((i) => [i.instance, i]));
      expect(byName["pod-a"]?.fresh).toBe(false);
      expect(byName["pod-a"]?.problem).toMatch(/more than maxAgeMs/);
      await a.push();
      const again = await s.readFleetStats({ maxAgeMs: 10_000 });
      expect(again.fresh).toBe(true);
      expect(again.instances.find((i) => i.instance === "pod-junk")?.problem).toMatch(/unreadable snapshot/);
      expect(again.reader.window().versions.v1?.requests).toBe(50);
    });

    it("close({ remove: true }) deletes the instance's snapshot at once", async () => {
      const { store: s } = await store();
      const a = s.publishStats(trafficStats(5, 0), { instance: "pod-a", intervalMs: 60_000 });
      await a.push();
      expect((await s.readFleetStats()).instances).toHaveLength(1);
      await a.close({ remove: true });
      expect((await s.readFleetStats()).instances).toHaveLength(0);
    });
  });

  describe("rollout controllers", () => {
    const plan = {
      steps: [
        { weight: 10, pause: 150 },
        { weight: 40, pause: 150 },
        { weight: 70, pause: 150 },
      ],
    };

    function collect(events: RolloutEvent[], who: string, log: string[]) {
      return (e: RolloutEvent) => {
        events.push(e);
        log.push(`${who}:${e.type}:${e.stepIndex}`);
      };
    }

    it("two controllers: one leads, every step is taken once, the weights reach the routers, the events are recorded", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const ns = s.prefix.slice(1, -2);
      const events: RolloutEvent[] = [];
      const log: string[] = [];
      const a = s.controlRollout(plan, { id: "a", leaseMs: 300, onEvent: collect(events, "a", log) });
      const b = createRedisStore(await client(), { namespace: ns }).controlRollout(plan, { id: "b", leaseMs: 300, onEvent: collect(events, "b", log) });
      closers.push(
        () => a.close(),
        () => b.close(),
      );
      await Promise.all([a.ready, b.ready]);
      expect([a.status().leading, b.status().leading].filter(Boolean)).toHaveLength(1);
      const router = createRouter(config(0));
      const weights: number[] = [];
      router.subscribe(() => weights.push(router.canaryPercent));
      watch(s, router, { pollMs: 50 });
      expect((await b.start()).accepted).toBe(true);
      expect((await a.start()).rejection).toMatch(/cannot start/);
      await until(() => events.some((e) => e.type === "promoted"), 10_000, "promoted");
      const steps = events.filter((e) => e.type === "step").map((e) => e.stepIndex);
      expect(steps).toEqual([0, 1, 2]);
      expect(events.filter((e) => e.type === "promoted")).toHaveLength(1);
      await until(() => router.canaryPercent === 100, 5000, "router at 100");
      expect(weights.filter((w, i) => w !== weights[i - 1])).toEqual([10, 40, 70, 100]);
      const state = await a.state();
      expect(state).toMatchObject({ phase: "promoted", weight: 100 });
      // The event stream holds every write once, in revision order.
      const c = await client();
      const stream = (await c.sendCommand(["XRANGE", `${s.prefix}rollout:default:events`, "-", "+"])) as [string, string[]][];
      const revisions = stream.map(([, fields]) => Number(fields[fields.indexOf("revision") + 1]));
      expect(revisions).toEqual(Array.from({ length: revisions.length }, (_, i) => i + 1));
      expect(revisions.at(-1)).toBe(state?.revision);
    });

    it("when the leader goes, the other takes over and finishes from the stored state (the hold continues, not restarts)", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const ns = s.prefix.slice(1, -2);
      const events: RolloutEvent[] = [];
      const log: string[] = [];
      const longPlan = {
        steps: [
          { weight: 10, pause: 200 },
          { weight: 50, pause: 1500 },
          { weight: 80, pause: 200 },
        ],
      };
      const a = s.controlRollout(longPlan, { id: "a", leaseMs: 400, onEvent: collect(events, "a", log) });
      await a.ready;
      const b = createRedisStore(await client(), { namespace: ns }).controlRollout(longPlan, { id: "b", leaseMs: 400, onEvent: collect(events, "b", log) });
      closers.push(() => b.close());
      await b.ready;
      expect(a.status().leading).toBe(true);
      await a.start();
      await until(() => events.some((e) => e.type === "step" && e.stepIndex === 1), 5000, "step 2");
      const holding = await b.state();
      expect(holding?.stepIndex).toBe(1);
      await a.close(); // releases the lease: b takes over at its next attempt
      await until(() => b.status().leading, 5000, "b leads");
      await until(() => events.some((e) => e.type === "promoted"), 10_000, "promoted");
      expect(events.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual([0, 1, 2]);
      const step3 = events.find((e) => e.type === "step" && e.stepIndex === 2);
      expect(log.filter((l) => l.startsWith("b:"))).toContain("b:step:2");
      // b kept step 2's stored deadline (the step was entered once, above) and did not move on before it.
      expect(step3?.at).toBeGreaterThanOrEqual(holding?.holdUntil ?? Infinity);
    });

    it("never judges a due check on stale fleet stats: the rollout waits, reports it, and moves on once fresh numbers arrive", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const analysed = { steps: [{ weight: 20, pause: 300 }], analysis: { window: "1m", interval: 100, minRequests: 10, maxErrorRate: 5 } };
      const failures: string[] = [];
      const events: RolloutEvent[] = [];
      const controller = s.controlRollout(analysed, {
        id: "solo",
        leaseMs: 600,
        staleRetryMs: 50,
        stats: { minInstances: 2, maxAgeMs: 2000 },
        onEvent: (e) => events.push(e),
        onError: (error, { stage }) => failures.push(`${stage}:${error instanceof TurnoutRedisError ? error.reason : "?"}`),
      });
      closers.push(() => controller.close());
      await controller.start();
      const stats = createStats({ versions: ["v1", "v2"], window: "1m", resolution: "100ms" });
      const one = s.publishStats(stats, { instance: "only-one", intervalMs: 50 });
      closers.push(() => one.close());
      stats.record({ version: "v2", ok: true, latencyMs: 5, count: 100 });
      stats.record({ version: "v1", ok: true, latencyMs: 5, count: 100 });
      await new Promise((r) => setTimeout(r, 700)); // well past the hold
      expect(events.filter((e) => e.type === "check")).toHaveLength(0);
      expect(events.some((e) => e.type === "promoted")).toBe(false);
      expect(failures).toEqual(["stats:stale"]);
      expect(controller.status().fleet).toMatchObject({ fresh: false, instances: 1 });
      const stats2 = createStats({ versions: ["v1", "v2"], window: "1m", resolution: "100ms" });
      stats2.record({ version: "v2", ok: true, latencyMs: 5, count: 100 });
      const two = s.publishStats(stats2, { instance: "second", intervalMs: 50 });
      closers.push(() => two.close());
      await until(() => events.some((e) => e.type === "promoted"), 5000, "promoted on fresh stats");
      const check = events.find((e) => e.type === "check");
      expect(check?.health?.verdict).toBe("pass");
      expect(check?.health?.canary.requests).toBeGreaterThanOrEqual(100); // the second instance's, at least
    });

    it("a fleet stats read that fails is a stats failure too: the check waits, and goes on once the stats can be read", async () => {
      const { store: s, client: c } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const analysed = { steps: [{ weight: 20, pause: 200 }], analysis: { window: "1m", interval: 100, minRequests: 10, maxErrorRate: 5 } };
      const failures: string[] = [];
      const events: RolloutEvent[] = [];
      await c.set(`${s.prefix}stats`, "not a sorted set"); // every read of the stats index now fails (WRONGTYPE)
      const controller = s.controlRollout(analysed, {
        id: "solo",
        leaseMs: 600,
        staleRetryMs: 50,
        onEvent: (e) => events.push(e),
        onError: (error, { stage }) => failures.push(`${stage}:${error instanceof TurnoutRedisError ? error.reason : "?"}`),
      });
      closers.push(() => controller.close());
      await controller.start();
      await new Promise((r) => setTimeout(r, 500)); // past the hold
      expect(events.filter((e) => e.type === "check")).toHaveLength(0);
      expect(failures).toEqual(["stats:command"]);
      await c.del(`${s.prefix}stats`);
      const stats = createStats({ versions: ["v1", "v2"], window: "1m", resolution: "100ms" });
      stats.record({ version: "v2", ok: true, latencyMs: 5, count: 100 });
      stats.record({ version: "v1", ok: true, latencyMs: 5, count: 100 });
      const one = s.publishStats(stats, { instance: "one", intervalMs: 50 });
      closers.push(() => one.close());
      await until(() => events.some((e) => e.type === "promoted"), 5000, "promoted once the stats can be read");
      expect(events.find((e) => e.type === "check")?.health?.verdict).toBe("pass");
    });

    it("puts the weight back when someone writes a config with another split mid-rollout (kept: the rest of their change)", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const events: RolloutEvent[] = [];
      const controller = s.controlRollout({ steps: [{ weight: 25, pause: "1h" }] }, { id: "solo", leaseMs: 300, onEvent: (e) => events.push(e) });
      closers.push(() => controller.close());
      await controller.start();
      const stored = await s.readConfig();
      expect(createRouter(stored!.config).canaryPercent).toBe(25);
      await s.writeConfig(config(90, { salt: "operator" }), { expectedRevision: stored!.revision });
      await until(() => events.some((e) => e.type === "weightRestored"), 5000, "weight restored");
      const after = await s.readConfig();
      expect(createRouter(after!.config).canaryPercent).toBe(25);
      expect(after!.config.salt).toBe("operator");
    });

    it("after the rollout is over (promoted for good, or aborted) the weight is the operators' again: nothing is set back", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const events: RolloutEvent[] = [];
      const controller = s.controlRollout({ steps: [{ weight: 50, pause: 50 }] }, { id: "solo", leaseMs: 150, onEvent: (e) => events.push(e) });
      closers.push(() => controller.close());
      await controller.start();
      await until(() => events.some((e) => e.type === "promoted"), 5000, "promoted");
      const stored = await s.readConfig();
      await s.writeConfig({ ...config(0), versions: ["v2", "v3"], stable: "v2", canary: "v3", split: { v2: 100 } }, { expectedRevision: stored!.revision });
      await new Promise((r) => setTimeout(r, 300)); // several cycles of the leader
      expect(events.some((e) => e.type === "weightRestored")).toBe(false);
      expect((await s.readConfig())?.config.stable).toBe("v2");
    });

    it("a stored config the rollout cannot use is a config failure: reported, nothing written", async () => {
      const { store: s, client: c } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const failures: string[] = [];
      const controller = s.controlRollout({ steps: [{ weight: 50, pause: "1h" }] }, { id: "solo", leaseMs: 150, onError: (_e, f) => failures.push(f.stage) });
      closers.push(() => controller.close());
      await c.hSet(`${s.prefix}config`, { revision: "2", sha: "c".repeat(40), config: JSON.stringify({ versions: ["v1"], stable: "v9" }) });
      const result = await controller.start();
      expect(result.accepted).toBe(false);
      expect(result.rejection).toMatch(/start not stored: invalid router configuration/);
      expect(failures).toContain("config");
      expect(await controller.state()).toBeNull();
    });

    it("a plan for other versions than the stored config's is refused, as createRollout refuses it", async () => {
      const { store: s } = await store();
      await s.writeConfig(config(0), { expectedRevision: 0 });
      const failures: string[] = [];
      const controller = s.controlRollout({ stable: "v0", steps: [{ weight: 5, pause: "1h" }] }, { lead: false, onError: (_e, f) => failures.push(f.stage) });
      const result = await controller.start();
      expect(result.accepted).toBe(false);
      expect(result.rejection).toMatch(/start not stored: .*stable "v0"/);
      expect(failures).toEqual(["config"]);
      expect(await controller.state()).toBeNull();
    });

    it("options with a typo are refused with the field named", async () => {
      const { store: s } = await store();
      const router = createRouter(config(0));
      expect(() => s.watchConfig(router, { pollMS: 10 } as never)).toThrow(/unknown field "pollMS"/);
      expect(() => s.publishStats(createStats(), { intervl: 5 } as never)).toThrow(/unknown field "intervl"/);
      expect(() => s.controlRollout({ steps: [{ weight: 1 }] }, { stats: { minInstance: 2 } } as never)).toThrow(/stats\.minInstance/);
    });

    it("refuses a stored state of another plan, and commands need a config document", async () => {
      const { store: s } = await store();
      const failures: string[] = [];
      const c1 = s.controlRollout({ steps: [{ weight: 5, pause: "1h" }] }, { lead: false, onError: (_e, f) => failures.push(f.stage) });
      const noConfig = await c1.start();
      expect(noConfig.accepted).toBe(false);
      expect(noConfig.rejection).toMatch(/no configuration document/);
      await s.writeConfig(config(0), { expectedRevision: 0 });
      expect((await c1.start()).accepted).toBe(true);
      const other = s.controlRollout({ steps: [{ weight: 7, pause: "1h" }] }, { lead: false, onError: (_e, f) => failures.push(f.stage) });
      const refused = await other.pause();
      expect(refused.accepted).toBe(false);
      expect(refused.rejection).toMatch(/another plan/);
      expect(failures).toEqual(["config", "state"]);
    });

    it("validates its options with every problem listed", () => {
      const s = createRedisStore({
        sendCommand: async () => null,
        duplicate: () => {
          throw new Error("x");
        },
        connect: async () => undefined,
        subscribe: async () => undefined,
        on: () => undefined,
      });
      const error = (() => {
        try {
          s.controlRollout({ steps: [{ weight: 5 }] }, { leaseMs: 100, renewMs: 200, name: "has space", stats: { minInstances: 0 } } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(isTurnoutConfigError(error) && error.problems.map((p) => p.path).sort()).toEqual(["name", "renewMs", "stats.minInstances"]);
      expect(() => createRedisStore({} as never, { namespace: "{x}" })).toThrow(/client[\s\S]*namespace/);
    });
  });
});

/**
 * The fleet, for real, once per supported client (node-redis 5 and 6, ioredis 6 and 5): 4 worker processes (router +
 * stats, synced through Redis) and 2 controller processes against one redis-server (append-only file, fsync on every
 * write). After every config change all workers decide alike for 10,000 keys; over whole (compressed-time) rollouts
 * every step is taken exactly once — also when the active controller is killed mid-step, and when Redis itself is
 * killed and restarted mid-rollout. Cluster and Sentinel: redis-topologies.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutPlan } from "../../src/rollout/types.js";
import type { RouterConfig } from "../../src/types.js";
import { until } from "./helpers.js";
import { CLIENTS, type ClientKind } from "./redis/clients.js";
import { ANALYSIS as analysis, BOUND_MS, type Child, Fleet, eventsOf, retry, stopChild } from "./redis/fleet.js";
import type { FromWorker } from "./redis/protocol.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();
const WORKERS = 4;
const NAMESPACE = "fleet";

describe.skipIf(!available).each(CLIENTS)("a fleet of processes sharing one Redis through %s", (kind: ClientKind) => {
  let server: RedisServer;
  let fleet: Fleet;

  beforeAll(async () => {
    server = await startRedis({ persist: true });
    fleet = new Fleet(kind, { type: "single", url: server.url }, NAMESPACE, WORKERS);
    await fleet.start();
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.dispose();
  }, 30_000);

  it("after every config change, all workers decide identically for 10,000 keys within a bounded time", async () => {
    await fleet.expectAgrees();
    const changes: ((c: RouterConfig) => RouterConfig)[] = [
      (c) => ({ ...c, split: { v1: 90, v2: 10 } }),
      (c) => ({ ...c, split: { v1: 62.5, v2: 37.5 } }),
      (c) => ({ ...c, salt: "reshuffle-1" }),
      (c) => ({ ...c, overrides: [{ header: "x-canary", equals: "true", version: "v2" }], split: { v1: 99.99, v2: 0.01 } }),
      (c) => ({ ...c, split: { v1: 100, v2: 0 }, salt: "" }),
    ];
    const digests = new Set<string>();
    for (const change of changes) {
      const result = await fleet.store.updateConfig((c) => change(c as RouterConfig));
      expect(result.written).toBe(true);
      const { revision, digest } = await fleet.expectAgrees();
      expect(revision).toBe(result.revision);
      digests.add(digest);
      // Each worker reports the revision its watch applied with its stats: the fleet view shows every one at it.
      const reported = await retry(async () => {
        const stats = await fleet.store.readFleetStats({ minInstances: WORKERS });
        if (stats.instances.some((i) => i.revision !== revision))
          throw new Error(`revisions reported: ${JSON.stringify(stats.instances.map((i) => i.revision))}`);
        return stats.instances.map((i) => [i.instance, i.revision]);
      }, BOUND_MS);
      expect(reported).toEqual(fleet.workers.map((w) => [w.name, revision]));
    }
    expect(digests.size).toBeGreaterThanOrEqual(4); // the changes really moved keys
  }, 180_000);

  it("two controllers drive a whole rollout: every step exactly once, the fleet follows every weight", async () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 5, pause: 400 },
        { weight: 20, pause: 400 },
        { weight: 50, pause: 400 },
        { weight: 80, pause: 400 },
      ],
      analysis,
    };
    const pair = fleet.startControllers("whole", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 90_000, "controllers ready");
    const marks = fleet.workers.map((w) => w.messages.length);
    pair[1]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted");
    await fleet.expectEveryStepOnce("whole", pair, 4);
    await fleet.expectAgrees();
    for (const [i, w] of fleet.workers.entries()) {
      const weights = w.messages
        .slice(marks[i])
        .filter((m): m is Extract<FromWorker, { type: "applied" }> => m.type === "applied")
        .map((m) => m.weight);
      expect(weights.at(-1)).toBe(100);
      expect(weights).toEqual([...weights].sort((a, b) => a - b)); // never back down
    }
    // Healthy traffic on both versions: checks pass (an early one may be inconclusive: too few canary requests yet).
    const verdicts = eventsOf(pair)
      .filter((e) => e.event.type === "check")
      .map((e) => e.event.health?.verdict);
    expect(verdicts).toContain("pass");
    expect(verdicts).not.toContain("fail");
    await Promise.all(pair.map((c) => stopChild(c as Child<unknown>)));
  }, 180_000);

  it("the active controller is killed mid-step: the other takes over and finishes from the stored state", async () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 10, pause: 400 },
        { weight: 30, pause: 2500 },
        { weight: 60, pause: 400 },
      ],
      analysis,
    };
    const pair = fleet.startControllers("killed", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 90_000, "controllers ready");
    pair[0]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "step" && e.event.stepIndex === 1), 30_000, "second step");
    const leader = eventsOf(pair).find((e) => e.event.type === "step" && e.event.stepIndex === 1)?.controller;
    const victim = pair.find((c) => c.name === leader)!;
    const survivor = pair.find((c) => c.name !== leader)!;
    victim.proc.kill("SIGKILL");
    const holding = await fleet.state("killed");
    expect(holding).toMatchObject({ stepIndex: 1, phase: "analysing" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted by the survivor");
    await fleet.expectEveryStepOnce("killed", pair, 3);
    const third = eventsOf(pair).find((e) => e.event.type === "step" && e.event.stepIndex === 2);
    expect(third?.controller).toBe(survivor.name);
    // The survivor continued the step's stored hold instead of starting it over.
    expect(third?.event.at).toBeGreaterThanOrEqual(holding.holdUntil ?? Infinity);
    expect(survivor.messages.some((m) => m.type === "leading" && m.leading)).toBe(true);
    await fleet.expectAgrees();
    await stopChild(survivor as Child<unknown>);
  }, 180_000);

  it("Redis is killed and restarted mid-rollout: no step and no config is lost, and the fleet catches up", async () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 10, pause: 400 },
        { weight: 30, pause: 1500 },
        { weight: 60, pause: 400 },
      ],
      analysis,
    };
    const pair = fleet.startControllers("restart", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 90_000, "controllers ready");
    pair[0]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "step" && e.event.stepIndex === 1), 30_000, "second step");
    const before = await fleet.store.readConfig();
    await server.stop("SIGKILL");
    // Meanwhile the workers keep routing with what they have (they answer digests: decide never waits for Redis); one
    // that had not yet heard of the last step's revision stays one behind until Redis is back.
    const during = await fleet.digests();
    for (const d of during) expect(d?.revision).toBeLessThanOrEqual(before?.revision ?? 0);
    await new Promise((r) => setTimeout(r, 800));
    await server.start();
    await until(() => fleet.connection.ready(), BOUND_MS, "test client back");
    const after = await fleet.store.readConfig();
    expect(after?.revision).toBeGreaterThanOrEqual(before?.revision ?? Infinity);
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted after the restart");
    await fleet.expectEveryStepOnce("restart", pair, 3);
    const { revision } = await fleet.expectAgrees();
    expect(revision).toBeGreaterThan(before?.revision ?? Infinity);
    await Promise.all(pair.map((c) => stopChild(c as Child<unknown>)));
  }, 180_000);
});

/**
 * The fleet, for real, once per supported client (node-redis 5 and 6, ioredis 6 and 5): 4 worker processes (router +
 * stats, synced through Redis) and 2 controller processes against one redis-server (append-only file, fsync on every
 * write). After every config change all workers decide alike for
 * 10,000 keys; over whole (compressed-time) rollouts every step is taken exactly once — also when the active
 * controller is killed mid-step, and when Redis itself is killed and restarted mid-rollout.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisStore, createRedisStore } from "../../src/integrations/redis.js";
import { createRouter } from "../../src/router/index.js";
import type { RolloutEvent, RolloutPlan, RolloutState } from "../../src/rollout/types.js";
import type { RouterConfig } from "../../src/types.js";
import { until } from "./helpers.js";
import { CLIENTS, type ClientKind } from "./redis/clients.js";
import { FLEET_KEYS, type FromController, type FromWorker } from "./redis/protocol.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();
const WORKERS = 4;
const NAMESPACE = "fleet";
const BOUND_MS = 10_000; // "within a bounded time": a liveness bound, generous for a loaded 2-core machine

interface Child<M> {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly messages: M[];
}

function spawnChild<M>(script: string, name: string, env: Record<string, string>): Child<M> {
  const proc = fork(join(import.meta.dirname, "redis", script), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const child: Child<M> = { name, proc, messages: [] };
  proc.on("message", (message) => child.messages.push(message as M));
  return child;
}

async function stopChild(child: Child<unknown>): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.proc.once("exit", () => resolve()));
  if (child.proc.connected) child.proc.send({ type: "stop" });
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

function digestOf(config: RouterConfig, revision: number): string {
  const router = createRouter(config, { revision });
  const hash = createHash("sha1");
  for (const key of FLEET_KEYS) hash.update(router.decide({ key }).version).update(",");
  return hash.digest("hex");
}

describe.skipIf(!available).each(CLIENTS)("a fleet of processes sharing one Redis through %s", (kind: ClientKind) => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;
  let store: RedisStore;
  const workers: Child<FromWorker>[] = [];
  const controllers: Child<FromController>[] = [];

  beforeAll(async () => {
    server = await startRedis({ persist: true });
    client = createClient({ url: server.url });
    client.on("error", () => undefined);
    await client.connect();
    store = createRedisStore(client, { namespace: NAMESPACE });
    await store.writeConfig({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 }, stickiness: ["key"] }, { expectedRevision: 0 });
    for (let i = 0; i < WORKERS; i++) {
      workers.push(spawnChild<FromWorker>("worker.ts", `w${i}`, { TURNOUT_WORKER_ID: `w${i}`, TURNOUT_REDIS_URL: server.url, TURNOUT_REDIS_CLIENT: kind, TURNOUT_NAMESPACE: NAMESPACE }));
    }
    await until(() => workers.every((w) => w.messages.some((m) => m.type === "ready")), 90_000, "workers ready");
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...controllers, ...workers].map((c) => stopChild(c as Child<unknown>)));
    await client?.close().catch(() => undefined);
    await server?.dispose();
  }, 30_000);

  /** Waits until every worker runs the stored revision, then compares their 10,000 decisions with the document's. */
  async function expectFleetAgrees(): Promise<{ revision: number; digest: string }> {
    const stored = await store.readConfig();
    if (stored === null) throw new Error("no config stored");
    const expected = digestOf(stored.config, stored.revision);
    const appliedRevision = (w: Child<FromWorker>): number =>
      Math.max(0, ...w.messages.filter((m) => m.type === "applied" || m.type === "ready").map((m) => (m as { revision: number }).revision));
    await until(() => workers.every((w) => appliedRevision(w) >= stored.revision), BOUND_MS, `every worker at revision ${stored.revision}`);
    // Ask once more now that all are there, so the compared digests are all taken at that revision.
    const digests = await askDigests();
    expect(digests.map((d) => d?.revision)).toEqual(Array(WORKERS).fill(stored.revision));
    expect(digests.map((d) => d?.digest)).toEqual(Array(WORKERS).fill(expected));
    return { revision: stored.revision, digest: expected };
  }

  /** Every worker's digest of its decisions now. */
  async function askDigests(): Promise<(Extract<FromWorker, { type: "digest" }> | undefined)[]> {
    const marks = workers.map((w) => w.messages.length);
    const fresh = (w: Child<FromWorker>, i: number) =>
      w.messages.slice(marks[i]).find((m): m is Extract<FromWorker, { type: "digest" }> => m.type === "digest");
    for (const w of workers) w.proc.send({ type: "digest" });
    await until(() => workers.every((w, i) => fresh(w, i) !== undefined), BOUND_MS, "digests");
    return workers.map(fresh);
  }

  function startControllers(rollout: string, plan: RolloutPlan): Child<FromController>[] {
    const pair = ["c1", "c2"].map((id) =>
      spawnChild<FromController>("controller.ts", `${rollout}-${id}`, {
        TURNOUT_CONTROLLER_ID: `${rollout}-${id}`,
        TURNOUT_REDIS_URL: server.url,
        TURNOUT_REDIS_CLIENT: kind,
        TURNOUT_NAMESPACE: NAMESPACE,
        TURNOUT_ROLLOUT: rollout,
        TURNOUT_PLAN: JSON.stringify(plan),
        TURNOUT_MIN_INSTANCES: String(WORKERS),
      }),
    );
    controllers.push(...pair);
    return pair;
  }

  function eventsOf(pair: Child<FromController>[]): { controller: string; event: RolloutEvent }[] {
    return pair.flatMap((c) => c.messages.filter((m): m is Extract<FromController, { type: "event" }> => m.type === "event"));
  }

  /** The rollout's event stream in Redis: one entry per stored write, in order. */
  async function stream(rollout: string): Promise<{ revision: number; events: RolloutEvent[] }[]> {
    const entries = (await client.sendCommand(["XRANGE", `{${NAMESPACE}}:rollout:${rollout}:events`, "-", "+"])) as [string, string[]][];
    return entries.map(([, fields]) => ({
      revision: Number(fields[fields.indexOf("revision") + 1]),
      events: (JSON.parse(fields[fields.indexOf("entry") + 1] ?? "{}") as { events: RolloutEvent[] }).events,
    }));
  }

  /** Every step exactly once — in the stored history, and in what the controllers reported — and promoted once. */
  async function expectEveryStepOnce(rollout: string, pair: Child<FromController>[], steps: number): Promise<void> {
    const history = await stream(rollout);
    const stateWrites = history.filter((h, i) => i === 0 || h.revision !== history[i - 1]?.revision);
    expect(stateWrites.map((h) => h.revision)).toEqual(Array.from({ length: stateWrites.length }, (_, i) => i + 1));
    const stored = history.flatMap((h) => h.events);
    const range = Array.from({ length: steps }, (_, i) => i);
    expect(stored.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual(range);
    expect(stored.filter((e) => e.type === "promoted")).toHaveLength(1);
    const reported = eventsOf(pair).map((r) => r.event);
    expect(reported.filter((e) => e.type === "step").map((e) => e.stepIndex).sort((a, b) => a - b)).toEqual(range);
    expect(reported.filter((e) => e.type === "promoted")).toHaveLength(1);
  }

  const analysis = { window: "5s", interval: 200, minRequests: 20, maxErrorRate: 5, maxP99Ratio: 3 };

  it("after every config change, all workers decide identically for 10,000 keys within a bounded time", async () => {
    await expectFleetAgrees();
    const changes: ((c: RouterConfig) => RouterConfig)[] = [
      (c) => ({ ...c, split: { v1: 90, v2: 10 } }),
      (c) => ({ ...c, split: { v1: 62.5, v2: 37.5 } }),
      (c) => ({ ...c, salt: "reshuffle-1" }),
      (c) => ({ ...c, overrides: [{ header: "x-canary", equals: "true", version: "v2" }], split: { v1: 99.99, v2: 0.01 } }),
      (c) => ({ ...c, split: { v1: 100, v2: 0 }, salt: "" }),
    ];
    const digests = new Set<string>();
    for (const change of changes) {
      const result = await store.updateConfig((c) => change(c as RouterConfig));
      expect(result.written).toBe(true);
      const { revision, digest } = await expectFleetAgrees();
      expect(revision).toBe(result.revision);
      digests.add(digest);
    }
    expect(digests.size).toBeGreaterThanOrEqual(4); // the changes really moved keys
  }, 90_000);

  it("two controllers drive a whole rollout: every step exactly once, the fleet follows every weight", async () => {
    const plan: RolloutPlan = { steps: [{ weight: 5, pause: 400 }, { weight: 20, pause: 400 }, { weight: 50, pause: 400 }, { weight: 80, pause: 400 }], analysis };
    const pair = startControllers("whole", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 30_000, "controllers ready");
    const marks = workers.map((w) => w.messages.length);
    pair[1]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted");
    await expectEveryStepOnce("whole", pair, 4);
    await expectFleetAgrees();
    for (const [i, w] of workers.entries()) {
      const weights = w.messages.slice(marks[i]).filter((m): m is Extract<FromWorker, { type: "applied" }> => m.type === "applied").map((m) => m.weight);
      expect(weights.at(-1)).toBe(100);
      expect(weights).toEqual([...weights].sort((a, b) => a - b)); // never back down
    }
    // Healthy traffic on both versions: checks pass (an early one may be inconclusive: too few canary requests yet).
    const verdicts = eventsOf(pair).filter((e) => e.event.type === "check").map((e) => e.event.health?.verdict);
    expect(verdicts).toContain("pass");
    expect(verdicts).not.toContain("fail");
    await Promise.all(pair.map((c) => stopChild(c as Child<unknown>)));
  }, 90_000);

  it("the active controller is killed mid-step: the other takes over and finishes from the stored state", async () => {
    const plan: RolloutPlan = { steps: [{ weight: 10, pause: 400 }, { weight: 30, pause: 2500 }, { weight: 60, pause: 400 }], analysis };
    const pair = startControllers("killed", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 30_000, "controllers ready");
    pair[0]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "step" && e.event.stepIndex === 1), 30_000, "second step");
    const leader = eventsOf(pair).find((e) => e.event.type === "step" && e.event.stepIndex === 1)?.controller;
    const victim = pair.find((c) => c.name === leader)!;
    const survivor = pair.find((c) => c.name !== leader)!;
    victim.proc.kill("SIGKILL");
    const [, stateText] = (await client.hmGet(`{${NAMESPACE}}:rollout:killed`, ["revision", "state"])) as [string, string];
    const holding = JSON.parse(stateText) as RolloutState;
    expect(holding).toMatchObject({ stepIndex: 1, phase: "analysing" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted by the survivor");
    await expectEveryStepOnce("killed", pair, 3);
    const third = eventsOf(pair).find((e) => e.event.type === "step" && e.event.stepIndex === 2);
    expect(third?.controller).toBe(survivor.name);
    // The survivor continued the step's stored hold instead of starting it over.
    expect(third?.event.at).toBeGreaterThanOrEqual(holding.holdUntil ?? Infinity);
    expect(survivor.messages.some((m) => m.type === "leading" && m.leading)).toBe(true);
    await expectFleetAgrees();
    await stopChild(survivor as Child<unknown>);
  }, 90_000);

  it("Redis is killed and restarted mid-rollout: no step and no config is lost, and the fleet catches up", async () => {
    const plan: RolloutPlan = { steps: [{ weight: 10, pause: 400 }, { weight: 30, pause: 1500 }, { weight: 60, pause: 400 }], analysis };
    const pair = startControllers("restart", plan);
    await until(() => pair.every((c) => c.messages.some((m) => m.type === "ready")), 30_000, "controllers ready");
    pair[0]?.proc.send({ type: "start" });
    await until(() => eventsOf(pair).some((e) => e.event.type === "step" && e.event.stepIndex === 1), 30_000, "second step");
    const before = await store.readConfig();
    await server.stop("SIGKILL");
    // Meanwhile the workers keep routing with what they have (they answer digests: decide never waits for Redis); one
    // that had not yet heard of the last step's revision stays one behind until Redis is back.
    const during = await askDigests();
    for (const d of during) expect(d?.revision).toBeLessThanOrEqual(before?.revision ?? 0);
    await new Promise((r) => setTimeout(r, 800));
    await server.start();
    await until(() => client.isReady, BOUND_MS, "test client back");
    const after = await store.readConfig();
    expect(after?.revision).toBeGreaterThanOrEqual(before?.revision ?? Infinity);
    await until(() => eventsOf(pair).some((e) => e.event.type === "promoted"), 60_000, "promoted after the restart");
    await expectEveryStepOnce("restart", pair, 3);
    const { revision } = await expectFleetAgrees();
    expect(revision).toBeGreaterThan(before?.revision ?? Infinity);
    await Promise.all(pair.map((c) => stopChild(c as Child<unknown>)));
  }, 90_000);
});

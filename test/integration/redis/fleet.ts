/**
 * The multi-process fleet harness: worker processes (router + stats synced through Redis) and controller processes,
 * each with the client library and topology under test, and the checks every fleet suite makes: all workers decide
 * alike at the stored revision, and every rollout step is in the stored history exactly once.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { expect } from "vitest";
import { type RedisStore, createRedisStore } from "../../../src/integrations/redis.js";
import { type Connection, connectionFor } from "../../../src/integrations/redis/client.js";
import { list, text } from "../../../src/integrations/redis/link.js";
import { createRouter } from "../../../src/router/index.js";
import type { RolloutEvent, RolloutPlan, RolloutState } from "../../../src/rollout/types.js";
import type { RouterConfig } from "../../../src/types.js";
import { until } from "../helpers.js";
import { type ClientKind, type Connected, type Target, connectClient } from "./clients.js";
import { FLEET_KEYS, type FromController, type FromWorker } from "./protocol.js";

export const BOUND_MS = 10_000; // "within a bounded time": a liveness bound, generous for a loaded 2-core machine

export interface Child<M> {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly messages: M[];
}

export function spawnChild<M>(script: string, name: string, env: Record<string, string>): Child<M> {
  const proc = fork(join(import.meta.dirname, script), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const child: Child<M> = { name, proc, messages: [] };
  proc.on("message", (message) => child.messages.push(message as M));
  return child;
}

export async function stopChild(child: Child<unknown>): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.proc.once("exit", () => resolve()));
  if (child.proc.connected) child.proc.send({ type: "stop" });
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

export function digestOf(config: RouterConfig, revision: number): string {
  const router = createRouter(config, { revision });
  const hash = createHash("sha1");
  for (const key of FLEET_KEYS) hash.update(router.decide({ key }).version).update(",");
  return hash.digest("hex");
}

export const ANALYSIS = { window: "5s", interval: 200, minRequests: 20, maxErrorRate: 5, maxP99Ratio: 3 };

/** A fleet of `workers` processes on `target` through `kind`, and the test's own store (same client library). */
export class Fleet {
  readonly workers: Child<FromWorker>[] = [];
  readonly controllers: Child<FromController>[] = [];
  store!: RedisStore;
  connection!: Connection;
  private connected: Connected | undefined;

  constructor(
    readonly kind: ClientKind,
    readonly target: Target,
    readonly namespace: string,
    readonly size: number,
  ) {}

  private env(): Record<string, string> {
    return { TURNOUT_REDIS_CLIENT: this.kind, TURNOUT_REDIS_TARGET: JSON.stringify(this.target), TURNOUT_NAMESPACE: this.namespace };
  }

  async start(): Promise<void> {
    this.connected = await connectClient(this.kind, this.target);
    this.store = createRedisStore(this.connected.client, { namespace: this.namespace, logger: { warn: () => undefined, error: () => undefined } });
    this.connection = connectionFor(this.connected.client, 2000) as Connection;
    await this.store.writeConfig(
      { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 }, stickiness: ["key"] },
      { expectedRevision: 0 },
    );
    for (let i = 0; i < this.size; i++) this.workers.push(spawnChild<FromWorker>("worker.ts", `w${i}`, { ...this.env(), TURNOUT_WORKER_ID: `w${i}` }));
    await until(() => this.workers.every((w) => w.messages.some((m) => m.type === "ready")), 90_000, "workers ready");
  }

  async stop(): Promise<void> {
    await Promise.all([...this.controllers, ...this.workers].map((c) => stopChild(c as Child<unknown>)));
    await this.connected?.close();
  }

  /** One raw command through the test's client (routed by `key` on a cluster). */
  async command(args: string[], key: string): Promise<unknown> {
    await until(() => this.connection.ready(), BOUND_MS, "the test's client ready");
    return this.connection.command(args, key);
  }

  /** Waits until every worker runs the stored revision, then compares their 10,000 decisions with the document's. */
  async expectAgrees(): Promise<{ revision: number; digest: string }> {
    const stored = await retry(() => this.store.readConfig());
    if (stored === null) throw new Error("no config stored");
    const expected = digestOf(stored.config, stored.revision);
    const appliedRevision = (w: Child<FromWorker>): number =>
      Math.max(0, ...w.messages.filter((m) => m.type === "applied" || m.type === "ready").map((m) => (m as { revision: number }).revision));
    await until(() => this.workers.every((w) => appliedRevision(w) >= stored.revision), BOUND_MS, `every worker at revision ${stored.revision}`);
    const digests = await this.digests();
    expect(digests.map((d) => d?.revision)).toEqual(Array(this.size).fill(stored.revision));
    expect(digests.map((d) => d?.digest)).toEqual(Array(this.size).fill(expected));
    return { revision: stored.revision, digest: expected };
  }

  /** Every worker's digest of its decisions now. */
  async digests(): Promise<(Extract<FromWorker, { type: "digest" }> | undefined)[]> {
    const marks = this.workers.map((w) => w.messages.length);
    const fresh = (w: Child<FromWorker>, i: number) =>
      w.messages.slice(marks[i]).find((m): m is Extract<FromWorker, { type: "digest" }> => m.type === "digest");
    for (const w of this.workers) w.proc.send({ type: "digest" });
    await until(() => this.workers.every((w, i) => fresh(w, i) !== undefined), BOUND_MS, "digests");
    return this.workers.map(fresh);
  }

  startControllers(rollout: string, plan: RolloutPlan): Child<FromController>[] {
    const pair = ["c1", "c2"].map((id) =>
      spawnChild<FromController>("controller.ts", `${rollout}-${id}`, {
        ...this.env(),
        TURNOUT_CONTROLLER_ID: `${rollout}-${id}`,
        TURNOUT_ROLLOUT: rollout,
        TURNOUT_PLAN: JSON.stringify(plan),
        TURNOUT_MIN_INSTANCES: String(this.size),
      }),
    );
    this.controllers.push(...pair);
    return pair;
  }

  /** The rollout's stored state now. */
  async state(rollout: string): Promise<RolloutState> {
    const key = `{${this.namespace}}:rollout:${rollout}`;
    const reply = list(await this.command(["HMGET", key, "revision", "state"], key), "HMGET");
    return JSON.parse(text(reply[1]) ?? "null") as RolloutState;
  }

  /** The rollout's event stream in Redis: one entry per stored write, in order. */
  async stream(rollout: string): Promise<{ revision: number; events: RolloutEvent[] }[]> {
    const key = `{${this.namespace}}:rollout:${rollout}:events`;
    const entries = list(await retry(() => this.command(["XRANGE", key, "-", "+"], key)), "XRANGE") as [unknown, unknown[]][];
    return entries.map(([, raw]) => {
      const fields = raw.map((f) => text(f) ?? "");
      return {
        revision: Number(fields[fields.indexOf("revision") + 1]),
        events: (JSON.parse(fields[fields.indexOf("entry") + 1] ?? "{}") as { events: RolloutEvent[] }).events,
      };
    });
  }

  /**
   * Every step exactly once in the stored history (state revisions 1, 2, 3, … without a gap or a repeat), promoted
   * once; the controllers reported every step. With `lostWrites` (an acknowledged write may be lost on failover), a
   * controller may have reported a step whose write was lost and then taken it again: the stored history still holds
   * it once.
   */
  async expectEveryStepOnce(rollout: string, pair: Child<FromController>[], steps: number, lostWrites = false): Promise<void> {
    const history = await this.stream(rollout);
    const stateWrites = history.filter((h, i) => i === 0 || h.revision !== history[i - 1]?.revision);
    expect(stateWrites.map((h) => h.revision)).toEqual(Array.from({ length: stateWrites.length }, (_, i) => i + 1));
    const stored = history.flatMap((h) => h.events);
    const range = Array.from({ length: steps }, (_, i) => i);
    expect(stored.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual(range);
    expect(stored.filter((e) => e.type === "promoted")).toHaveLength(1);
    const reported = eventsOf(pair).map((r) => r.event);
    const reportedSteps = reported
      .filter((e) => e.type === "step")
      .map((e) => e.stepIndex)
      .sort((a, b) => a - b);
    if (lostWrites) expect([...new Set(reportedSteps)]).toEqual(range);
    else expect(reportedSteps).toEqual(range);
    if (!lostWrites) expect(reported.filter((e) => e.type === "promoted")).toHaveLength(1);
  }
}

export function eventsOf(pair: Child<FromController>[]): { controller: string; event: RolloutEvent }[] {
  return pair.flatMap((c) => c.messages.filter((m): m is Extract<FromController, { type: "event" }> => m.type === "event"));
}

/** Retries a read that may meet a failover in progress (the cluster or Sentinel moving the primary). */
export async function retry<T>(read: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

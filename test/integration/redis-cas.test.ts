/**
 * Property and model tests of the compare-and-set protocol, against a real redis-server:
 * - a model: on one connection Redis runs commands in the order they were sent, so a register model updated at send
 *   time predicts every reply exactly — for any pipelining of reads, fresh writes, stale writes and invalid configs;
 * - concurrent writers on separate connections: whatever the interleaving, the successful writes form one gapless
 *   chain of revisions, each replacing exactly the revision its writer expected, and the last one is what is stored;
 * - concurrent rollout controllers and operators: the stored event stream is a linear history that the pure machine
 *   replays to exactly the stored state — no step taken twice, none lost.
 */
import fc from "fast-check";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { type RedisStore, type WriteResult, createRedisStore } from "../../src/integrations/redis.js";
import { Keys, Link } from "../../src/integrations/redis/link.js";
import { type Connection, connectionFor } from "../../src/integrations/redis/client.js";
import { ROLLOUT_CAS } from "../../src/integrations/redis/scripts.js";
import { compilePlan, initialState, transition } from "../../src/rollout/index.js";
import type { Health, RolloutCommand, RolloutEvent, RolloutPlan, RolloutState } from "../../src/rollout/types.js";
import type { RouterConfig } from "../../src/types.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();
const silent = { warn: () => undefined, error: () => undefined };

const config = (n: number): RouterConfig => ({
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 100 - (n % 101), v2: n % 101 },
  salt: `w${n}`,
});
const invalid = { versions: ["v1"], stable: "v9" } as unknown as RouterConfig;

describe.skipIf(!available)("compare-and-set against redis-server", () => {
  let server: RedisServer;
  const clients: ReturnType<typeof createClient>[] = [];
  let counter = 0;

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.dispose();
  });

  async function connect(): Promise<ReturnType<typeof createClient>> {
    const c = createClient({ url: server.url });
    c.on("error", () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  }

  type Op =
    | { readonly writer: number; readonly kind: "read" }
    | { readonly writer: number; readonly kind: "write"; readonly stale: number }
    | { readonly writer: number; readonly kind: "invalid" };
  const opArb = (writers: number): fc.Arbitrary<Op> =>
    fc.oneof(
      fc.record({ writer: fc.nat(writers - 1), kind: fc.constant("read" as const) }),
      fc.record({
        writer: fc.nat(writers - 1),
        kind: fc.constant("write" as const),
        stale: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -2, max: 3 })),
      }),
      fc.record({ writer: fc.nat(writers - 1), kind: fc.constant("invalid" as const) }),
    );

  it("a register model predicts every reply, for any pipelining of reads, fresh and stale writes and invalid configs", async () => {
    const c = await connect();
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb(3), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
        async (ops, batchSizes) => {
          const store = createRedisStore(c, { namespace: `model-${++counter}`, logger: silent });
          await store.writeConfig(config(0), { expectedRevision: 0 }); // loads the script: later calls keep their send order
          const model = { revision: 1, config: config(0) };
          const seen = [1, 1, 1];
          let n = 0;
          let i = 0;
          for (let b = 0; i < ops.length; b++) {
            const size = batchSizes[b % batchSizes.length] ?? 1;
            const batch = ops.slice(i, i + size);
            i += size;
            const checks: Promise<void>[] = [];
            const replies: (() => void)[] = [];
            for (const op of batch) {
              // Everything below runs synchronously up to the send: the model changes in send order.
              if (op.kind === "read") {
                const expected = { ...model };
                checks.push(
                  store.readConfig().then((doc) => {
                    expect(doc?.revision).toBe(expected.revision);
                    expect(doc?.config).toEqual(expected.config);
                    replies.push(() => (seen[op.writer] = expected.revision));
                  }),
                );
              } else if (op.kind === "invalid") {
                checks.push(expect(store.writeConfig(invalid, { expectedRevision: model.revision })).rejects.toSatisfy(isTurnoutConfigError));
              } else {
                const expectedRevision = Math.max(0, (seen[op.writer] ?? 0) - op.stale);
                const next = config(++n);
                let predicted: WriteResult;
                if (expectedRevision === model.revision) {
                  model.revision += 1;
                  model.config = next;
                  predicted = { written: true, revision: model.revision, updatedAt: 0 };
                } else {
                  predicted = { written: false, revision: model.revision };
                }
                checks.push(
                  store.writeConfig(next, { expectedRevision }).then((result) => {
                    expect({ ...result, ...(result.written ? { updatedAt: 0 } : {}) }).toEqual(predicted);
                    if (result.written) replies.push(() => (seen[op.writer] = result.revision));
                  }),
                );
              }
            }
            await Promise.all(checks);
            for (const reply of replies) reply();
          }
          const stored = await store.readConfig();
          expect(stored?.revision).toBe(model.revision);
          expect(stored?.config).toEqual(model.config);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it("concurrent writers on separate connections: one gapless chain of revisions, each replacing the one its writer expected", async () => {
    const connections = await Promise.all([connect(), connect(), connect(), connect()]);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.record({ stale: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })), delayMs: fc.integer({ min: 0, max: 3 }) }), {
          minLength: 2,
          maxLength: 12,
        }),
        async (writerCount, plan) => {
          const namespace = `race-${++counter}`;
          const stores: RedisStore[] = connections.slice(0, writerCount).map((c) => createRedisStore(c, { namespace, logger: silent }));
          await stores[0]!.writeConfig(config(0), { expectedRevision: 0 });
          const outcomes: { expected: number; result: WriteResult; n: number }[] = [];
          let n = 0;
          await Promise.all(
            stores.map(async (store) => {
              for (const step of plan) {
                await new Promise((r) => setTimeout(r, step.delayMs));
                const current = await store.readConfig();
                const expected = Math.max(0, (current?.revision ?? 0) - step.stale);
                const mine = ++n;
                outcomes.push({ expected, result: await store.writeConfig(config(mine), { expectedRevision: expected }), n: mine });
              }
            }),
          );
          const written = outcomes.filter((o) => o.result.written).sort((a, b) => a.result.revision - b.result.revision);
          expect(written.map((o) => o.result.revision)).toEqual(written.map((_, i) => i + 2)); // gapless after revision 1
          for (const o of written) expect(o.result.revision).toBe(o.expected + 1);
          for (const o of outcomes.filter((x) => !x.result.written)) expect(o.result.revision).not.toBe(o.expected);
          const stored = await stores[0]!.readConfig();
          expect(stored?.revision).toBe(1 + written.length);
          expect(stored?.config).toEqual(written.length === 0 ? config(0) : config(written.at(-1)!.n));
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("concurrent controllers and operators: the stored history replays through the pure machine to the stored state", async () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 10, pause: 40 },
        { weight: 30, pause: 40 },
        { weight: 60, pause: 40 },
      ],
      rollback: "stepped",
      rollbackInterval: 20,
    };
    const compiled = compilePlan(plan);
    const connections = await Promise.all([connect(), connect(), connect()]);
    const commandArb: fc.Arbitrary<RolloutCommand> = fc.oneof(
      fc.constant({ type: "start" as const }),
      fc.constant({ type: "pause" as const }),
      fc.constant({ type: "resume" as const }),
      fc.constant({ type: "promote" as const }),
      fc.constant({ type: "abort" as const, reason: "operator says no" }),
      fc.constant({ type: "retry" as const }),
      fc.constant({ type: "promoteFull" as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(commandArb, fc.integer({ min: 0, max: 25 })), { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 3 }),
        async (operators) => {
          const namespace = `replay-${++counter}`;
          const base = createRedisStore(connections[0]!, { namespace, logger: silent });
          await base.writeConfig({ versions: ["v1", "v2"], stable: "v1", canary: "v2" }, { expectedRevision: 0 });
          // Two leaders compete for the lease and tick; the operators send commands from their own connections.
          const leaders = [0, 1].map((i) =>
            createRedisStore(connections[i]!, { namespace, logger: silent }).controlRollout(compiled, {
              id: `leader-${i}`,
              leaseMs: 200,
              renewMs: 20,
              onError: () => undefined,
            }),
          );
          await base.controlRollout(compiled, { lead: false }).start();
          await Promise.all(
            operators.map(async (commands, i) => {
              const operator = createRedisStore(connections[i % connections.length]!, { namespace, logger: silent }).controlRollout(compiled, {
                lead: false,
                id: `op-${i}`,
                onError: () => undefined,
              });
              for (const [command, delayMs] of commands) {
                await new Promise((r) => setTimeout(r, delayMs));
                await operator.command(command);
              }
            }),
          );
          await new Promise((r) => setTimeout(r, 60));
          await Promise.all(leaders.map((l) => l.close()));
          const [revisionText, stateText] = (await connections[0]!.hmGet(`{${namespace}}:rollout:default`, ["revision", "state"])) as [string, string];
          const stored = JSON.parse(stateText) as RolloutState;
          const entries = (await connections[0]!.sendCommand(["XRANGE", `{${namespace}}:rollout:default:events`, "-", "+"])) as [string, string[]][];
          let state = initialState(compiled);
          for (const [, fields] of entries) {
            const revision = Number(fields[fields.indexOf("revision") + 1]);
            const entry = JSON.parse(fields[fields.indexOf("entry") + 1] ?? "{}") as {
              command: RolloutCommand | { type: "reconcile" };
              at: number;
              health?: Health;
              events: RolloutEvent[];
            };
            if (entry.command.type === "reconcile") continue;
            const replayed = transition(compiled, state, entry.command as RolloutCommand, entry.at, entry.health);
            expect(replayed.accepted).toBe(true);
            expect(replayed.state.revision).toBe(revision);
            expect(replayed.events).toEqual(entry.events);
            state = replayed.state;
          }
          expect(state).toEqual(stored);
          expect(state.revision).toBe(Number(revisionText));
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it("fencing: a leader that lost its lease cannot write, even with the right state revision", async () => {
    const c = await connect();
    const namespace = `fence-${++counter}`;
    const keys = new Keys(namespace);
    const rollout = keys.rollout("default");
    const link = new Link(connectionFor(c, 2000) as Connection, 2000);
    const state = JSON.stringify({ revision: 1 });
    const cas = (token: string, expected: number, revision: number) =>
      link.eval(
        ROLLOUT_CAS,
        [rollout.state, rollout.lease, keys.config, rollout.events],
        [token, String(expected), state, String(revision), "nonce", "", "", keys.configChannel, "", "10", "test"],
      );
    await c.set(rollout.lease, "old-leader", { PX: 50 });
    expect(await cas("old-leader", 0, 1)).toEqual([1, 1, 0]);
    await new Promise((r) => setTimeout(r, 80)); // the old leader stalls past its lease; a new one takes it
    expect(await c.set(rollout.lease, "new-leader", { PX: 5000, NX: true })).toBe("OK");
    expect(await cas("old-leader", 1, 2)).toEqual([-1]);
    expect(await cas("new-leader", 0, 1)).toEqual([0, 1]); // a stale revision is refused too
    expect(await cas("new-leader", 1, 2)).toEqual([1, 2, 0]);
    expect(await c.hGet(rollout.state, "revision")).toBe("2");
  });
  it("a rollout write whose config changed in between is refused with the stored config revision, writing nothing (regression: never tested)", async () => {
    const c = await connect();
    const namespace = `config-conflict-${++counter}`;
    const keys = new Keys(namespace);
    const rollout = keys.rollout("default");
    const link = new Link(connectionFor(c, 2000) as Connection, 2000);
    const stored = JSON.stringify(config(1));
    await c.hSet(keys.config, { revision: "3", config: stored, sha: "x", updatedAt: "0", writer: "operator" });
    const cas = (expectedConfig: number, next: RouterConfig) =>
      link.eval(
        ROLLOUT_CAS,
        [rollout.state, rollout.lease, keys.config, rollout.events],
        ["", "0", JSON.stringify({ revision: 1 }), "1", "nonce", String(expectedConfig), JSON.stringify(next), keys.configChannel, "", "10", "controller"],
      );
    // The controller read config revision 2; an operator has since written revision 3.
    expect(await cas(2, config(50))).toEqual([-2, 3]);
    expect(await c.hGetAll(keys.config)).toMatchObject({ revision: "3", config: stored, writer: "operator" });
    expect(await c.hGet(rollout.state, "revision")).toBeNull(); // the state was not written either
    // With the revision it read, the same write goes through: config revision 4, state revision 1.
    expect(await cas(3, config(50))).toEqual([1, 1, 4]);
    expect(await c.hGetAll(keys.config)).toMatchObject({ revision: "4", config: JSON.stringify(config(50)), writer: "controller" });
  });
});

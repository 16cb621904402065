// Benchmarks of turnout/redis. Timings are printed, never asserted.
//
//   node --import tsx bench/redis.ts                 # everything (needs redis-server on PATH; .ci/redis.sh installs it)
//   node --import tsx bench/redis.ts --only=propagation|decide
//   node --import tsx bench/redis.ts --traffic       # the workers also serve synthetic traffic while changes propagate
//   node --import tsx bench/redis.ts --only=propagation --matrix=single:ioredis@6,cluster:node-redis@6
//
// (1) Propagation, per client library and topology (one server; a cluster of 3 primaries + 3 replicas; a primary +
//     replica under 3 Sentinels — all local): 4 worker processes (router + watchConfig + publishStats, as in the
//     fleet test). 100 config changes, one after the other; for each, the time from just before writeConfig is
//     called to the moment the last worker has the new revision in force (each worker stamps its apply with
//     Date.now(); one machine, one clock). p50/p99/max. Then 20 changes with the subscription off: the poll alone.
// (2) decide() on a router kept in sync by the store (subscribed, polling every 50 ms, pushing stats every 100 ms)
//     vs a plain router with the same config: mitata ns/op, interleaved; then a server-like loop (batches of 10,000
//     decisions with the event loop turning between batches, so the store's timers and socket reads do run).

import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { createClient } from "redis";
import { type ClientKind, type Target, connectClient } from "../test/integration/redis/clients.js";
import { startCluster, startSentinels } from "../test/integration/redis/topology.js";
import { createRedisStore } from "../src/integrations/redis.js";
import { createRouter } from "../src/router/index.js";
import { createStats } from "../src/stats/index.js";
import type { RouterConfig } from "../src/types.js";
import type { FromWorker } from "../test/integration/redis/protocol.js";
import { redisServerPath, startRedis } from "../test/integration/redis/server.js";

const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
const traffic = process.argv.includes("--traffic");
if (redisServerPath() === undefined) {
  console.error("bench/redis.ts needs redis-server on PATH (Debian: apt-get install -y redis-server, or bash .ci/redis.sh)");
  process.exit(1);
}

const base: RouterConfig = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 }, stickiness: ["header:x-user-id", "key"] };

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
function summarise(label: string, ms: number[]): void {
  const s = [...ms].sort((a, b) => a - b);
  const f = (x: number) => `${x.toFixed(2)} ms`;
  console.log(
    `${label.padEnd(72)} n=${s.length}  p50 ${f(quantile(s, 0.5))}  p90 ${f(quantile(s, 0.9))}  p99 ${f(quantile(s, 0.99))}  max ${f(s.at(-1) ?? NaN)}`,
  );
}

type Topology = "single" | "cluster" | "sentinel";
const DEFAULT_MATRIX = "single:node-redis@5,single:node-redis@6,single:ioredis@6,single:ioredis@5,cluster:node-redis@6,cluster:ioredis@6,sentinel:ioredis@6";
const matrix = (process.argv.find((a) => a.startsWith("--matrix="))?.slice(9) ?? DEFAULT_MATRIX)
  .split(",")
  .map((cell) => cell.split(":") as [Topology, ClientKind]);

async function propagation(): Promise<void> {
  for (const topology of ["single", "cluster", "sentinel"] as const) {
    const kinds = matrix.filter(([t]) => t === topology).map(([, k]) => k);
    if (kinds.length === 0) continue;
    const started = topology === "single" ? await startRedis() : topology === "cluster" ? await startCluster() : await startSentinels();
    const target: Target =
      "url" in started
        ? { type: "single", url: started.url }
        : "primaryFor" in started
          ? { type: "cluster", ports: started.ports }
          : { type: "sentinel", name: started.name, ports: started.sentinels.map((x) => x.port) };
    try {
      for (const kind of kinds) {
        const runs: [string, boolean, number, number][] = [[`${topology}, ${kind}: pub/sub + poll 250 ms`, true, 100, 250]];
        if (topology === "single" && kind === kinds[0]) runs.push([`${topology}, ${kind}: poll only (250 ms)`, false, 20, 250]);
        for (const run of runs) await propagate(kind, target, ...run);
      }
    } finally {
      await started.dispose();
    }
  }
}

async function propagate(kind: ClientKind, target: Target, label: string, subscribe: boolean, changes: number, pollMs: number): Promise<void> {
  const { client, close } = await connectClient(kind, target);
  const workers: { proc: ChildProcess; applied: Map<number, number> }[] = [];
  try {
    {
      const namespace = `bench-${label.replace(/\W+/g, "-")}`;
      const store = createRedisStore(client, { namespace });
      let revision = (await store.writeConfig(base, { expectedRevision: 0 })).revision;
      for (let i = 0; i < 4; i++) {
        const proc = fork(join(import.meta.dirname, "..", "test", "integration", "redis", "worker.ts"), [], {
          execArgv: ["--import", "tsx"],
          env: {
            ...process.env,
            TURNOUT_WORKER_ID: `w${i}`,
            TURNOUT_REDIS_CLIENT: kind,
            TURNOUT_REDIS_TARGET: JSON.stringify(target),
            TURNOUT_NAMESPACE: namespace,
            TURNOUT_TRAFFIC: traffic ? "1" : "0",
            TURNOUT_SUBSCRIBE: subscribe ? "1" : "0",
            TURNOUT_POLL_MS: String(pollMs),
          },
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        const worker = { proc, applied: new Map<number, number>() };
        proc.on("message", (m: FromWorker) => {
          if (m.type === "applied") worker.applied.set(m.revision, m.at);
          if (m.type === "ready") worker.applied.set(m.revision, Date.now());
        });
        workers.push(worker);
      }
      const fleet = workers.slice(-4);
      while (!fleet.every((w) => w.applied.has(revision))) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300)); // subscriptions settle
      const lastWorker: number[] = [];
      const eachWorker: number[] = [];
      for (let c = 0; c < changes; c++) {
        const next: RouterConfig = { ...base, split: { v1: 90 - (c % 50), v2: 10 + (c % 50) } };
        const t0 = Date.now();
        const result = await store.writeConfig(next, { expectedRevision: revision });
        if (!result.written) throw new Error("unexpected conflict");
        revision = result.revision;
        const deadline = Date.now() + 10_000;
        while (!fleet.every((w) => w.applied.has(revision))) {
          if (Date.now() > deadline) throw new Error(`revision ${revision} did not reach every worker in 10 s`);
          await new Promise((r) => setTimeout(r, 1));
        }
        const stamps = fleet.map((w) => (w.applied.get(revision) as number) - t0);
        lastWorker.push(Math.max(...stamps));
        eachWorker.push(...stamps);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 20)); // unaligned with the poll
      }
      summarise(`write → last of 4 workers (${label})`, lastWorker);
      for (const w of fleet) w.proc.send({ type: "stop" });
      await Promise.all(fleet.map((w) => new Promise((r) => (w.proc.exitCode !== null ? r(undefined) : w.proc.once("exit", r)))));
    }
  } finally {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
    await close();
  }
}

async function decideCost(): Promise<void> {
  const server = await startRedis();
  const client = createClient({ url: server.url });
  client.on("error", () => undefined);
  await client.connect();
  // mitata keeps the event loop busy for seconds: a long command timeout keeps its pauses from reading as Redis faults.
  const store = createRedisStore(client, { namespace: "bench-decide", commandTimeoutMs: 30_000 });
  const { revision } = await store.writeConfig(base, { expectedRevision: 0 });
  const plain = createRouter(base, { revision });
  const synced = createRouter({ ...base, split: { v1: 100 } });
  const sync = store.watchConfig(synced, { pollMs: 50 });
  await sync.ready;
  const stats = createStats({ versions: ["v1", "v2"] });
  const publisher = store.publishStats(stats, { instance: "bench", intervalMs: 100 });
  if (synced.revision !== plain.revision || JSON.stringify(synced.config) !== JSON.stringify(plain.config))
    throw new Error("the synced router is not on the stored config");

  const keys = Array.from({ length: 4096 }, (_, i) => ({ headers: { "x-user-id": `user-${i}` } }));
  // Two plain routers: their difference is the noise floor of this machine (JIT, scheduling, other load).
  const control = createRouter(base, { revision });
  const routers = { plain: plain, "plain (control)": control, synced: synced } as const;
  const names = Object.keys(routers) as (keyof typeof routers)[];
  let i = 0;
  let j = 0;
  let k = 0;
  summary(() => {
    group("decide (keyed, header key), mitata", () => {
      bench("plain router", () => do_not_optimize(plain.decide(keys[i++ & 4095]!)));
      bench("plain router (control)", () => do_not_optimize(control.decide(keys[k++ & 4095]!)));
      bench("router synced by turnout/redis", () => do_not_optimize(synced.decide(keys[j++ & 4095]!)));
    });
  });
  await run({ colors: false });

  // Server-like: the event loop turns between batches, so the store's poll timer, pushes and replies interleave.
  const before = String(await client.sendCommand(["INFO", "commandstats"]));
  const batch = 10_000;
  const rounds = 300;
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, x) => names[(x + r) % names.length] as keyof typeof routers);
    for (const name of order) {
      const router = routers[name];
      const t = process.hrtime.bigint();
      for (let n = 0; n < batch; n++) sink += router.decide(keys[n & 4095]!).version.length;
      perRound[name]?.push(Number(process.hrtime.bigint() - t) / batch);
      await turn();
    }
    if (r % 10 === 0) await new Promise((res) => setTimeout(res, 2)); // let timers fire
  }
  const after = String(await client.sendCommand(["INFO", "commandstats"]));
  const calls = (text: string, cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
  console.log(`server-like loop: ${rounds} rounds × ${batch} decisions per router, order rotated each round; ns/decide (median, p10–p90 of rounds):`);
  for (const name of names) {
    const sorted = [...(perRound[name] ?? [])].sort((a, b) => a - b);
    console.log(`  ${name.padEnd(18)} ${quantile(sorted, 0.5).toFixed(1)} ns  (${quantile(sorted, 0.1).toFixed(1)}–${quantile(sorted, 0.9).toFixed(1)})`);
  }
  console.log(
    `  Redis commands during the loop: HMGET ${calls(after, "hmget") - calls(before, "hmget")}, EVALSHA ${calls(after, "evalsha") - calls(before, "evalsha")} (the store was live)  [sink ${sink % 10}]`,
  );
  await publisher.close();
  await sync.close();
  await client.close();
  await server.dispose();
}

console.log(
  `turnout/redis bench — node ${process.version}, ${(await import("node:os")).cpus().length} cores${traffic ? ", workers serve synthetic traffic" : ""}`,
);
if (only === undefined || only === "propagation") await propagation();
if (only === undefined || only === "decide") await decideCost();

/**
 * A measurement, not a test: the latency the proxy adds, and whether a hanging mirror changes the primary's latency.
 *
 *   npx tsx test/integration/measure-proxy.ts [--rate=400] [--seconds=5] [--rounds=2]
 *
 * Three processes on 127.0.0.1: upstreams (v1, and a "mirror" v2 that accepts connections and never answers),
 * proxies (`createProxy` without shadow traffic, with 100 % mirrored to the hanging v2, and — as the floor — a bare
 * 10-line node:http pipe proxy), and this one, an
 * open-loop load generator: request i is due at t0 + i / rate whatever happened before, and its latency counts from
 * when it was due, so a stall shows up in the percentiles (no coordinated omission). The paths — direct, bare
 * proxy, proxy, proxy + hanging mirror — take turns in every round, so a slow moment of the shared machine is spread
 * over all of them. Prints one JSON line per path (latency percentiles, what the proxy adds over direct, and the
 * proxy process's CPU time per request, which a busy machine disturbs less than wall-clock percentiles) and the
 * mirror counters.
 */
import { fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";

const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice(7);
const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = hit === undefined ? Number.NaN : Number(hit.slice(name.length + 3));
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

async function upstreamsRole(): Promise<void> {
  const body = JSON.stringify({
    users: [
      { id: 1, name: "Ada" },
      { id: 2, name: "Grace" },
    ],
  });
  const v1 = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body));
  });
  v1.keepAliveTimeout = 60_000;
  const hanging = http.createServer(() => undefined); // never answers
  process.send?.({ v1: await listen(v1), hanging: await listen(hanging) });
  process.on("disconnect", () => process.exit(0));
}

async function proxiesRole(v1: number, hanging: number): Promise<void> {
  const { createRouter } = await import("../../src/router/index.js");
  const { createProxy } = await import("../../src/integrations/node.js");
  const silent = { warn() {}, error() {} };
  const base = { versions: ["v1", "v2"], stable: "v1", split: { v1: 100 }, stickiness: ["header:x-user-id" as const] };
  const upstreams = { v1: `http://127.0.0.1:${v1}`, v2: `http://127.0.0.1:${hanging}` };
  const plain = createProxy(createRouter(base), { upstreams, logger: silent });
  const mirrored = createProxy(createRouter({ ...base, mirror: { version: "v2", percent: 100 } }), {
    upstreams,
    logger: silent,
    // The defaults: 64 copies in flight at most, each abandoned after 10 s.
  });
  // The floor: the least a Node reverse proxy does (no decision, no header hygiene, no timeouts, no stats).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const bare = http.createServer((req, res) => {
    const forward = http.request({ host: "127.0.0.1", port: v1, path: req.url, method: req.method, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(forward);
  });
  const ports = {
    plain: await listen(http.createServer(plain)),
    mirrored: await listen(http.createServer(mirrored)),
    bare: await listen(bare),
  };
  process.send?.(ports);
  process.on("message", () => process.send?.({ counters: { ...mirrored.counters }, cpu: process.cpuUsage() }));
  process.on("disconnect", () => process.exit(0));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Open-loop load at `rate` per second for `seconds` against `port`; latencies in ms from the due time. */
async function load(port: number, rate: number, seconds: number, agent: http.Agent): Promise<{ latencies: number[]; errors: number }> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now() + 20;
  await new Promise<void>((resolve) => {
    let done = 0;
    const finish = (): void => {
      if (++done === total) resolve();
    };
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) {
        const due = t0 + (next * 1000) / rate;
        next++;
        const req = http.request({ port, host: "127.0.0.1", path: "/users", agent, headers: { "x-user-id": `u${next % 1000}` } }, (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.push(performance.now() - due);
            else errors++;
            finish();
          });
        });
        req.on("error", () => (errors++, finish()));
        req.end();
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + (next * 1000) / rate - performance.now()));
    };
    tick();
  });
  return { latencies, errors };
}

async function main(): Promise<void> {
  const rate = arg("rate", 400);
  const seconds = arg("seconds", 5);
  const rounds = arg("rounds", 2);
  const self = fileURLToPath(import.meta.url);
  const spawn = (role: string, ...extra: string[]) => fork(self, [`--role=${role}`, ...extra], { execArgv: process.execArgv });
  const upstreams = spawn("upstreams");
  const { v1, hanging } = await new Promise<{ v1: number; hanging: number }>((resolve) => upstreams.once("message", resolve as never));
  const proxies = spawn("proxies", String(v1), String(hanging));
  const ports = await new Promise<{ plain: number; mirrored: number; bare: number }>((resolve) => proxies.once("message", resolve as never));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const paths = { direct: v1, "bare node proxy": ports.bare, proxy: ports.plain, "proxy + hanging mirror": ports.mirrored } as const;
  const ask = () => {
    proxies.send("counters");
    return new Promise<{ counters: Record<string, number>; cpu: NodeJS.CpuUsage }>((resolve) => proxies.once("message", resolve as never));
  };
  const results: Record<string, { latencies: number[]; errors: number; proxyCpuUs: number }> = {};
  for (const port of Object.values(paths)) await load(port, rate, 0.5, agent); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const [name, port] of Object.entries(paths)) {
      const before = (await ask()).cpu;
      const { latencies, errors } = await load(port, rate, seconds, agent);
      const after = (await ask()).cpu;
      const entry = (results[name] ??= { latencies: [], errors: 0, proxyCpuUs: 0 });
      entry.latencies.push(...latencies);
      entry.errors += errors;
      entry.proxyCpuUs += after.user + after.system - before.user - before.system;
    }
  }
  const direct = [...(results.direct?.latencies ?? [])].sort((a, b) => a - b);
  for (const [name, { latencies, errors, proxyCpuUs }] of Object.entries(results)) {
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    console.log(
      JSON.stringify({
        path: name,
        rate,
        requests: sorted.length,
        errors,
        p50Ms: +p50.toFixed(3),
        p99Ms: +p99.toFixed(3),
        addedP50Ms: +(p50 - quantile(direct, 0.5)).toFixed(3),
        addedP99Ms: +(p99 - quantile(direct, 0.99)).toFixed(3),
        proxyCpuUsPerRequest: name === "direct" ? 0 : Math.round(proxyCpuUs / Math.max(1, sorted.length + errors)),
      }),
    );
  }
  const { counters } = await ask();
  console.log(JSON.stringify({ mirrorCounters: counters }));
  agent.destroy();
  upstreams.disconnect();
  proxies.disconnect();
}

if (ROLE === "upstreams") void upstreamsRole();
else if (ROLE === "proxies") void proxiesRole(Number(process.argv[3]), Number(process.argv[4]));
else void main();

/**
 * What turnout's adapters cost per request, each against the same bare framework app, in one run:
 *
 *   tsx bench/adapters.ts [--seconds=3] [--connections=32] [--rounds=2] [--only=decide|fastify|hono|proxy]
 *                         [--from=dist] [--baseline=REPO] [--profile=DIR]
 *
 * - Fastify with the turnout plugin vs bare Fastify, Hono (on @hono/node-server) with the turnout middleware vs
 *   bare Hono: throughput loss and added p99 (goal: at most 5 % each), the server's CPU time and bytes allocated
 *   per request. A second baseline sets the same two response headers by hand (`-hand`): what any hook or
 *   middleware that sets headers costs in that framework; a third does nothing at all (`-noop`): what the framework
 *   charges any hook or middleware.
 * - `--from=dist` measures the built package (`npm run build` first; plain JavaScript, readable profiles);
 *   `--baseline=REPO` adds the built package of another checkout (REPO/dist) as a fourth side (`-baseline`):
 *   before and after in one run. `--profile=DIR` writes a CPU profile of each server to DIR/<side>/.
 * - The fetch proxy (`createFetchProxy` served by @hono/node-server) vs the node:http proxy (`createProxy`), same
 *   upstream, same load: throughput, p50, p99.
 * - ns per decision from a Web `Request` (`router.decide(routeRequest(request))`) vs from a plain object.
 *
 * Each server runs in a process of its own on 127.0.0.1; autocannon loads it from this process. Pairs are measured
 * in alternation (`--rounds` times each), so a slow moment of a shared machine is split between both sides.
 */
import { fork, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createRouter } from "../src/router/index.js";
import type { RouterConfig } from "../src/types.js";
import type * as Core from "../src/index.js";
import type * as FastifyIntegration from "../src/integrations/fastify.js";
import type * as HonoIntegration from "../src/integrations/hono.js";
import type * as FetchIntegration from "../src/integrations/fetch.js";
import type * as NodeIntegration from "../src/integrations/node.js";

const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice("--role=".length);
const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = hit === undefined ? Number.NaN : Number(hit.slice(name.length + 3));
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const CONFIG: RouterConfig = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 50, v2: 50 }, stickiness: ["header:x-user-id"] };
const BODY = {
  users: [
    { id: 1, name: "Ada" },
    { id: 2, name: "Grace" },
  ],
};

/** What turnout sets on the bench's responses (this config, a sticky key): the version and the pin. */
const HAND_HEADERS = [
  ["x-api-version", "v1"],
  ["x-turnout-pin", "v1~1~tpepnp~3a6c153b3b029efd"],
] as const;

async function serveNode(listener: http.RequestListener): Promise<number> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Where a server loads turnout from: `--dist=DIR` (a baseline's build), the built package (`--from=dist`), else the sources. */
function source(entry: "index" | "fastify" | "hono" | "fetch" | "node"): string {
  const dist = process.argv.find((a) => a.startsWith("--dist="))?.slice("--dist=".length);
  if (dist !== undefined) return path.join(dist, `${entry}.js`);
  if (process.argv.includes("--from=dist")) return new URL(`../dist/${entry}.js`, import.meta.url).href;
  return entry === "index" ? "../src/index.js" : `../src/integrations/${entry}.js`;
}

async function role(kind: string): Promise<number> {
  // The router comes from the same build as the adapter: an adapter knows its own build's routers only.
  const router = ((await import(source("index"))) as typeof Core).createRouter(CONFIG);
  const upstream = process.argv.find((a) => a.startsWith("--upstream="))?.slice("--upstream=".length) ?? "";
  switch (kind) {
    case "upstream": {
      const text = JSON.stringify(BODY);
      return serveNode((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      });
    }
    case "fastify-bare":
    case "fastify-noop":
    case "fastify-hand":
    case "fastify-turnout": {
      const { default: Fastify } = await import("fastify");
      const { turnout } = (await import(source("fastify"))) as typeof FastifyIntegration;
      const app = Fastify();
      if (kind === "fastify-turnout") await app.register(turnout(router));
      if (kind === "fastify-noop") {
        // A hook that does nothing: what Fastify charges any plugin with a request hook.
        app.addHook("onRequest", (_request, _reply, done) => done());
      }
      if (kind === "fastify-hand") {
        // The same response headers set by hand in the hook turnout sets them in (onRequest, so that they go on every
        // reply, error replies included): what any plugin that does so costs.
        app.addHook("onRequest", (_request, reply, done) => {
          for (const [name, value] of HAND_HEADERS) reply.header(name, value);
          done();
        });
      }
      app.get("/users", async () => BODY);
      await app.listen({ port: 0, host: "127.0.0.1" });
      return (app.server.address() as AddressInfo).port;
    }
    case "hono-bare":
    case "hono-noop":
    case "hono-hand":
    case "hono-turnout": {
      const { Hono } = await import("hono");
      const { getRequestListener } = await import("@hono/node-server");
      const { turnout } = (await import(source("hono"))) as typeof HonoIntegration;
      const app = new Hono();
      if (kind === "hono-turnout") app.use(turnout(router));
      if (kind === "hono-noop") {
        // A middleware that does nothing: what Hono charges any middleware (its handlers then run as a promise chain).
        app.use(async (_c, next) => {
          await next();
        });
      }
      if (kind === "hono-hand") {
        // A middleware that sets the same response headers by hand, as Hono's own middlewares do: what any
        // middleware (Hono's async path) and any header (a Headers object instead of a plain one) cost.
        app.use(async (c, next) => {
          await next();
          for (const [name, value] of HAND_HEADERS) c.res.headers.set(name, value);
        });
      }
      app.get("/users", (c) => c.json(BODY));
      return serveNode(getRequestListener(app.fetch));
    }
    case "fetch-proxy": {
      const { getRequestListener } = await import("@hono/node-server");
      const { createFetchProxy } = (await import(source("fetch"))) as typeof FetchIntegration;
      return serveNode(getRequestListener(createFetchProxy(router, { upstreams: { v1: upstream, v2: upstream } })));
    }
    case "node-proxy": {
      const { createProxy } = (await import(source("node"))) as typeof NodeIntegration;
      return serveNode(createProxy(router, { upstreams: { v1: upstream, v2: upstream } }));
    }
    default:
      throw new Error(`unknown role ${kind}`);
  }
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

const PROFILE = process.argv.find((a) => a.startsWith("--profile="))?.slice("--profile=".length);

/** A server process; `allocated` sums what V8's garbage collections report (`--trace-gc-nvp`) as allocated since the one before. */
interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  allocated: number;
}

const BASELINE = process.argv.find((a) => a.startsWith("--baseline="))?.slice("--baseline=".length);

function start(side: string, upstream = ""): Promise<Server> {
  // With --profile=DIR each server writes a CPU profile of its whole life (warm-up and rounds) to DIR/<side>/ as it exits.
  const profile = PROFILE === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE}/${side}`];
  const baseline = side.endsWith("-baseline") && BASELINE !== undefined;
  const kind = baseline ? side.replace(/-baseline$/, "-turnout") : side;
  const from = baseline ? [`--dist=${path.resolve(BASELINE, "dist")}`] : process.argv.includes("--from=dist") ? ["--from=dist"] : [];
  const child = fork(fileURLToPath(import.meta.url), [`--role=${kind}`, `--upstream=${upstream}`, ...from], {
    execArgv: ["--import", "tsx", "--trace-gc-nvp", ...profile],
    stdio: ["inherit", "pipe", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let rest = "";
    const onData = (chunk: Buffer): void => {
      const lines = (rest + chunk.toString("latin1")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const hit = / allocated=(\d+)/.exec(line);
        if (hit !== null) server.allocated += Number(hit[1]);
        else if (!line.includes(" pause=")) console.log(line);
      }
    };
    const server: Server = { child, url: "", allocated: 0 };
    child.stdout?.on("data", onData);
    child.once("message", (message) => resolve(Object.assign(server, { url: `http://127.0.0.1:${(message as { port: number }).port}` })));
    child.once("exit", (code) => reject(new Error(`${side} exited with ${code}`)));
  });
}

/** The CPU time (user + system, µs) the server process has used so far. */
function cpuOf(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.child.once("message", (message) => {
      const { user, system } = message as NodeJS.CpuUsage;
      resolve(user + system);
    });
    server.child.send("cpu");
  });
}

interface Sample extends Run {
  requests: number;
  cpuUs: number;
  allocated: number;
}

async function load(url: string, seconds: number, connections: number): Promise<Run & { requests: number }> {
  const result = await autocannon({ url: `${url}/users`, connections, duration: seconds, headers: { "x-user-id": "user-42" } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

/** One load of `server`, with the CPU time it used and the bytes it allocated meanwhile. */
async function measure(server: Server, seconds: number, connections: number): Promise<Sample> {
  const cpu0 = await cpuOf(server);
  const allocated0 = server.allocated;
  const run = await load(server.url, seconds, connections);
  await new Promise((resolve) => setTimeout(resolve, 100)); // the last collections' trace lines
  return { ...run, cpuUs: (await cpuOf(server)) - cpu0, allocated: server.allocated - allocated0 };
}

const mean = (runs: Run[], key: keyof Run): number => runs.reduce((sum, run) => sum + run[key], 0) / runs.length;
const perRequest = (runs: Sample[], key: "cpuUs" | "allocated"): number =>
  runs.reduce((sum, run) => sum + run[key], 0) / runs.reduce((sum, run) => sum + run.requests, 0);

/**
 * Measures `sides` in alternation, `rounds` times each, and compares every side with the first. Besides the load
 * generator's figures: the server's CPU time per request (less sensitive to a shared machine than throughput) and
 * the bytes it allocated per request (summed from the garbage collections in the rounds, so ± one young generation).
 */
async function group(name: string, sides: readonly string[], upstream: string, seconds: number, connections: number, rounds: number): Promise<void> {
  const servers: Server[] = [];
  try {
    for (const side of sides) servers.push(await start(side, upstream));
    for (const server of servers) await load(server.url, 1, connections); // warm-up
    const runs = sides.map((): Sample[] => []);
    for (let round = 0; round < rounds; round++) {
      // Each round starts with another side, so that a machine speeding up or slowing down favours none.
      for (let k = 0; k < servers.length; k++) {
        const i = (round + k) % servers.length;
        const server = servers[i] as Server;
        runs[i]?.push(await measure(server, seconds, connections));
      }
    }
    const line = (label: string, r: Sample[]): string =>
      `  ${label.padEnd(16)} ${mean(r, "rps").toFixed(0).padStart(7)} req/s   p50 ${mean(r, "p50").toFixed(1).padStart(5)} ms   p99 ${mean(r, "p99").toFixed(1).padStart(5)} ms` +
      `   CPU ${perRequest(r, "cpuUs").toFixed(1).padStart(5)} µs/req   ${perRequest(r, "allocated").toFixed(0).padStart(6)} B/req`;
    console.log(`${name}\n${sides.map((side, i) => line(side, runs[i] ?? [])).join("\n")}`);
    const [base = [], ...others] = runs;
    for (const [i, r] of others.entries()) {
      const loss = 1 - mean(r, "rps") / mean(base, "rps");
      const addedP99 = mean(r, "p99") / mean(base, "p99") - 1;
      const addedCpu = perRequest(r, "cpuUs") - perRequest(base, "cpuUs");
      console.log(
        `  ${sides[i + 1]} vs ${sides[0]}: throughput ${(loss * 100).toFixed(1)} % lower, p99 ${(addedP99 * 100).toFixed(1)} % higher, ` +
          `CPU +${addedCpu.toFixed(1)} µs/req, +${(perRequest(r, "allocated") - perRequest(base, "allocated")).toFixed(0)} B/req`,
      );
      // The same comparison round by round (each side against the bare app of its own round, measured seconds
      // apart): on a machine whose speed drifts, the median of these is steadier than the ratio of the means.
      const paired = (f: (side: Sample, bare: Sample) => number): string => {
        const values = r.map((run, round) => f(run, base[round] as Sample)).sort((a, b) => a - b);
        const at = (q: number): number => values[Math.min(values.length - 1, Math.floor(q * values.length))] as number;
        return `${at(0.5).toFixed(1)} (quartiles ${at(0.25).toFixed(1)} … ${at(0.75).toFixed(1)})`;
      };
      console.log(
        `    round by round, median: throughput ${paired((x, b) => (1 - x.rps / b.rps) * 100)} % lower, ` +
          `p99 ${paired((x, b) => (x.p99 / b.p99 - 1) * 100)} % higher, CPU +${paired((x, b) => x.cpuUs / x.requests - b.cpuUs / b.requests)} µs/req`,
      );
    }
    console.log("");
  } finally {
    await Promise.all(servers.map(({ child }) => new Promise((resolve) => child.once("exit", resolve).kill())));
  }
}

async function decideCost(): Promise<void> {
  const { routeRequest } = await import("../src/integrations/fetch.js");
  const router = createRouter(CONFIG);
  const requests = Array.from({ length: 1024 }, (_, i) => new Request(`http://127.0.0.1/users?page=${i}`, { headers: { "x-user-id": `user-${i}` } }));
  const plain = requests.map((_, i) => ({ headers: { "x-user-id": `user-${i}` }, path: `/users?page=${i}` }));
  const time = (fn: (i: number) => unknown): number => {
    const n = 100_000;
    for (let i = 0; i < 10_000; i++) fn(i & 1023);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i & 1023);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  // Alternated, best of each: a busy moment of a shared machine then spoils both sides alike, and no side keeps it.
  let fromPlain = Number.POSITIVE_INFINITY;
  let fromRequest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 10; round++) {
    fromPlain = Math.min(
      fromPlain,
      time((i) => router.decide(plain[i] as (typeof plain)[number])),
    );
    fromRequest = Math.min(
      fromRequest,
      time((i) => router.decide(routeRequest(requests[i] as Request))),
    );
  }
  console.log(
    `decide: ${fromPlain.toFixed(0)} ns from a plain object, ${fromRequest.toFixed(0)} ns from a Request (routeRequest + decide): ` +
      `${(fromRequest / fromPlain).toFixed(1)}x\n`,
  );
}

async function main(): Promise<void> {
  const seconds = arg("seconds", 3);
  const connections = arg("connections", 32);
  const rounds = arg("rounds", 2);
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  const wanted = (part: string): boolean => only === undefined || only === part;
  console.log(
    `adapters bench: ${seconds}s x ${rounds} rounds per side, ${connections} connections, node ${process.version}, load ${loadavg()[0]?.toFixed(2)}\n`,
  );
  if (wanted("decide")) await decideCost();
  const sides = (framework: string): string[] => [
    `${framework}-bare`,
    `${framework}-noop`,
    `${framework}-hand`,
    `${framework}-turnout`,
    ...(BASELINE !== undefined ? [`${framework}-baseline`] : []),
  ];
  if (wanted("fastify")) await group("Fastify 5", sides("fastify"), "", seconds, connections, rounds);
  if (wanted("hono")) await group("Hono 4 on @hono/node-server", sides("hono"), "", seconds, connections, rounds);
  if (!wanted("proxy")) return;
  const upstream = await start("upstream");
  try {
    await group("Proxies (same upstream)", ["node-proxy", "fetch-proxy"], upstream.url, seconds, connections, rounds);
  } finally {
    upstream.child.kill();
  }
}

if (ROLE !== undefined) {
  process.once("SIGTERM", () => process.exit(0)); // an orderly exit, so that --cpu-prof writes its profile
  process.on("message", () => process.send?.(process.cpuUsage()));
  const port = await role(ROLE);
  process.send?.({ port });
} else {
  await main();
}

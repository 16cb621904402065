/**
 * What turnout's adapters cost per request, each against the same bare framework app, in one run:
 *
 *   tsx bench/adapters.ts [--seconds=3] [--connections=32] [--rounds=2] [--only=decide|fastify|hono|proxy]
 *
 * - Fastify with the turnout plugin vs bare Fastify, Hono (on @hono/node-server) with the turnout middleware vs
 *   bare Hono: throughput loss and added p99 (goal: at most 5 % each).
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
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createRouter } from "../src/router/index.js";
import type { RouterConfig } from "../src/types.js";

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

async function serveNode(listener: http.RequestListener): Promise<number> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function role(kind: string): Promise<number> {
  const router = createRouter(CONFIG);
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
    case "fastify-turnout": {
      const { default: Fastify } = await import("fastify");
      const { turnout } = await import("../src/integrations/fastify.js");
      const app = Fastify();
      if (kind === "fastify-turnout") await app.register(turnout(router));
      app.get("/users", async () => BODY);
      await app.listen({ port: 0, host: "127.0.0.1" });
      return (app.server.address() as AddressInfo).port;
    }
    case "hono-bare":
    case "hono-turnout": {
      const { Hono } = await import("hono");
      const { getRequestListener } = await import("@hono/node-server");
      const { turnout } = await import("../src/integrations/hono.js");
      const app = new Hono();
      if (kind === "hono-turnout") app.use(turnout(router));
      app.get("/users", (c) => c.json(BODY));
      return serveNode(getRequestListener(app.fetch));
    }
    case "fetch-proxy": {
      const { getRequestListener } = await import("@hono/node-server");
      const { createFetchProxy } = await import("../src/integrations/fetch.js");
      return serveNode(getRequestListener(createFetchProxy(router, { upstreams: { v1: upstream, v2: upstream } })));
    }
    case "node-proxy": {
      const { createProxy } = await import("../src/integrations/node.js");
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

function start(kind: string, upstream = ""): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), [`--role=${kind}`, `--upstream=${upstream}`], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, url: `http://127.0.0.1:${(message as { port: number }).port}` }));
    child.once("exit", (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
}

async function load(url: string, seconds: number, connections: number): Promise<Run> {
  const result = await autocannon({ url: `${url}/users`, connections, duration: seconds, headers: { "x-user-id": "user-42" } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const mean = (runs: Run[], key: keyof Run): number => runs.reduce((sum, run) => sum + run[key], 0) / runs.length;

async function pair(name: string, a: string, b: string, upstream: string, seconds: number, connections: number, rounds: number): Promise<void> {
  const [left, right] = [await start(a, upstream), await start(b, upstream)];
  try {
    await load(left.url, 1, connections); // warm-up
    await load(right.url, 1, connections);
    const runs: Record<string, Run[]> = { [a]: [], [b]: [] };
    for (let round = 0; round < rounds; round++) {
      runs[a]?.push(await load(left.url, seconds, connections));
      runs[b]?.push(await load(right.url, seconds, connections));
    }
    const [ra, rb] = [runs[a] ?? [], runs[b] ?? []];
    const line = (label: string, r: Run[]): string =>
      `  ${label.padEnd(16)} ${mean(r, "rps").toFixed(0).padStart(7)} req/s   p50 ${mean(r, "p50").toFixed(1).padStart(5)} ms   p99 ${mean(r, "p99").toFixed(1).padStart(5)} ms`;
    console.log(`${name}\n${line(a, ra)}\n${line(b, rb)}`);
    const loss = 1 - mean(rb, "rps") / mean(ra, "rps");
    const addedP99 = mean(rb, "p99") / mean(ra, "p99") - 1;
    console.log(`  ${b} vs ${a}: throughput ${(loss * 100).toFixed(1)} % lower, p99 ${(addedP99 * 100).toFixed(1)} % higher\n`);
  } finally {
    left.child.kill();
    right.child.kill();
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
  if (wanted("fastify")) await pair("Fastify 5", "fastify-bare", "fastify-turnout", "", seconds, connections, rounds);
  if (wanted("hono")) await pair("Hono 4 on @hono/node-server", "hono-bare", "hono-turnout", "", seconds, connections, rounds);
  if (!wanted("proxy")) return;
  const upstream = await start("upstream");
  try {
    await pair("Proxies (same upstream)", "node-proxy", "fetch-proxy", upstream.url, seconds, connections, rounds);
  } finally {
    upstream.child.kill();
  }
}

if (ROLE !== undefined) {
  const port = await role(ROLE);
  process.send?.({ port });
} else {
  await main();
}

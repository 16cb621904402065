/**
 * The fetch proxy (`createFetchProxy` of turnout/fetch, served on Node by @hono/node-server) against the node:http
 * proxy (`createProxy` of turnout/node): same router, same upstream, same small load, one run, then a CPU profile of
 * each under that load, summed by where the time goes.
 *
 *   tsx bench/fetch-proxy.ts [--seconds=3] [--connections=8] [--rounds=2] [--profile-seconds=4]
 *
 * Each server runs in a process of its own on 127.0.0.1 and autocannon loads it from this process, one proxy at a
 * time, alternating (`--rounds` times each) so that a busy moment of a shared machine is split between both.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createRouter } from "../src/router/index.js";

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = hit === undefined ? Number.NaN : Number(hit.slice(name.length + 3));
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice("--role=".length);
const BODY = JSON.stringify({ users: Array.from({ length: 20 }, (_, id) => ({ id, name: `user-${id}` })) });

async function role(kind: string, upstream: string): Promise<number> {
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 50, v2: 50 }, stickiness: ["header:x-user-id"] });
  let listener: http.RequestListener;
  if (kind === "upstream") {
    listener = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) });
      res.end(BODY);
    };
  } else if (kind === "fetch-proxy") {
    const { getRequestListener } = await import("@hono/node-server");
    const { createFetchProxy } = await import("../src/integrations/fetch.js");
    const handle = getRequestListener(createFetchProxy(router, { upstreams: { v1: upstream, v2: upstream } }));
    listener = (req, res) => void handle(req, res);
  } else {
    const { createProxy } = await import("../src/integrations/node.js");
    listener = createProxy(router, { upstreams: { v1: upstream, v2: upstream } });
  }
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // The profile covers the load alone (not the process's start): the parent says when it begins and ends.
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  process.on("message", (message) => {
    void (async () => {
      if (message === "profile") {
        session.connect();
        await session.post("Profiler.enable");
        await session.post("Profiler.setSamplingInterval", { interval: 200 });
        await session.post("Profiler.start");
        process.send?.("profiling");
        return;
      }
      if (typeof message === "string" && message.length > "stop:".length) {
        const { profile } = await session.post("Profiler.stop");
        writeFileSync(message.slice("stop:".length), JSON.stringify(profile));
      }
      process.exit(0);
    })();
  });
  return (server.address() as AddressInfo).port;
}

function start(kind: string, upstream = ""): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), [`--role=${kind}`, `--upstream=${upstream}`], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, url: `http://127.0.0.1:${(message as { port: number }).port}` }));
    child.once("exit", (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
}

function stop(child: ChildProcess, profileFile = ""): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.send(`stop:${profileFile}`);
  });
}

function startProfile(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("message", () => resolve());
    child.send("profile");
  });
}

interface Run {
  total: number;
  rps: number;
  p50: number;
  p99: number;
}

async function load(url: string, seconds: number, connections: number): Promise<Run> {
  const result = await autocannon({ url: `${url}/users`, connections, duration: seconds, headers: { "x-user-id": "user-42" } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { total: result.requests.total, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** Where a profile frame's time belongs. */
function bucketOf(url: string, name: string): string {
  if (name === "(garbage collector)") return "garbage collection";
  if (name === "(idle)" || name === "(program)") return name;
  if (url === "" && /^write|^read|^writev$/.test(name)) return "socket reads and writes (native)";
  if (url.includes("undici")) return "undici (fetch, Request, Response, Headers)";
  if (url.includes("webstreams") || url.includes("streams/")) return "web and node streams";
  if (url.includes("@hono/node-server")) return "@hono/node-server (IncomingMessage → Request, Response → res)";
  if (url.includes("/src/")) return "turnout";
  if (url.startsWith("node:") || url === "") return "node internals (http, net, timers, …)";
  if (url.includes("node_modules")) return url.split("node_modules/").pop()?.split("/")[0] ?? "other";
  return "other";
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The profile in `file`, summed by bucket and by function; `requests` served while it ran. */
function summarise(file: string, requests: number): string[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const time = new Map<number, number>();
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const buckets = new Map<string, number>();
  const frames = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const t = time.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const bucket = bucketOf(url, functionName);
    if (bucket === "(idle)") continue;
    busy += t;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + t);
    const frame = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    frames.set(frame, (frames.get(frame) ?? 0) + t);
  }
  const share = (t: number): string => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
  const top = (map: Map<string, number>, n: number): [string, number][] => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  return [
    `  busy CPU ${(busy / 1e6).toFixed(2)} s for ${requests} requests: ${(busy / requests).toFixed(0)} µs per request`,
    ...top(buckets, 8).map(([name, t]) => `  ${share(t)}  ${name}`),
    "  top functions (self time):",
    ...top(frames, 8).map(([name, t]) => `    ${share(t)}  ${name}`),
  ];
}

async function main(): Promise<void> {
  const seconds = arg("seconds", 3);
  const connections = arg("connections", 8);
  const rounds = arg("rounds", 2);
  const profileSeconds = arg("profile-seconds", 4);
  const load1 = (): string => loadavg()[0]?.toFixed(2) ?? "?";
  console.log(`fetch proxy vs node:http proxy: ${seconds}s x ${rounds} rounds each, ${connections} connections, node ${process.version}, load ${load1()}\n`);
  const upstream = await start("upstream");
  try {
    const kinds = ["node-proxy", "fetch-proxy"] as const;
    const servers = await Promise.all(kinds.map((kind) => start(kind, upstream.url)));
    const runs: Run[][] = [[], []];
    try {
      for (const server of servers) await load(server.url, 1, connections); // warm-up
      for (let round = 0; round < rounds; round++) {
        for (const [i, server] of servers.entries()) runs[i]?.push(await load(server.url, seconds, connections));
      }
    } finally {
      await Promise.all(servers.map((server) => stop(server.child)));
    }
    const mean = (r: Run[], key: keyof Run): number => r.reduce((sum, run) => sum + run[key], 0) / r.length;
    for (const [i, kind] of kinds.entries()) {
      const r = runs[i] ?? [];
      console.log(
        `  ${kind.padEnd(12)} ${mean(r, "rps").toFixed(0).padStart(7)} req/s   p50 ${mean(r, "p50").toFixed(1).padStart(5)} ms   p99 ${mean(r, "p99").toFixed(1).padStart(5)} ms`,
      );
    }
    const [node, web] = [runs[0] ?? [], runs[1] ?? []];
    console.log(
      `  fetch proxy ÷ node proxy: throughput ${(mean(web, "rps") / mean(node, "rps")).toFixed(2)}x, p99 ${(mean(web, "p99") / mean(node, "p99")).toFixed(2)}x`,
    );
    console.log(`  load after the runs ${load1()}\n`);

    for (const kind of kinds) {
      const dir = mkdtempSync(join(tmpdir(), "turnout-prof-"));
      try {
        const server = await start(kind, upstream.url);
        await load(server.url, 1, connections);
        await startProfile(server.child);
        const run = await load(server.url, profileSeconds, connections);
        await stop(server.child, join(dir, "profile.cpuprofile"));
        console.log(`profile of ${kind} under ${connections} connections (${run.rps.toFixed(0)} req/s, load ${load1()}):`);
        console.log(summarise(join(dir, "profile.cpuprofile"), run.total).join("\n") + "\n");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await stop(upstream.child);
  }
}

if (ROLE !== undefined) {
  const upstream = process.argv.find((a) => a.startsWith("--upstream="))?.slice("--upstream=".length) ?? "";
  const port = await role(ROLE, upstream);
  process.send?.({ port });
} else {
  await main();
}

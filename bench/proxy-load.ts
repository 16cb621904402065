/**
 * The node proxy at full load: requests per second and latency at saturation, turnout's `createProxy` beside the
 * least a Node proxy can be and beside nginx, all measured in one run.
 *
 *   tsx bench/proxy-load.ts [--seconds=8] [--rounds=2] [--connections=32] [--paths=direct,bare,turnout,...]
 *                           [--profile=DIR] [--from=dist] [--baseline=REPO] [--json=FILE]
 *
 * Processes on 127.0.0.1, each path's server in a process of its own, started before the first round and stopped
 * after the last:
 * - the upstream: node:http answering a small JSON body at once, keep-alive; both versions point at it;
 * - `bare`: node:http server + `http.request` with a keep-alive agent, bodies piped, headers passed as they came;
 * - `turnout`: `createProxy` (no stats, no mirror), the router 90/10 sticky on `x-user-id`;
 * - `turnout+stats`: the same with a stats aggregator recording every outcome;
 * - `turnout-undici+stats`: the same over undici (`upstreamClient: "undici"`: a `Pool` per upstream);
 * - `nginx`: one worker, `split_clients` 90/10 on `$http_x_user_id`, keep-alive upstreams; installed from
 *   Debian's package when missing (needs root), configured in a temporary folder, stopped at the end;
 * - this process: the closed-loop load generator (autocannon), `--connections` connections, each request with
 *   one of 256 `x-user-id` values in turn, so that both versions get their share.
 * Each round runs every path for `--seconds` after a short warm-up; the order rotates from round to round so
 * that a slow moment of a shared machine hits every path. The output is a markdown table: requests/s (mean of
 * the rounds, with their range), p50 / p99 (the worst round's), the ratios against the bare proxy and nginx.
 *
 * On a 2-core machine the load generator, the proxy under test and the upstream compete for the cores; that
 * is the same for every proxied path, so the ratios are fair, and the direct path only says what the
 * generator and the upstream can do without a hop. `--profile=DIR` writes a CPU profile of the `bare` and
 * turnout processes (`node --cpu-prof`) to DIR; summarise with `node bench/profile/busiest.mjs DIR/<path>`.
 * `--from=dist` measures the built package (what `npm run bench:proxy-load` does after building) rather than the
 * sources through tsx, whose per-closure naming helper costs a few µs per request. `--baseline=REPO` adds the
 * built package of another checkout (REPO/dist), with stats, to the same run: before/after in one table.
 */
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import type * as Core from "../src/index.js";
import type * as NodeIntegration from "../src/integrations/node.js";
import { bareProxy } from "./lib/bare-proxy.js";
import { machineInfo } from "./lib/harness.js";

const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice("--role=".length);

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function num(name: string, fallback: number): number {
  const n = Number(arg(name));
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The ids the load generator cycles through: 256 users, so the 90/10 split shows in the traffic. */
const USER_IDS = Array.from({ length: 256 }, (_, i) => `user-${(i * 7919) % 100_000}`);

// ---------------------------------------------------------------------------------------------------------------
// Child roles: each serves on 127.0.0.1:0 and sends its port to the parent; disconnecting stops it.
// ---------------------------------------------------------------------------------------------------------------

function serve(server: http.Server, stop: () => void = () => {}): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on("disconnect", () => {
    stop();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

function upstreamRole(): void {
  const body = JSON.stringify({ users: [{ id: 1, name: "Ada" }], version: "v1" });
  const length = String(Buffer.byteLength(body));
  serve(
    http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "content-length": length });
      res.end(body);
    }),
  );
}

function bareRole(upstreamPort: number): void {
  const { server, agent } = bareProxy(upstreamPort);
  serve(server, () => agent.destroy());
}

/** The bare proxy with undici's `Pool.request` for the upstream hop instead of `http.request`. */
async function bareUndiciRole(upstreamPort: number): Promise<void> {
  const { Pool } = await import("undici");
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 256, pipelining: 1 });
  const server = http.createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const name of Object.keys(req.headers)) if (name !== "connection" && name !== "host") headers[name] = req.headers[name]!;
    pool.request({ method: req.method as "GET", path: req.url ?? "/", headers, body: req.method === "GET" || req.method === "HEAD" ? null : req }).then(
      (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const name of Object.keys(answer.headers)) if (name !== "connection" && name !== "keep-alive") out[name] = answer.headers[name]!;
        res.writeHead(answer.statusCode, out);
        answer.body.pipe(res);
      },
      () => {
        res.statusCode = 502;
        res.end();
      },
    );
  });
  serve(server, () => void pool.close());
}

async function turnoutRole(upstreamPort: number, withStats: boolean, upstreamClient: "node" | "undici" = "node"): Promise<void> {
  // --from=dist measures the built package (npm run build first): plain JavaScript, readable profiles.
  // --dist=DIR (a --baseline): another build of turnout, measured beside this one in the same run.
  const fromDist = process.argv.includes("--from=dist");
  const other = arg("dist");
  const { createRouter, createStats } = (await import(
    other !== undefined ? path.join(other, "index.js") : fromDist ? new URL("../dist/index.js", import.meta.url).href : "../src/index.js"
  )) as typeof Core;
  const { createProxy } = (await import(
    other !== undefined ? path.join(other, "node.js") : fromDist ? new URL("../dist/node.js", import.meta.url).href : "../src/integrations/node.js"
  )) as typeof NodeIntegration;
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 }, stickiness: ["header:x-user-id"] });
  const target = `http://127.0.0.1:${upstreamPort}`;
  const stats = withStats ? createStats({ versions: ["v1", "v2"] }) : undefined;
  // A previous build may not know upstreamClient: only the undici path names it.
  const client = upstreamClient === "undici" ? { upstreamClient } : {};
  const proxy = createProxy(router, { upstreams: { v1: target, v2: target }, ...client, ...(stats !== undefined ? { stats } : {}) });
  serve(http.createServer(proxy), () => proxy.close());
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: start everything, load each path in turn, print the table, stop everything.
// ---------------------------------------------------------------------------------------------------------------

interface Target {
  readonly port: number;
  /** The process serving this path, for its CPU time. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

function startChild(role: string, extra: string[], profileDir?: string): Promise<Target> {
  const execArgv = profileDir === undefined ? process.execArgv : [...process.execArgv, "--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const from = process.argv.includes("--from=dist") ? ["--from=dist"] : [];
  const child = fork(process.argv[1]!, [`--role=${role}`, ...from, ...extra], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the ${role} process exited (${code}) before listening`)));
    child.once("message", (m) => {
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      resolve({
        port: (m as { port: number }).port,
        pid: child.pid,
        stop: async () => {
          if (child.connected) child.disconnect();
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
          children.delete(child);
        },
      });
    });
  });
}

function findNginx(): string {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(candidate)) return candidate;
  if (process.getuid?.() !== 0) throw new Error("nginx is not installed and this is not root: apt-get install nginx, or pass --paths without nginx");
  process.stderr.write("installing nginx (Debian package)…\n");
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "nginx"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return findNginx();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startNginx(upstreamPort: number): Promise<Target> {
  const binary = findNginx();
  const dir = mkdtempSync(path.join(os.tmpdir(), "turnout-nginx-"));
  const port = await freePort();
  const temp = (name: string) => {
    mkdirSync(path.join(dir, name));
    return path.join(dir, name);
  };
  const conf = `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? "user root;" : ""}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp("body")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  upstream v1 { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  upstream v2 { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  split_clients "\${http_x_user_id}" $version { 90% v1; * v2; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://$version;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  const child = spawn(binary, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-e", path.join(dir, "error.log")], { stdio: ["ignore", "inherit", "inherit"] });
  children.add(child);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  // Ready once it answers (502 is fine too: it is listening).
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((done) => {
      http
        .get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
          res.resume();
          done(true);
        })
        .on("error", () => done(false));
    });
    if (ok) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`nginx did not start (see ${dir}/error.log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

interface Round {
  /** CPU time of the path's server process per request, in µs. */
  readonly cpuUs: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly load: string;
}

async function load(target: Target, seconds: number, connections: number): Promise<Round> {
  const load1 = os.loadavg()[0]!.toFixed(2);
  const cpuBefore = cpuMs(target.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections,
    duration: seconds,
    requests: USER_IDS.map((id) => ({ method: "GET" as const, path: "/api/users", headers: { "x-user-id": id } })),
  });
  const cpuUs = ((cpuMs(target.pid) - cpuBefore) * 1000) / result.requests.total;
  const errors = result.errors + result.timeouts + result.non2xx;
  return { cpuUs, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors, load: load1 };
}

const BASELINE = arg("baseline");

const PATH_LABELS = {
  direct: "direct to the upstream",
  bare: "bare node:http proxy (`http.request` + pipe, keep-alive agent)",
  "bare-undici": "bare proxy with undici `Pool.request` for the upstream hop",
  turnout: "turnout `createProxy` (no stats, no mirror)",
  "turnout+stats": "turnout `createProxy` with stats",
  "turnout-undici+stats": 'turnout `createProxy` with stats, `upstreamClient: "undici"`',
  nginx: "nginx, one worker, `split_clients`, keep-alive upstreams",
  "baseline+stats": `previous build (${BASELINE ?? "--baseline=DIR"}) \`createProxy\` with stats`,
} as const;
type PathName = keyof typeof PATH_LABELS;
const ALL_PATHS = Object.keys(PATH_LABELS) as PathName[];
/** Measured unless `--paths` says otherwise: the baseline only with `--baseline`. */
const DEFAULT_PATHS = ALL_PATHS.filter((p) => p !== "baseline+stats" || BASELINE !== undefined);

async function main(): Promise<void> {
  const seconds = num("seconds", 8);
  const rounds = num("rounds", 2);
  const connections = num("connections", 32);
  const profile = arg("profile");
  const wanted = (arg("paths")?.split(",") ?? DEFAULT_PATHS).filter((p): p is PathName => p in PATH_LABELS);
  const paths = ALL_PATHS.filter((p) => wanted.includes(p));
  const profileDir = (name: string) => {
    if (profile === undefined) return undefined;
    const dir = path.resolve(profile, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  const upstream = await startChild("upstream", []);
  const up = String(upstream.port);
  const targets = new Map<PathName, Target>();
  const stopAll = async () => {
    for (const t of targets.values()) await t.stop();
    await upstream.stop();
  };
  try {
    for (const p of paths) {
      if (p === "direct") targets.set(p, { port: upstream.port, pid: upstream.pid, stop: async () => {} });
      if (p === "bare") targets.set(p, await startChild("bare", [up], profileDir("bare")));
      if (p === "bare-undici") targets.set(p, await startChild("bare-undici", [up], profileDir("bare-undici")));
      if (p === "turnout") targets.set(p, await startChild("turnout", [up], profileDir("turnout")));
      if (p === "turnout+stats") targets.set(p, await startChild("turnout-stats", [up], profileDir("turnout-stats")));
      if (p === "turnout-undici+stats") targets.set(p, await startChild("turnout-undici-stats", [up], profileDir("turnout-undici-stats")));
      if (p === "nginx") targets.set(p, await startNginx(upstream.port));
      if (p === "baseline+stats")
        targets.set(p, await startChild("turnout-stats", [`--dist=${path.resolve(BASELINE!, "dist")}`, up], profileDir("baseline-stats")));
    }
    const machine = machineInfo();
    process.stderr.write(`${machine.cpu}, ${machine.cores} cores, ${machine.node}; load average ${machine.loadAverage.join(" ")}\n`);
    for (const p of paths) await load(targets.get(p)!, 2, connections); // warm-up: JIT, keep-alive pools
    const results = new Map<PathName, Round[]>(paths.map((p) => [p, []]));
    for (let r = 0; r < rounds; r++) {
      const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
      for (const p of r % 2 === 0 ? order : order.reverse()) {
        const round = await load(targets.get(p)!, seconds, connections);
        results.get(p)!.push(round);
        process.stderr.write(
          `round ${r + 1} ${p.padEnd(14)} ${Math.round(round.rps).toString().padStart(6)} req/s  p50 ${round.p50} p99 ${round.p99} ms  ${round.cpuUs.toFixed(0)} µs CPU/req  errors ${round.errors}  load ${round.load}\n`,
        );
      }
    }
    await stopAll();
    targets.clear();
    console.log(formatTable(results, { seconds, rounds, connections }));
    const json = arg("json");
    if (json !== undefined)
      writeFileSync(json, `${JSON.stringify({ machine, seconds, rounds, connections, results: Object.fromEntries(results) }, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

function formatTable(results: Map<PathName, Round[]>, settings: { seconds: number; rounds: number; connections: number }): string {
  const mean = (rs: Round[]) => rs.reduce((s, r) => s + r.rps, 0) / rs.length;
  const worst = (rs: Round[], key: "p50" | "p99") => Math.max(...rs.map((r) => r[key]));
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const lines = [
    `| path | requests/s (rounds) | p50 / p99 ms | CPU µs per request | load average |`,
    `|---|---|---|---|---|`,
    ...[...results].map(
      ([p, rs]) =>
        `| ${PATH_LABELS[p]} | ${fmt(mean(rs))} (${rs.map((r) => fmt(r.rps)).join(", ")}) | ${worst(rs, "p50")} / ${worst(rs, "p99")} | ${rs.map((r) => r.cpuUs.toFixed(0)).join(", ")} | ${rs.map((r) => r.load).join(", ")} |`,
    ),
  ];
  const ratio = (a: PathName, b: PathName, what: string) => {
    const x = results.get(a);
    const y = results.get(b);
    if (x === undefined || y === undefined) return;
    const perRound = x.map((r, i) => r.rps / y[i]!.rps);
    const sorted = [...perRound].sort((a, b) => a - b);
    const median = (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
    const cpuRounds = x.map((r, i) => r.cpuUs / y[i]!.cpuUs).sort((a, b) => a - b);
    const cpuMedian = (cpuRounds[(cpuRounds.length - 1) >> 1]! + cpuRounds[cpuRounds.length >> 1]!) / 2;
    const p99 = (100 * (worst(x, "p99") - worst(y, "p99"))) / worst(y, "p99");
    lines.push(
      `| ${what} | ${median.toFixed(2)} (${perRound.map((v) => v.toFixed(2)).join(", ")}) | p99 ${p99 >= 0 ? "+" : ""}${p99.toFixed(0)} % | ×${cpuMedian.toFixed(2)} | |`,
    );
  };
  lines.push(`| **ratio (median of the rounds)** | **throughput (per round)** | **p99 vs** | **CPU per request** | |`);
  ratio("bare-undici", "bare", "undici hop ÷ http.request hop (bare proxies)");
  ratio("turnout", "bare", "turnout ÷ bare");
  ratio("turnout+stats", "bare", "turnout with stats ÷ bare");
  ratio("turnout-undici+stats", "bare", "turnout over undici with stats ÷ bare");
  ratio("turnout-undici+stats", "turnout+stats", "turnout over undici ÷ over http.request (both with stats)");
  ratio("turnout+stats", "nginx", "turnout with stats ÷ nginx");
  ratio("turnout-undici+stats", "nginx", "turnout over undici with stats ÷ nginx");
  ratio("turnout", "nginx", "turnout ÷ nginx");
  ratio("baseline+stats", "bare", "previous build with stats ÷ bare");
  ratio("turnout+stats", "baseline+stats", "turnout with stats ÷ previous build with stats");
  const errors = [...results].flatMap(([p, rs]) => (rs.some((r) => r.errors > 0) ? [`${p}: ${rs.map((r) => r.errors).join(", ")} errors`] : []));
  return [
    lines.join("\n"),
    "",
    `${settings.connections} connections, ${settings.seconds} s per path and round, ${settings.rounds} rounds (order rotated), autocannon; node ${process.version}, ${os.cpus().length} cores.`,
    ...(errors.length > 0 ? [`Errors or non-2xx answers: ${errors.join("; ")}.`] : []),
  ].join("\n");
}

const killChildren = () => {
  for (const child of children) child.kill("SIGKILL");
};

if (ROLE === "upstream") upstreamRole();
else if (ROLE === "bare") bareRole(Number(process.argv.at(-1)));
else if (ROLE === "bare-undici") void bareUndiciRole(Number(process.argv.at(-1)));
else if (ROLE === "turnout") void turnoutRole(Number(process.argv.at(-1)), false);
else if (ROLE === "turnout-stats") void turnoutRole(Number(process.argv.at(-1)), true);
else if (ROLE === "turnout-undici-stats") void turnoutRole(Number(process.argv.at(-1)), true, "undici");
else {
  process.once("exit", killChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killChildren();
      process.exit(130);
    });
  }
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * The node proxy's added latency: the same upstream called directly and through turnout's proxy, at a fixed
 * request rate, in one run.
 *
 *   tsx bench/proxy.ts [--rate=1000] [--seconds=4] [--upstream-ms=10] [--quick] [--profile-proxy=DIR]
 *
 * Three processes on 127.0.0.1: the upstream (an HTTP server answering a small JSON body after a service time of
 * `--upstream-ms`, 10 ms by default: an API that does some work; 0 answers at once), the proxy
 * (`createProxy` from src/integrations/node-proxy.ts in front of that upstream for v1 and v2), and this one, the
 * load generator. The generator is open-loop: request i is due at t0 + i / rate whatever happened before, and its
 * latency is counted from when it was due, not from when it could be sent, so a stall shows up in the percentiles
 * instead of silently lowering the rate (no coordinated omission). Phases alternate direct / proxy twice, so a
 * slow moment of the shared machine is split between both paths.
 *
 * A third path, "bare", goes through the least a Node reverse proxy can be (node:http server, `http.request` with a
 * keep-alive agent, bodies piped, no headers rewritten, no routing) in a process of its own: what any extra Node
 * hop costs on this machine, so that turnout's own share of the added latency can be read apart from it.
 *
 * Target: p99 through the proxy at most 10 % above direct.
 */
import { fork } from "node:child_process";
import http from "node:http";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { bareProxy } from "./lib/bare-proxy.js";
import { machineInfo, REPO_ROOT } from "./lib/harness.js";

const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice("--role=".length);

function arg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = hit === undefined ? NaN : Number(hit.slice(name.length + 3));
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// Child roles
// ---------------------------------------------------------------------------------------------------------------

async function upstreamRole(serviceMs: number): Promise<void> {
  const body = JSON.stringify({
    users: [
      { id: 1, name: "Ada" },
      { id: 2, name: "Grace" },
    ],
    version: "v1",
  });
  const answer = (res: http.ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => (serviceMs > 0 ? setTimeout(answer, serviceMs, res) : answer(res)));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
  reportCpu();
  process.on("disconnect", () => server.close(() => process.exit(0)));
}

/** Answers the parent's "cpu" message with this process's CPU time so far (µs), for CPU cost per request. */
function reportCpu(): void {
  process.on("message", (m) => {
    if (m === "cpu") {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuMicros: user + system });
    }
  });
}

async function proxyRole(upstreamPort: number): Promise<void> {
  const { createRouter } = await import("../src/router/index.js");
  const { createProxy } = await import("../src/integrations/node-proxy.js");
  const router = createRouter({
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 90, v2: 10 },
    stickiness: ["header:x-user-id"],
    overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
  });
  const target = `http://127.0.0.1:${upstreamPort}`;
  const proxy = createProxy(router, { upstreams: { v1: target, v2: target } });
  const server = http.createServer(proxy);
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
  reportCpu();
  process.on("disconnect", () => {
    proxy.close();
    server.close(() => process.exit(0));
  });
}

/** The least a Node reverse proxy can be: the baseline for what one more Node HTTP hop costs. */
async function bareRole(upstreamPort: number): Promise<void> {
  const { server, agent } = bareProxy(upstreamPort);
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
  reportCpu();
  process.on("disconnect", () => {
    agent.destroy();
    server.close(() => process.exit(0));
  });
}

interface Child {
  readonly port: number;
  readonly kill: () => void;
  /** CPU time the child has used so far, in µs. */
  readonly cpu: () => Promise<number>;
}

function start(role: string, extra: string[] = []): Promise<Child> {
  return new Promise((resolve, reject) => {
    // --profile-proxy=DIR: a CPU profile of the proxy process (node --cpu-prof), to see where its time goes.
    const profileDir = process.argv.find((a) => a.startsWith("--profile-proxy="))?.slice("--profile-proxy=".length);
    const execArgv = role === "proxy" && profileDir !== undefined ? [...process.execArgv, "--cpu-prof", `--cpu-prof-dir=${profileDir}`] : process.execArgv;
    const child = fork(process.argv[1]!, [`--role=${role}`, ...extra], { execArgv, stdio: "inherit" });
    const cpu = () =>
      new Promise<number>((done) => {
        const onMessage = (m: unknown) => {
          if (typeof m === "object" && m !== null && "cpuMicros" in m) {
            child.off("message", onMessage);
            done((m as { cpuMicros: number }).cpuMicros);
          }
        };
        child.on("message", onMessage);
        child.send("cpu");
      });
    child.once("message", (m) => resolve({ port: (m as { port: number }).port, kill: () => child.disconnect(), cpu }));
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && code !== null && reject(new Error(`${role} exited ${code}`)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------------------------

const PATHS = ["direct", "bare", "proxy"] as const;
type Path = (typeof PATHS)[number];

interface Phase {
  readonly path: Path;
  readonly latenciesMs: number[];
  errors: number;
}

function runPhase(port: number, phase: Phase, rate: number, seconds: number, agent: http.Agent): Promise<void> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  let sent = 0;
  let done = 0;
  return new Promise((resolve) => {
    const t0 = performance.now() + 5;
    const fire = (i: number) => {
      const due = t0 + i * interval;
      const req = http.request({ host: "127.0.0.1", port, path: "/api/users", agent, headers: { "x-user-id": `user-${(i * 7919) % 100_000}` } }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) phase.latenciesMs.push(performance.now() - due);
          else phase.errors++;
          if (++done === total) resolve();
        });
      });
      req.on("error", () => {
        phase.errors++;
        if (++done === total) resolve();
      });
      req.end();
    };
    // Send everything that is due; sleep until the next one is due. Never wait for answers.
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now() - 0.5));
    };
    setTimeout(tick, 5);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const rate = arg("rate", 1000);
  const seconds = arg("seconds", quick ? 2 : 4);
  const serviceMs = arg("upstream-ms", 10);
  const upstream = await start("upstream", [`--upstream-ms=${serviceMs}`]);
  const proxied = await start("proxy", [`--upstream=${upstream.port}`]);
  const bare = await start("bare", [`--upstream=${upstream.port}`]);
  const portOf: Record<Path, number> = { direct: upstream.port, bare: bare.port, proxy: proxied.port };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const phases: Phase[] = [];
  let proxyCpuMicros = 0;
  const started = Date.now();
  try {
    // Warm-up: every path, JIT and sockets.
    for (const p of PATHS) await runPhase(portOf[p], { path: p, latenciesMs: [], errors: 0 }, rate, 1, agent);
    for (const p of [...PATHS, ...PATHS]) {
      const phase: Phase = { path: p, latenciesMs: [], errors: 0 };
      const before = p === "proxy" ? await proxied.cpu() : 0;
      await runPhase(portOf[p], phase, rate, seconds, agent);
      if (p === "proxy") proxyCpuMicros += (await proxied.cpu()) - before;
      phases.push(phase);
      process.stderr.write(`  · ${p}: ${phase.latenciesMs.length} answers, ${phase.errors} errors\n`);
    }
  } finally {
    agent.destroy();
    upstream.kill();
    proxied.kill();
    bare.kill();
  }
  const figures = PATHS.map((p) => {
    const all = phases
      .filter((ph) => ph.path === p)
      .flatMap((ph) => ph.latenciesMs)
      .sort((a, b) => a - b);
    const errors = phases.filter((ph) => ph.path === p).reduce((n, ph) => n + ph.errors, 0);
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      path: p,
      requests: all.length,
      errors,
      p50: r(percentile(all, 0.5)),
      p90: r(percentile(all, 0.9)),
      p99: r(percentile(all, 0.99)),
      p999: r(percentile(all, 0.999)),
      max: r(all[all.length - 1] ?? NaN),
    };
  });
  const [direct, bareHop, proxy] = figures as [(typeof figures)[0], (typeof figures)[0], (typeof figures)[0]];
  const added = (proxy.p99 / direct.p99 - 1) * 100;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(0)} %`;
  const lines = [
    "",
    `turnout · node proxy vs direct, open-loop at ${rate} req/s, upstream service time ${serviceMs} ms, ${seconds} s × 2 phases per path (ms, from when each request was due)`,
    `${machineInfo().cpu} · node ${process.version} · load ${machineInfo().loadAverage.join(" ")}`,
    `path      requests errors      p50      p90      p99    p99.9      max`,
    ...figures.map(
      (f) =>
        `${f.path.padEnd(9)} ${String(f.requests).padStart(8)} ${String(f.errors).padStart(6)} ${[f.p50, f.p90, f.p99, f.p999, f.max].map((x) => x.toFixed(3).padStart(8)).join(" ")}`,
    ),
    "",
    `the proxy process used ${(proxyCpuMicros / (2 * rate * seconds)).toFixed(0)} µs of CPU per request (${((proxyCpuMicros / (2 * seconds * 1e6)) * 100).toFixed(0)} % of a core at ${rate} req/s)`,
    `a bare node:http proxy (no turnout) added ${signed((bareHop.p99 / direct.p99 - 1) * 100)} to p99 and ${(bareHop.p50 - direct.p50).toFixed(3)} ms to p50; turnout's proxy ${signed((proxy.p99 / bareHop.p99 - 1) * 100)} to p99 over the bare one`,
    `Headline — proxy p99 ${proxy.p99.toFixed(3)} ms vs direct ${direct.p99.toFixed(3)} ms: ${signed(added)} (target ≤ +10 %); p50 +${(proxy.p50 - direct.p50).toFixed(3)} ms`,
  ];
  console.log(lines.join("\n"));
  const file = path.join(REPO_ROOT, "bench", "results", "proxy.json");
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ suite: "proxy", startedAt: new Date(started).toISOString(), machine: machineInfo(), rate, upstreamMs: serviceMs, seconds, phases: 2, figures, addedP99PercentBare: Math.round((bareHop.p99 / direct.p99 - 1) * 1000) / 10, addedP99Percent: Math.round(added * 10) / 10, proxyCpuMicrosPerRequest: Math.round(proxyCpuMicros / (2 * rate * seconds)), summary: [lines[lines.length - 1]!] }, null, 2)}\n`,
  );
}

if (ROLE === "upstream") await upstreamRole(arg("upstream-ms", 10));
else if (ROLE === "proxy") await proxyRole(arg("upstream", 0));
else if (ROLE === "bare") await bareRole(arg("upstream", 0));
else await main();

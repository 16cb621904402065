/**
 * turnout's demo: a real rollout, end to end, in about fifteen seconds.
 *
 * Two upstream servers on 127.0.0.1 (v1, and a v2 whose error rate and latency you choose), turnout's reverse proxy
 * in front of them (`createProxy`), a load generator sending keyed requests through it, real stats fed by the
 * proxy, and a real rollout plan (`createRollout`, 5 % → 25 % → 50 % → 100 %) on a compressed real clock — each
 * step held a few seconds. The rollout's progress is drawn live; a healthy v2 is promoted, a bad one rolled back
 * automatically. Then every server is closed.
 *
 *   npm run demo                                  # a healthy v2: promoted
 *   npm run demo -- --v2-error-rate 8             # 8 % of v2's requests fail: rolled back
 *   npm run demo -- --v2-latency 90               # v2 is 4–5× slower: rolled back on p99
 *   npm run demo -- --short --svg rollout.svg     # steps of 2 s; the timeline as an SVG too
 *
 * Options: --v2-error-rate <pct> (0), --v2-latency <ms> (median, 20), --v1-error-rate <pct> (0), --rps <n> (200),
 * --step <duration> (4s), --short (steps of 2s), --seed <n>, --svg <file>, --plain (line output even on a terminal).
 */
import { writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { type RolloutEvent, type RolloutPlan, type VersionFigures, createRollout, createRouter, createStats, formatDuration, parseDuration } from "turnout";
import { createProxy } from "turnout/node";
import { type ChartSample, type RolloutChart, fromEvents, limitsOf } from "../src/cli/charts/series.js";
import { svgDocument, timelineSection } from "../src/cli/charts/svg.js";
import { paint, wantsColor } from "../src/cli/output.js";
import { startLoad } from "./demo/load.js";
import { startUpstream } from "./demo/upstream.js";
import { type Frame, type LiveFigures, eventLine, screen, statusLine } from "./demo/view.js";

const { values } = parseArgs({
  options: {
    "v2-error-rate": { type: "string", default: "0" },
    "v2-latency": { type: "string", default: "20" },
    "v1-error-rate": { type: "string", default: "0" },
    rps: { type: "string", default: "200" },
    step: { type: "string" },
    short: { type: "boolean", default: false },
    seed: { type: "string", default: "42" },
    svg: { type: "string" },
    plain: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "npm run demo -- [--v2-error-rate 8] [--v2-latency 90] [--v1-error-rate 0] [--rps 200] [--step 4s | --short] [--seed 42] [--svg out.svg] [--plain]",
  );
  process.exit(0);
}

function numberOption(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`demo: --${name} expects a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const v2ErrorRate = numberOption("v2-error-rate", values["v2-error-rate"], 0, 100);
const v1ErrorRate = numberOption("v1-error-rate", values["v1-error-rate"], 0, 100);
const v2Latency = numberOption("v2-latency", values["v2-latency"], 1, 5_000);
const rps = numberOption("rps", values.rps, 20, 2_000);
const seed = numberOption("seed", values.seed, 0, 2 ** 32 - 1);
const stepMs = parseDuration(values.step ?? (values.short ? "2s" : "4s"));
if (stepMs === undefined || stepMs < 1_000 || stepMs > 60_000) {
  console.error('demo: --step expects a duration from "1s" to "60s"');
  process.exit(2);
}
const V1_LATENCY_MS = 20;
const USERS = 5_000;

/** mulberry32: the demo's randomness is seeded, so two runs with the same options behave alike. */
function seeded(value: number): () => number {
  let a = value >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = seeded(seed);

// ---- the system under test: two upstreams, turnout's proxy, real stats ----------------------------------------

const v1 = await startUpstream({ version: "v1", errorPercent: v1ErrorRate, latencyMs: V1_LATENCY_MS, random });
const v2 = await startUpstream({ version: "v2", errorPercent: v2ErrorRate, latencyMs: v2Latency, random });
const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 }, stickiness: ["header:x-user-id"] });
const resolution = 250;
const stats = createStats({ versions: ["v1", "v2"], window: Math.ceil((2 * stepMs) / resolution) * resolution, resolution });
const proxy = createProxy(router, {
  upstreams: { v1: v1.url, v2: v2.url },
  stats,
  key: (req) => req.headers["x-user-id"] as string | undefined,
  timeouts: { connect: "1s", response: "5s" },
});
const server = http.createServer(proxy);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// ---- the rollout: three steps of a few seconds, judged against v1, then 100 % --------------------------------

const plan: RolloutPlan = {
  name: "v2 behind turnout's proxy",
  steps: [
    { weight: 5, pause: stepMs },
    { weight: 25, pause: stepMs },
    { weight: 50, pause: stepMs },
  ],
  analysis: {
    window: stepMs,
    interval: Math.round(stepMs / 4),
    minRequests: 15,
    maxErrorRate: 5,
    maxErrorRateIncrease: 2,
    maxP99Ratio: 3,
    failureLimit: 2,
    onInconclusive: "continue",
  },
  rollbackWindow: Math.round(stepMs / 2),
};
const events: RolloutEvent[] = [];
const tty = process.stdout.isTTY === true && !values.plain;
const color = wantsColor(process.stdout, process.env, undefined);
let finishAt: number | undefined;
let outcome: "promoted" | "rolled back" | undefined;
const startedAt = Date.now();
const rollout = createRollout(plan, {
  router,
  stats,
  onEvent: (event) => {
    events.push(event);
    if (!tty && (event.type !== "check" || event.health?.verdict === "fail")) console.log(eventLine(event, startedAt));
    if (event.type === "aborted") {
      outcome = "rolled back";
      finishAt = Date.now() + 1_500;
    }
    if (event.type === "windowClosed") {
      outcome = "promoted";
      finishAt = Date.now() + 1_000;
    }
  },
});
const compiled = rollout.plan;
const nominalMs = compiled.steps.reduce((sum, s) => sum + s.holdMs, 0) + compiled.rollbackWindowMs;

const setup =
  `proxy ${proxyUrl} → v1 ${v1.url} (${v1ErrorRate} % errors, ~${V1_LATENCY_MS} ms) · v2 ${v2.url} (${v2ErrorRate} % errors, ~${v2Latency} ms)` +
  ` · ${rps} req/s from ${USERS.toLocaleString("en-US")} users · steps of ${formatDuration(stepMs)}`;
const title = "turnout demo: a real rollout of v2, live";
if (!tty) {
  console.log(title);
  console.log(setup);
}

// ---- live figures and the chart ------------------------------------------------------------------------------

// The chart's samples: every complete stats slice exactly once (since the last sample, up to the current slice).
const samples: ChartSample[] = [];
let sampledUpTo = Math.floor(Date.now() / resolution) * resolution;
const sample = (): void => {
  const boundary = Math.floor(Date.now() / resolution) * resolution;
  if (boundary <= sampledUpTo) return;
  const w = stats.window({ since: sampledUpTo, now: boundary - 1 });
  sampledUpTo = boundary;
  const figuresOf = (version: string): VersionFigures | null => {
    const v = w.versions[version];
    if (v === undefined || v.requests === 0) return null;
    return { requests: v.requests, errors: v.errors, errorPercent: v.errorRate * 100, p99Ms: v.latency?.p99 ?? null };
  };
  samples.push({ at: boundary - startedAt, canary: figuresOf("v2"), stable: figuresOf("v1") });
};
const live = (): LiveFigures[] => {
  const w = stats.window({ windowMs: 1_000 });
  const span = Math.max(resolution, w.to - w.from) / 1000;
  return ["v1", "v2"].map((version) => {
    const v = w.versions[version];
    return { version, rps: (v?.requests ?? 0) / span, errorPercent: v && v.requests > 0 ? v.errorRate * 100 : null, p99Ms: v?.latency?.p99 ?? null };
  });
};
const chart = (): RolloutChart => ({
  title: `Live rollout: ${plan.name}`,
  subtitle: setup,
  stable: "v1",
  canary: "v2",
  durationMs: Math.max(nominalMs * 1.1, Date.now() - startedAt),
  endMs: Date.now() - startedAt,
  samples,
  limits: limitsOf(compiled),
  ...fromEvents(events, startedAt, compiled),
});
const frame = (): Frame => ({ title, setup, elapsedMs: Date.now() - startedAt, chart: chart(), status: rollout.status(), live: live(), events, startedAt });

// ---- run -------------------------------------------------------------------------------------------------------

const deadlineMs = nominalMs * 2 + 15_000;
const load = startLoad({ target: proxyUrl, rps, users: USERS, random, maxDurationMs: deadlineMs + 5_000 });
rollout.start();
const sampler = setInterval(sample, 500);
let lastStatus = 0;
const painter = setInterval(
  () => {
    const now = Date.now();
    if (tty) {
      const width = Math.max(60, Math.min(process.stdout.columns ?? 100, 140));
      process.stdout.write(`\u001b[H\u001b[J${screen(frame(), width, color).join("\n")}\n`);
    } else if (now - lastStatus >= 1_000) {
      lastStatus = now;
      console.log(statusLine(frame()));
    }
  },
  tty ? 200 : 100,
);
if (tty) process.stdout.write("\u001b[?25l\u001b[2J");

let interrupted = false;
process.once("SIGINT", () => {
  interrupted = true;
  rollout.abort("interrupted");
  finishAt = Date.now();
});

while (finishAt === undefined || Date.now() < finishAt) {
  if (Date.now() - startedAt > deadlineMs) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}

// ---- the end: stop the load, close everything, say what happened -------------------------------------------------

clearInterval(painter);
clearInterval(sampler);
sample();
const final = frame();
await load.stop();
rollout.stop();
await new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
});
proxy.close();
await Promise.all([v1.close(), v2.close()]);

if (tty) process.stdout.write(`\u001b[H\u001b[J${screen(final, Math.max(60, Math.min(process.stdout.columns ?? 100, 140)), color).join("\n")}\n\u001b[?25h`);
const status = rollout.status();
const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
const c = load.counts;
console.log("");
if (outcome === "promoted") {
  console.log(paint(color, "green", `promoted: v2 takes 100 % of the traffic after ${status.checks.passed} passed checks (${seconds} s)`));
} else if (outcome === "rolled back") {
  const abort = events.find((e) => e.type === "aborted");
  console.log(
    paint(
      color,
      "red",
      `rolled back automatically at ${abort?.previousWeight ?? "?"} % after ${(((abort?.at ?? Date.now()) - startedAt) / 1000).toFixed(1)} s: ${status.abortReason ?? ""}`,
    ),
  );
  console.log("v1 serves all traffic again; transactions already pinned to v2 could still finish there");
} else {
  console.log(paint(color, "yellow", `the rollout did not finish within ${deadlineMs / 1000} s (phase ${status.phase}, weight ${status.weight} %)`));
}
console.log(
  `requests: ${c.sent.toLocaleString("en-US")} sent · v1 answered ${(c.byVersion.v1 ?? 0).toLocaleString("en-US")} · v2 answered ${(c.byVersion.v2 ?? 0).toLocaleString("en-US")}` +
    ` · ${c.failed.toLocaleString("en-US")} failed${c.dropped > 0 ? ` · ${c.dropped} not sent (too many in flight)` : ""}`,
);
if (values.svg !== undefined) {
  writeFileSync(values.svg, svgDocument(title, [timelineSection({ ...final.chart, durationMs: Date.now() - startedAt })]));
  console.log(`wrote ${values.svg}`);
}
console.log("closed the proxy, both upstreams and the load generator");
process.exitCode = interrupted ? 130 : outcome === undefined ? 1 : 0;

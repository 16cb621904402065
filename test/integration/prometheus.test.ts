import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { AggregatorRegistry, Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { PROMETHEUS_CONTENT_TYPE, collectMetrics, metricsHandler, registerPrometheus, renderPrometheus } from "../../src/integrations/prometheus.js";
import { TurnoutConfigError } from "../../src/errors.js";
import { createStats, mergeSnapshots, readSnapshot, type Stats } from "../../src/stats/index.js";

// Two independent checks of the exposition: Debian's `promtool check metrics` (the Prometheus project's own parser
// and linter; apt package `prometheus`) when it is installed, and the npm package parse-prometheus-text-format
// (a devDependency, always there), which also gives the values back.
interface ParsedFamily {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; quantiles?: Record<string, string> }[];
}
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => ParsedFamily[];
const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;
if (!promtool) console.warn("promtool not found (apt-get install prometheus): the promtool checks are skipped");

function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

const T0 = 1_700_000_000_000;
const router = {
  config: { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } },
  revision: 7,
};
const rollout = { status: () => ({ phase: "analysing", stepIndex: 2, weight: 25 }) };

function traffic(): Stats {
  const stats = createStats({ versions: ["v1", "v2"], migration: { from: "v1", to: "v2" }, clock: () => T0 });
  for (let i = 0; i < 1000; i++) {
    stats.record({ version: i % 10 === 0 ? "v2" : "v1", ok: i % 25 !== 0, latencyMs: 5 + (i % 100), client: `user-${i % 300}` }, T0 + i * 100);
  }
  stats.record({ version: "v3", ok: true }, T0);
  stats.record({ version: "v1", ok: true, latencyMs: Number.NaN }, T0);
  return stats;
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (metric?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return Number(metric.value);
}

describe("turnout/prometheus per-version error ratios (regression: only ever compared with the stats' own value)", () => {
  it("exposes each version's window error ratio as its own errors over its own requests, computed independently", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 + 10_000 });
    const sent = { v1: { requests: 0, errors: 0 }, v2: { requests: 0, errors: 0 } };
    for (let i = 0; i < 500; i++) {
      const version = i % 5 === 0 ? "v2" : "v1";
      const ok = version === "v1" ? i % 50 !== 1 : i % 3 !== 0;
      sent[version].requests++;
      if (!ok) sent[version].errors++;
      stats.record({ version, ok, latencyMs: 10 }, T0 + i * 10);
    }
    expect(sent.v1.errors).toBeGreaterThan(0);
    expect(sent.v2.errors / sent.v2.requests).not.toBeCloseTo(sent.v2.errors / 500, 3);
    const families = parse(renderPrometheus({ stats }));
    const ratio = families.find((f) => f.name.endsWith("window_error_ratio"));
    expect(ratio).toBeDefined();
    for (const version of ["v1", "v2"] as const) {
      expect(value(families, ratio!.name, { version })).toBeCloseTo(sent[version].errors / sent[version].requests, 9);
    }
  });
});

describe("turnout/prometheus text exposition", () => {
  const stats = traffic();
  const now = T0 + 100_000;
  const text = renderPrometheus({ stats: stats.snapshot(now), router, rollout });

  it.runIf(promtool)("passes promtool check metrics (parser and linter) without a single remark", () => {
    expect(promtoolCheck(text)).toEqual({ status: 0, output: "" });
  });

  it("parses with an independent parser, and the numbers are the stats' numbers", () => {
    const families = parse(text);
    const snapshot = stats.snapshot(now);
    const v1 = snapshot.lifetime.versions.v1!;
    expect(value(families, "turnout_requests_total", { version: "v1", outcome: "ok" })).toBe(v1.requests - v1.errors);
    expect(value(families, "turnout_requests_total", { version: "v1", outcome: "error" })).toBe(v1.errors);
    expect(value(families, "turnout_requests_total", { version: "v2", outcome: "ok" })).toBe(80); // i % 10 = 0, failing when i % 50 = 0
    expect(value(families, "turnout_rejected_samples_total", { reason: "unknown_version" })).toBe(1);
    expect(value(families, "turnout_rejected_samples_total", { reason: "invalid_latency" })).toBe(1);
    expect(value(families, "turnout_clients", { version: "v1" })).toBe(v1.clients);
    expect(value(families, "turnout_window_requests", { version: "v2" })).toBe(snapshot.window.versions.v2!.requests);
    expect(value(families, "turnout_window_error_ratio", { version: "v2" })).toBe(snapshot.window.versions.v2!.errorRate);
    expect(value(families, "turnout_window_share_ratio", { version: "v1" })).toBe(0.9);
    expect(value(families, "turnout_migration_complete")).toBe(0);
    expect(value(families, "turnout_migration_progress_ratio")).toBe(snapshot.migration!.progress);
    expect(value(families, "turnout_split_ratio", { version: "v2" })).toBe(0.1);
    expect(value(families, "turnout_router_revision")).toBe(7);
    expect(value(families, "turnout_rollout_phase", { phase: "analysing" })).toBe(1);
    expect(value(families, "turnout_rollout_step")).toBe(2);
    expect(value(families, "turnout_rollout_canary_weight_ratio")).toBe(0.25);
    expect(families.find((f) => f.name === "turnout_requests_total")?.type).toBe("COUNTER");
    expect(families.find((f) => f.name === "turnout_request_duration_seconds")?.type).toBe("SUMMARY");
  });

  it("gives durations in seconds: window quantiles in the summary, sum and count since start", () => {
    const one = createStats({ versions: ["v2"], window: "1m", clock: () => T0 });
    for (let i = 1; i <= 100; i++) one.record({ version: "v2", ok: true, latencyMs: i * 10 }, T0); // 10 ms … 1 s
    one.record({ version: "v2", ok: true, latencyMs: 5000 }, T0 - 600_000); // old: in _sum/_count, not in the quantiles
    const families = parse(renderPrometheus({ stats: one.snapshot(T0 + 1000) }));
    const summary = families.find((f) => f.name === "turnout_request_duration_seconds")!;
    const quantiles = summary.metrics.find((m) => m.quantiles !== undefined)?.quantiles ?? {};
    expect(Math.abs(Number(quantiles["0.5"]) / 0.5 - 1)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(Number(quantiles["0.99"]) / 0.99 - 1)).toBeLessThanOrEqual(0.01);
    const families2 = renderPrometheus({ stats: one.snapshot(T0 + 1000) });
    expect(families2).toContain('turnout_request_duration_seconds_sum{version="v2"} 55.5\n');
    expect(families2).toContain('turnout_request_duration_seconds_count{version="v2"} 101\n');
  });

  it("bounds label cardinality: only version, outcome, reason, the summary's quantile and the rollout's phase", () => {
    const many = createStats({ clock: () => T0 });
    for (let i = 0; i < 5000; i++) many.record({ version: `v${i % 3}`, ok: true, latencyMs: 1, client: `user-${i}` }, T0);
    const families = collectMetrics({ stats: many, router, rollout });
    const labelNames = new Set(families.flatMap((f) => f.samples.flatMap((s) => Object.keys(s.labels))));
    expect([...labelNames].sort()).toEqual(["outcome", "phase", "quantile", "reason", "version"]);
    const series = families.reduce((n, f) => n + f.samples.length, 0);
    expect(series).toBeLessThan(100); // 5,000 clients, still a few dozen series
    expect(renderPrometheus({ stats: many })).not.toContain("user-");
  });

  it("escapes label values and renders a rollout phase with odd characters safely", () => {
    const odd = renderPrometheus({ rollout: { status: () => ({ phase: 'a"b\\c\nd', stepIndex: 0, weight: 0 }) } });
    expect(odd).toContain('turnout_rollout_phase{phase="a\\"b\\\\c\\nd"} 1');
    expect(parse(odd).find((f) => f.name === "turnout_rollout_phase")?.metrics[0]?.labels?.phase).toBe('a"b\\c\nd');
    if (promtool) expect(promtoolCheck(odd).status).toBe(0);
  });

  it("renders NaN quantiles for a version without latencies in the window (what Prometheus expects)", () => {
    const quiet = createStats({ versions: ["v1"], clock: () => T0 });
    const out = renderPrometheus({ stats: quiet });
    expect(out).toContain('turnout_request_duration_seconds{version="v1",quantile="0.99"} NaN');
    if (promtool) expect(promtoolCheck(out).status).toBe(0);
    parse(out);
  });

  it("renders a merged fleet view (a snapshot reader) like a live stats, and takes a custom prefix", () => {
    const fleet = readSnapshot(mergeSnapshots(stats.snapshot(now), traffic().snapshot(now)));
    const families = parse(renderPrometheus({ stats: fleet }, { prefix: "shop_turnout_" }));
    expect(value(families, "shop_turnout_requests_total", { version: "v2", outcome: "error" })).toBe(40); // 20 per instance
    expect(() => renderPrometheus({ stats }, { prefix: "bad-prefix" })).toThrow(TurnoutConfigError);
    try {
      renderPrometheus({ stats: {} as never });
    } catch (error) {
      expect((error as TurnoutConfigError).problems.map((problem) => `${problem.code} ${problem.path}`)).toEqual(["type sources.stats"]);
    }
  });
});

describe("turnout/prometheus with a prom-client Registry", () => {
  it("adds the metrics next to the user's own, computed at each scrape, and removes them", async () => {
    const registry = new Registry();
    const mine = new Counter({ name: "app_logins_total", help: "Logins.", registers: [registry] });
    mine.inc(3);
    const stats = traffic();
    const unregister = registerPrometheus(registry, { stats, router, rollout });
    const first = await registry.metrics();
    if (promtool) expect(promtoolCheck(first)).toEqual({ status: 0, output: "" });
    const families = parse(first);
    expect(value(families, "app_logins_total")).toBe(3);
    const before = value(families, "turnout_requests_total", { version: "v2", outcome: "ok" });
    stats.record({ version: "v2", ok: true }, T0 + 1000);
    const after = value(parse(await registry.metrics()), "turnout_requests_total", { version: "v2", outcome: "ok" });
    expect(after).toBe(before + 1);
    expect(await registry.metrics()).toContain('turnout_request_duration_seconds_count{version="v2"} 100\n');
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toContain("turnout_split_ratio");
    unregister();
    expect(await registry.metrics()).not.toContain("turnout_");
    expect(await registry.metrics()).toContain("app_logins_total 3");
  });

  it("works with an OpenMetrics registry (prom-client adds _total to counters itself)", async () => {
    const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerPrometheus(registry, { stats: traffic() });
    const text = await registry.metrics();
    expect(text).toContain("# TYPE turnout_requests counter");
    expect(text).toContain('turnout_requests_total{version="v1",outcome="ok"}');
    expect(text).not.toContain("_total_total");
    expect(text).toContain('turnout_request_duration_seconds_count{version="v1"} ');
    expect(text.endsWith("# EOF\n")).toBe(true);
  });

  it("combines workers sensibly in prom-client's cluster mode: counts add, ratios average", async () => {
    const workers = [traffic(), traffic()].map(async (stats) => {
      const registry = new Registry();
      registerPrometheus(registry, { stats, router });
      return registry.getMetricsAsJSON();
    });
    const combined = AggregatorRegistry.aggregate(await Promise.all(workers));
    const families = parse(await combined.metrics());
    expect(value(families, "turnout_requests_total", { version: "v2", outcome: "error" })).toBe(40);
    expect(value(families, "turnout_window_share_ratio", { version: "v1" })).toBe(0.9);
    expect(value(families, "turnout_split_ratio", { version: "v2" })).toBe(0.1);
    expect(value(families, "turnout_router_revision")).toBe(7);
  });

  it("collects once per scrape, however many families", async () => {
    const registry = new Registry();
    let snapshots = 0;
    const stats = traffic();
    const counting = { snapshot: () => (snapshots++, stats.snapshot(T0 + 100_000)) };
    registerPrometheus(registry, { stats: counting as unknown as Stats });
    snapshots = 0;
    await registry.metrics();
    expect(snapshots).toBe(1);
    await registry.metrics();
    expect(snapshots).toBe(2);
  });
});

describe("turnout/prometheus over HTTP", () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("serves the exposition with its content type on a real server", async () => {
    const stats = traffic();
    const url = await serve(metricsHandler({ stats, router }));
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    const body = await response.text();
    if (promtool) expect(promtoolCheck(body)).toEqual({ status: 0, output: "" });
    expect(value(parse(body), "turnout_split_ratio", { version: "v1" })).toBe(0.9);
  });

  it("answers 500 when collecting fails, and keeps serving", async () => {
    let broken = true;
    const url = await serve(
      metricsHandler({
        rollout: {
          status: () => {
            if (broken) throw new Error("rollout store unreachable");
            return { phase: "idle", stepIndex: 0, weight: 0 };
          },
        },
      }),
    );
    const failed = await fetch(url);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toContain("rollout store unreachable");
    broken = false;
    expect((await fetch(url)).status).toBe(200);
  });
});

describe("turnout/prometheus without prom-client", () => {
  it("never loads prom-client (a resolve hook that forbids it lets the module load and render)", () => {
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { if (s === "prom-client" || s.startsWith("prom-client/")) throw new Error("prom-client was loaded"); return next(s, c); }',
    )}`;
    const script = `
      import { register } from "node:module";
      register(${JSON.stringify(hook)});
      const { renderPrometheus } = await import("./src/integrations/prometheus.ts");
      const { createStats } = await import("./src/stats/index.ts");
      const stats = createStats();
      stats.record({ version: "v1", ok: true });
      process.stdout.write(renderPrometheus({ stats }).split("\\n")[2]);
    `;
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: process.cwd() });
    expect(result.stderr).not.toContain("prom-client was loaded");
    expect(result.stdout).toBe('turnout_requests_total{version="v1",outcome="ok"} 1');
  });
});

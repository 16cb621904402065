/**
 * The Prometheus text exposition of stats, a router's split and a rollout's progress, checked line by line here; the
 * integration suite has a real Prometheus server scrape it.
 */
import { describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../../src/errors.js";
import { createRouter } from "../../../src/router/index.js";
import { collectMetrics, renderFamilies } from "../../../src/stats/exposition.js";
import { createStats } from "../../../src/stats/index.js";

const T0 = 1_700_000_000_000;

/** v1: 8 requests of 10 ms from 8 clients, one failed; v2: 2 of 40 ms; one sample for a version that does not exist. */
function recorded() {
  const stats = createStats({ versions: ["v1", "v2"], window: "1m", clock: () => T0, migration: { from: "v1", to: "v2" } });
  for (let i = 0; i < 8; i++) stats.record({ version: "v1", ok: i !== 0, latencyMs: 10, client: `c${i}` }, T0);
  for (let i = 0; i < 2; i++) stats.record({ version: "v2", ok: true, latencyMs: 40, client: `c${i}` }, T0);
  stats.record({ version: "v9", ok: true }, T0);
  return stats;
}

const EXPECTED = `# HELP turnout_requests_total Requests recorded since start, by version and outcome (error: failed or status >= 500).
# TYPE turnout_requests_total counter
turnout_requests_total{version="v1",outcome="ok"} 7
turnout_requests_total{version="v1",outcome="error"} 1
turnout_requests_total{version="v2",outcome="ok"} 2
turnout_requests_total{version="v2",outcome="error"} 0
# HELP turnout_rejected_samples_total Samples the stats refused (bad input), by reason.
# TYPE turnout_rejected_samples_total counter
turnout_rejected_samples_total{reason="invalid_sample"} 0
turnout_rejected_samples_total{reason="invalid_version"} 0
turnout_rejected_samples_total{reason="unknown_version"} 1
turnout_rejected_samples_total{reason="too_many_versions"} 0
turnout_rejected_samples_total{reason="invalid_ok"} 0
turnout_rejected_samples_total{reason="invalid_latency"} 0
turnout_rejected_samples_total{reason="invalid_client"} 0
turnout_rejected_samples_total{reason="invalid_count"} 0
turnout_rejected_samples_total{reason="invalid_time"} 0
turnout_rejected_samples_total{reason="invalid_status"} 0
# HELP turnout_request_duration_seconds Request duration: quantiles over the sliding window (60 s, relative error <= 1 %), sum and count since start.
# TYPE turnout_request_duration_seconds summary
turnout_request_duration_seconds{version="v1",quantile="0.5"} 0.01
turnout_request_duration_seconds{version="v1",quantile="0.95"} 0.01
turnout_request_duration_seconds{version="v1",quantile="0.99"} 0.01
turnout_request_duration_seconds_sum{version="v1"} 0.08
turnout_request_duration_seconds_count{version="v1"} 8
turnout_request_duration_seconds{version="v2",quantile="0.5"} 0.04
turnout_request_duration_seconds{version="v2",quantile="0.95"} 0.04
turnout_request_duration_seconds{version="v2",quantile="0.99"} 0.04
turnout_request_duration_seconds_sum{version="v2"} 0.08
turnout_request_duration_seconds_count{version="v2"} 2
# HELP turnout_clients Distinct clients since start (exact up to 3,072 per version, then a HyperLogLog estimate, standard error 0.8 %).
# TYPE turnout_clients gauge
turnout_clients{version="v1"} 8
turnout_clients{version="v2"} 2
# HELP turnout_window_requests Requests in the sliding window.
# TYPE turnout_window_requests gauge
turnout_window_requests{version="v1"} 8
turnout_window_requests{version="v2"} 2
# HELP turnout_window_error_ratio Failed share of the requests in the sliding window (0 without requests).
# TYPE turnout_window_error_ratio gauge
turnout_window_error_ratio{version="v1"} 0.125
turnout_window_error_ratio{version="v2"} 0
# HELP turnout_window_clients Distinct clients in the sliding window.
# TYPE turnout_window_clients gauge
turnout_window_clients{version="v1"} 8
turnout_window_clients{version="v2"} 2
# HELP turnout_window_share_ratio Each version's share of the requests in the sliding window.
# TYPE turnout_window_share_ratio gauge
turnout_window_share_ratio{version="v1"} 0.8
turnout_window_share_ratio{version="v2"} 0.2
# HELP turnout_migration_complete 1 when the migration from v1 to v2 is complete.
# TYPE turnout_migration_complete gauge
turnout_migration_complete 0
# HELP turnout_migration_progress_ratio Share of v2 in the last full window and the current slice.
# TYPE turnout_migration_progress_ratio gauge
turnout_migration_progress_ratio 0.2
# HELP turnout_split_ratio The router's split: each version's share of the weighted traffic.
# TYPE turnout_split_ratio gauge
turnout_split_ratio{version="v1"} ${90 / 110}
turnout_split_ratio{version="v2"} ${20 / 110}
# HELP turnout_router_revision The router's config revision in force.
# TYPE turnout_router_revision gauge
turnout_router_revision 1
# HELP turnout_rollout_phase The rollout's current phase (1 for the phase it is in).
# TYPE turnout_rollout_phase gauge
turnout_rollout_phase{phase="analysing"} 1
# HELP turnout_rollout_step The rollout's current step (0-based).
# TYPE turnout_rollout_step gauge
turnout_rollout_step 2
# HELP turnout_rollout_canary_weight_ratio The canary's weight set by the rollout, 0-1.
# TYPE turnout_rollout_canary_weight_ratio gauge
turnout_rollout_canary_weight_ratio 0.25
`;

describe("the Prometheus exposition", () => {
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 20 } });
  const rollout = { status: () => ({ phase: "analysing", stepIndex: 2, weight: 25 }) };

  it("renders stats, the router's split (weights 90 + 20 as shares of 110) and a rollout's progress, line by line", () => {
    expect(renderFamilies(collectMetrics({ stats: recorded(), router, rollout }))).toBe(EXPECTED);
  });

  it("reads a live stats, a snapshot reader and a snapshot alike, and refuses anything else", () => {
    const stats = recorded();
    const snapshot = stats.snapshot(T0);
    const text = renderFamilies(collectMetrics({ stats }));
    expect(renderFamilies(collectMetrics({ stats: { snapshot } as never }))).toBe(text);
    expect(renderFamilies(collectMetrics({ stats: snapshot }))).toBe(text);
    expect(text).toBe(EXPECTED.slice(0, EXPECTED.indexOf("# HELP turnout_split_ratio")));
    let caught: unknown;
    try {
      collectMetrics({ stats: { format: "something else" } as never });
    } catch (error) {
      caught = error;
    }
    expect(isTurnoutConfigError(caught) && caught.problems.map((p) => [p.code, p.path])).toEqual([["type", "sources.stats"]]);
  });

  it("leaves out the migration without one, gives NaN quantiles to a version without latencies, and counts a split-less router's stable as all of it", () => {
    const stats = createStats({ versions: ["v1", "v2"], window: "1m", clock: () => T0 });
    stats.record({ version: "v2", ok: false }, T0);
    const text = renderFamilies(
      collectMetrics({
        stats,
        router: createRouter({ versions: ["v1", "v2", "v3"], stable: "v2" }),
        rollout: { status: () => ({ phase: "done", stepIndex: 0, weight: 100 }) },
      }),
    );
    expect(text).not.toContain("migration");
    expect(text).toContain('turnout_request_duration_seconds{version="v2",quantile="0.99"} NaN\n');
    expect(text).toContain('turnout_request_duration_seconds_count{version="v2"} 0\n');
    expect(text).toContain('turnout_window_error_ratio{version="v2"} 1\n');
    expect(text).toContain('turnout_window_error_ratio{version="v1"} 0\n');
    expect(text.split("\n").filter((line) => line.startsWith("turnout_split_ratio"))).toEqual([
      'turnout_split_ratio{version="v1"} 0',
      'turnout_split_ratio{version="v2"} 1',
      'turnout_split_ratio{version="v3"} 0',
    ]);
    expect(text).toContain("turnout_rollout_canary_weight_ratio 1\n");
  });

  it("puts a valid prefix on every name and refuses an invalid one with its code and path", () => {
    const families = collectMetrics({ stats: recorded(), router, rollout }, { prefix: "checkout:api_" });
    expect(families.every((f) => f.name.startsWith("checkout:api_") && f.samples.every((s) => s.metricName.startsWith(f.name)))).toBe(true);
    expect(families.map((f) => f.name.slice("checkout:api_".length))).toEqual(
      collectMetrics({ stats: recorded(), router, rollout }).map((f) => f.name.slice("turnout_".length)),
    );
    for (const prefix of ["9turnout_", "turnout-", "", 7]) {
      let caught: unknown;
      try {
        collectMetrics({ router }, { prefix: prefix as string });
      } catch (error) {
        caught = error;
      }
      expect(isTurnoutConfigError(caught) && caught.problems.map((p) => [p.code, p.path]), String(prefix)).toEqual([["invalid_name", "options.prefix"]]);
    }
  });

  it("escapes label values and help text, cuts a phase to 64 characters, and writes NaN and infinities as Prometheus does", () => {
    const phase = 'a\\b"c\nd' + "x".repeat(100);
    const [family] = collectMetrics({ rollout: { status: () => ({ phase, stepIndex: 0, weight: 0 }) } });
    expect(renderFamilies(family === undefined ? [] : [family]).split("\n")[2]).toBe(`turnout_rollout_phase{phase="a\\\\b\\"c\\nd${"x".repeat(57)}"} 1`);
    const text = renderFamilies([
      {
        name: "t_values",
        help: "back\\slash and\nnewline",
        type: "gauge",
        samples: [
          { metricName: "t_values", labels: { k: "nan" }, value: Number.NaN },
          { metricName: "t_values", labels: { k: "up" }, value: Number.POSITIVE_INFINITY },
          { metricName: "t_values", labels: { k: "down" }, value: Number.NEGATIVE_INFINITY },
          { metricName: "t_values", labels: {}, value: -0.5 },
        ],
      },
    ]);
    expect(text).toBe(
      [
        "# HELP t_values back\\\\slash and\\nnewline",
        "# TYPE t_values gauge",
        't_values{k="nan"} NaN',
        't_values{k="up"} +Inf',
        't_values{k="down"} -Inf',
        "t_values -0.5",
        "",
      ].join("\n"),
    );
    expect(renderFamilies([])).toBe("");
  });
});

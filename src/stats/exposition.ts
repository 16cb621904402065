// Stats, split weights and rollout progress as Prometheus metric families, and their text exposition format
// (version 0.0.4). Pure: no I/O, no prom-client; `turnout/prometheus` wraps it for HTTP and prom-client registries.
//
// Cardinality is bounded by design: the only labels are `version` (validated names, at most 64), `outcome`
// (ok | error), `reason` (the fixed rejection reasons), the summary's own `quantile` (0.5, 0.95, 0.99) and the
// rollout's `phase` (one series at a time, the machine's fixed set of phases). Never a client id or a user key.

import { failConfig } from "../internal/problems.js";
import type { Router } from "../types.js";
import { SNAPSHOT_FORMATS } from "./snapshot.js";
import type { SnapshotReader, Stats, StatsSnapshot } from "./types.js";

/**
 * The rollout's progress as `turnout/prometheus` reads it: `createRollout(…)` satisfies it.
 *
 * @example
 * ```ts
 * const rollout: RolloutStatusSource = { status: () => ({ phase: "analysing", stepIndex: 2, weight: 25 }) };
 * ```
 */
export interface RolloutStatusSource {
  /** The current phase, step (0-based) and the canary's weight in percent. */
  status(): {
    /** The rollout's phase, e.g. `analysing`. */
    readonly phase: string;
    /** The current step, 0-based. */
    readonly stepIndex: number;
    /** The canary's weight in percent. */
    readonly weight: number;
  };
}

/**
 * What to expose. Every source is optional.
 *
 * @example
 * ```ts
 * const sources: MetricsSources = { stats, router, rollout };
 * ```
 */
export interface MetricsSources {
  /** A live `Stats`, a snapshot reader (e.g. a merged fleet view), or a snapshot. */
  readonly stats?: Stats | SnapshotReader | StatsSnapshot;
  /** The router whose split and revision to expose. */
  readonly router?: Pick<Router, "config" | "revision">;
  /** A rollout whose phase, step and weight to expose. */
  readonly rollout?: RolloutStatusSource;
}

/**
 * Options of the exposition.
 *
 * @example
 * ```ts
 * renderPrometheus({ stats }, { prefix: "checkout_turnout_" });
 * ```
 */
export interface MetricsOptions {
  /** Prefix of every metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). Default `"turnout_"`. */
  readonly prefix?: string;
}

/**
 * One sample of a family: the full metric name (with `_sum`/`_count` for summaries), labels, value.
 *
 * @example
 * ```ts
 * { metricName: "turnout_requests_total", labels: { version: "v2", outcome: "error" }, value: 12 }
 * ```
 */
export interface MetricSample {
  /** The sample's name: the family's, or with a suffix (`_sum`, `_count`). */
  readonly metricName: string;
  /** Label names and values. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value (may be `NaN`, e.g. a quantile without latencies). */
  readonly value: number;
}

/**
 * A metric family: name, help, type and samples.
 *
 * @example
 * ```ts
 * { name: "turnout_router_revision", help: "The router's config revision in force.", type: "gauge",
 *   samples: [{ metricName: "turnout_router_revision", labels: {}, value: 3 }] }
 * ```
 */
export interface MetricFamily {
  /** The family's name, prefix included (`turnout_requests_total`). */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** The Prometheus metric type. */
  readonly type: "counter" | "gauge" | "summary";
  /** The family's samples. */
  readonly samples: readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const QUANTILES = [
  ["0.5", "p50"],
  ["0.95", "p95"],
  ["0.99", "p99"],
] as const;

function snapshotOf(source: Stats | SnapshotReader | StatsSnapshot): StatsSnapshot {
  const candidate = source as { snapshot?: unknown; format?: unknown };
  if (typeof candidate.snapshot === "function") return (source as Stats).snapshot();
  if (typeof candidate.snapshot === "object" && candidate.snapshot !== null) return (source as SnapshotReader).snapshot;
  if ((SNAPSHOT_FORMATS as readonly unknown[]).includes(candidate.format)) return source as StatsSnapshot;
  return failConfig("type", "sources.stats", "expected a Stats, a snapshot reader or a snapshot", "metrics sources");
}

/**
 * The metric families for `sources`, computed now. Metric names (with the default prefix):
 * `turnout_requests_total{version,outcome}`, `turnout_rejected_samples_total{reason}`,
 * `turnout_request_duration_seconds{version,quantile}` (a summary: quantiles over the sliding window, `_sum` and
 * `_count` since start), `turnout_clients{version}`, `turnout_window_requests{version}`,
 * `turnout_window_error_ratio{version}`, `turnout_window_clients{version}`, `turnout_window_share_ratio{version}`,
 * `turnout_migration_complete`, `turnout_migration_progress_ratio`, `turnout_split_ratio{version}`,
 * `turnout_router_revision`, `turnout_rollout_phase{phase}`, `turnout_rollout_step`,
 * `turnout_rollout_canary_weight_ratio`.
 *
 * @example
 * ```ts
 * for (const family of collectMetrics({ stats })) console.log(family.name, family.samples.length);
 * ```
 */
export function collectMetrics(sources: MetricsSources, options: MetricsOptions = {}): MetricFamily[] {
  const prefix = options.prefix ?? "turnout_";
  if (typeof prefix !== "string" || !METRIC_NAME.test(prefix)) {
    failConfig("invalid_name", "options.prefix", `${JSON.stringify(prefix)} is not a valid metric name prefix`, "metrics options");
  }
  const families: MetricFamily[] = [];
  const family = (name: string, type: MetricFamily["type"], help: string, samples: MetricSample[]): void => {
    families.push({ name: prefix + name, help, type, samples });
  };
  const sample = (name: string, labels: Record<string, string>, value: number): MetricSample => ({ metricName: prefix + name, labels, value });

  if (sources.stats !== undefined) {
    const s = snapshotOf(sources.stats);
    const lifetime = Object.entries(s.lifetime.versions);
    const windowed = Object.entries(s.window.versions);
    family(
      "requests_total",
      "counter",
      "Requests recorded since start, by version and outcome (error: failed or status >= 500).",
      lifetime.flatMap(([version, v]) => [
        sample("requests_total", { version, outcome: "ok" }, v.requests - v.errors),
        sample("requests_total", { version, outcome: "error" }, v.errors),
      ]),
    );
    family(
      "rejected_samples_total",
      "counter",
      "Samples the stats refused (bad input), by reason.",
      Object.entries(s.rejected).map(([reason, n]) => sample("rejected_samples_total", { reason }, n)),
    );
    family(
      "request_duration_seconds",
      "summary",
      `Request duration: quantiles over the sliding window (${s.windowMs / 1000} s, relative error <= 1 %), sum and count since start.`,
      lifetime.flatMap(([version, v]) => {
        const latency = s.window.versions[version]?.latency ?? null;
        return [
          ...QUANTILES.map(([quantile, key]) => sample("request_duration_seconds", { version, quantile }, latency === null ? Number.NaN : latency[key] / 1000)),
          sample("request_duration_seconds_sum", { version }, v.latencySumMs / 1000),
          sample("request_duration_seconds_count", { version }, v.latencyCount),
        ];
      }),
    );
    family(
      "clients",
      "gauge",
      "Distinct clients since start (exact up to 3,072 per version, then a HyperLogLog estimate, standard error 0.8 %).",
      lifetime.map(([version, v]) => sample("clients", { version }, v.clients)),
    );
    family(
      "window_requests",
      "gauge",
      "Requests in the sliding window.",
      windowed.map(([version, v]) => sample("window_requests", { version }, v.requests)),
    );
    family(
      "window_error_ratio",
      "gauge",
      "Failed share of the requests in the sliding window (0 without requests).",
      windowed.map(([version, v]) => sample("window_error_ratio", { version }, v.errorRate)),
    );
    family(
      "window_clients",
      "gauge",
      "Distinct clients in the sliding window.",
      windowed.map(([version, v]) => sample("window_clients", { version }, v.clients)),
    );
    family(
      "window_share_ratio",
      "gauge",
      "Each version's share of the requests in the sliding window.",
      windowed.map(([version, v]) => sample("window_share_ratio", { version }, v.share)),
    );
    if (s.migration !== null) {
      family("migration_complete", "gauge", `1 when the migration from ${s.migration.from} to ${s.migration.to} is complete.`, [
        sample("migration_complete", {}, s.migration.complete ? 1 : 0),
      ]);
      family("migration_progress_ratio", "gauge", `Share of ${s.migration.to} in the last full window and the current slice.`, [
        sample("migration_progress_ratio", {}, s.migration.progress),
      ]);
    }
  }

  if (sources.router !== undefined) {
    const { config, revision } = sources.router;
    const weights = config.versions.map((version) => (config.split === undefined ? (version === config.stable ? 1 : 0) : (config.split[version] ?? 0)));
    const sum = weights.reduce((a, b) => a + b, 0);
    family(
      "split_ratio",
      "gauge",
      "The router's split: each version's share of the weighted traffic.",
      config.versions.map((version, i) => sample("split_ratio", { version }, sum > 0 ? (weights[i] as number) / sum : 0)),
    );
    family("router_revision", "gauge", "The router's config revision in force.", [sample("router_revision", {}, revision)]);
  }

  if (sources.rollout !== undefined) {
    const status = sources.rollout.status();
    family("rollout_phase", "gauge", "The rollout's current phase (1 for the phase it is in).", [
      sample("rollout_phase", { phase: String(status.phase).slice(0, 64) }, 1),
    ]);
    family("rollout_step", "gauge", "The rollout's current step (0-based).", [sample("rollout_step", {}, status.stepIndex)]);
    family("rollout_canary_weight_ratio", "gauge", "The canary's weight set by the rollout, 0-1.", [
      sample("rollout_canary_weight_ratio", {}, status.weight / 100),
    ]);
  }
  return families;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/**
 * Renders metric families in the Prometheus text exposition format 0.0.4.
 *
 * @example
 * ```ts
 * const text = renderFamilies(collectMetrics({ stats, router }));
 * ```
 */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      lines.push(`${s.metricName}${labels === "" ? "" : `{${labels}}`} ${formatValue(s.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

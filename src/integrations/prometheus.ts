// turnout/prometheus: the stats, the router's split and a rollout's progress for Prometheus — as text, as an HTTP
// handler, or inside a prom-client Registry the user already has. prom-client is never imported: a registry is
// used through its shape, so this works with or without it installed.

/**
 * The stats, the router's split and a rollout's progress for Prometheus: as text, as an HTTP handler, or inside a
 * prom-client registry.
 *
 * @module turnout/prometheus
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { type MetricFamily, type MetricsOptions, type MetricsSources, collectMetrics, renderFamilies } from "../stats/exposition.js";

export { collectMetrics };
export type { MetricFamily, MetricSample, MetricsOptions, MetricsSources, RolloutStatusSource } from "../stats/exposition.js";

/**
 * The content type of the text exposition format 0.0.4.
 *
 * @example
 * ```ts
 * res.setHeader("content-type", PROMETHEUS_CONTENT_TYPE);
 * ```
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The metrics as Prometheus text (format 0.0.4).
 *
 * @example
 * ```ts
 * app.get("/metrics", (_req, res) => res.type(PROMETHEUS_CONTENT_TYPE).send(renderPrometheus({ stats, router, rollout })));
 * ```
 */
export function renderPrometheus(sources: MetricsSources, options?: MetricsOptions): string {
  return renderFamilies(collectMetrics(sources, options));
}

/**
 * A `node:http` (or Express) handler that answers with the metrics; a failure to collect answers 500.
 *
 * @example
 * ```ts
 * http.createServer(metricsHandler({ stats, router })).listen(9464);
 * ```
 */
export function metricsHandler(sources: MetricsSources, options?: MetricsOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    let body: string;
    try {
      body = renderPrometheus(sources, options);
    } catch (error) {
      res.statusCode = 500;
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.end(`turnout: collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
    res.statusCode = 200;
    res.setHeader("content-type", PROMETHEUS_CONTENT_TYPE);
    res.end(body);
  };
}

/**
 * The part of a prom-client `Registry` that {@link registerPrometheus} uses (prom-client's `Registry` fits).
 *
 * @example
 * ```ts
 * const registry: RegistryLike = new Registry(); // from prom-client
 * ```
 */
export interface RegistryLike {
  /** Adds a collector (prom-client's `Registry.registerMetric`). */
  registerMetric(metric: unknown): void;
  /** Removes a metric by name (prom-client's `Registry.removeSingleMetric`). */
  removeSingleMetric(name: string): void;
}

/**
 * How prom-client's cluster mode (AggregatorRegistry) should combine a family across workers: counts add, ratios
 * average, the router's revision and the rollout's state are the same everywhere.
 */
function aggregatorOf(family: MetricFamily): string {
  if (family.type !== "gauge") return "sum";
  if (family.name.endsWith("migration_complete")) return "min";
  if (family.name.endsWith("_ratio")) return "average";
  if (family.name.endsWith("router_revision") || /rollout_(phase|step)$/.test(family.name)) return "max";
  return "sum";
}

/** A collector in prom-client's shape: `get()` answers the current values of one family. */
class Collector {
  readonly aggregator: string;
  /** prom-client may rename it (OpenMetrics strips a counter's `_total`); the family keeps its own name. */
  name: string;
  readonly help: string;
  readonly type: MetricFamily["type"];
  private readonly family: string;

  constructor(
    family: MetricFamily,
    private readonly current: (name: string) => MetricFamily | undefined,
  ) {
    this.name = family.name;
    this.family = family.name;
    this.aggregator = aggregatorOf(family);
    this.help = family.help;
    this.type = family.type;
  }

  async get() {
    const samples = this.current(this.family)?.samples ?? [];
    // A sample named like its family takes the collector's (possibly renamed) name; _sum and _count keep theirs.
    const values = samples.map((s) => ({
      labels: { ...s.labels },
      value: s.value,
      ...(s.metricName === this.family ? {} : { metricName: s.metricName }),
    }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

/**
 * Adds turnout's metrics to a prom-client `Registry` (or anything with its shape), next to the user's own; they
 * are computed at each scrape. Returns a function that removes them.
 *
 * @example
 * ```ts
 * import { Registry, collectDefaultMetrics } from "prom-client";
 * const registry = new Registry();
 * collectDefaultMetrics({ register: registry });
 * const unregister = registerPrometheus(registry, { stats, router, rollout });
 * ```
 */
export function registerPrometheus(registry: RegistryLike, sources: MetricsSources, options?: MetricsOptions): () => void {
  let scrape: Map<string, MetricFamily> | undefined;
  // One collection per scrape: prom-client calls every collector's get() in the same tick.
  const current = (name: string): MetricFamily | undefined => {
    if (scrape === undefined) {
      scrape = new Map(collectMetrics(sources, options).map((f) => [f.name, f]));
      queueMicrotask(() => {
        scrape = undefined;
      });
    }
    return scrape.get(name);
  };
  const families = collectMetrics(sources, options);
  for (const f of families) registry.registerMetric(new Collector(f, current));
  return () => {
    for (const f of families) registry.removeSingleMetric(f.name);
  };
}

// turnout/otel: turnout's outcomes and rollouts as OpenTelemetry metrics. @opentelemetry/api is only used for its
// types: the meter comes from the user (metrics.getMeter(…)), so nothing is imported at run time.

import type { Attributes, Meter, ObservableGauge, ObservableResult } from "@opentelemetry/api";
import type { Decision, Outcome, OutcomeRecorder, Router } from "../types.js";

/**
 * Attribute names: OpenTelemetry's HTTP semantic conventions where they apply, `turnout.*` for the rest.
 *
 * @example
 * ```ts
 * exported.attributes[OtelAttribute.Version]; // "v2"
 * ```
 */
export const OtelAttribute = {
  /** The version that served the request. */
  Version: "turnout.version",
  /** `ok` or `error`, by turnout's rule (a 5xx, a thrown error, or an explicit `ok: false` is an error). */
  Outcome: "turnout.outcome",
  /** The HTTP status code (semantic conventions). */
  StatusCode: "http.response.status_code",
  /** The HTTP method, one of the known ones or `_OTHER` (semantic conventions). */
  Method: "http.request.method",
  /** Why a request failed: the status code, the error's name, or `_OTHER` (semantic conventions). */
  ErrorType: "error.type",
  /** A rollout's phase (on the phase gauge). */
  Phase: "turnout.rollout.phase",
  /** A rollout's name (the plan's `name`), when given. */
  Rollout: "turnout.rollout.name",
} as const;
/** One of the {@link OtelAttribute} values. */
export type OtelAttribute = (typeof OtelAttribute)[keyof typeof OtelAttribute];

/** The rollout phases, each reported on the phase gauge (1 for the current one, 0 for the others). */
const PHASES = ["idle", "progressing", "analysing", "preview", "paused", "rollingBack", "completed", "promoted", "aborted"] as const;
const METHODS: ReadonlySet<string> = new Set(["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]);
/** The semantic conventions' buckets for http.server.request.duration, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const OTHER = "_OTHER";

/**
 * A rollout as the metrics see it (a `Rollout` fits).
 *
 * @example
 * ```ts
 * const source: OtelRolloutSource = { status: () => ({ phase: "analysing", stepIndex: 1, weight: 25 }) };
 * ```
 */
export interface OtelRolloutSource {
  /** The phase, the step and the canary's weight. */
  status(): {
    /** The rollout's phase, e.g. `"analysing"`; the phase gauge reports 1 for it and 0 for the others. */
    readonly phase: string;
    /** The current step, 0-based. */
    readonly stepIndex: number;
    /** The canary's weight, in percent. */
    readonly weight: number;
  };
}

/**
 * Options of {@link createOtelMetrics}.
 *
 * @example
 * ```ts
 * const metrics = createOtelMetrics({ meter: otel.metrics.getMeter("checkout"), router, rollout, forward: stats });
 * ```
 */
export interface OtelMetricsOptions {
  /** The meter the instruments are made with (`metrics.getMeter("my-service")`, or a `MeterProvider`'s). */
  readonly meter: Meter;
  /** The router whose versions bound the `turnout.version` attribute and whose split the weight gauge reports. */
  readonly router?: Pick<Router, "config" | "canaryPercent">;
  /** A rollout whose phase, step and weight the gauges report. */
  readonly rollout?: OtelRolloutSource;
  /** The rollout's name, as the `turnout.rollout.name` attribute of the rollout gauges. */
  readonly rolloutName?: string;
  /** Where outcomes go on to after being counted (turnout's `Stats`), so one recorder feeds both. */
  readonly forward?: OutcomeRecorder;
  /** Versions known besides the router's; any other version is reported as `_OTHER`. Default: the router's versions. */
  readonly versions?: readonly string[];
  /** Distinct `error.type` values kept before the rest become `_OTHER`. Default 20. */
  readonly maxErrorTypes?: number;
}

/**
 * An {@link OutcomeRecorder} that counts into OpenTelemetry (hand it to turnout's middleware as `stats`), and the
 * gauges' owner.
 *
 * @example
 * ```ts
 * metrics.recordOutcome({ version: "v2" }, { status: 200, durationMs: 12 }, { method: "GET" });
 * metrics.close();
 * ```
 */
export interface OtelMetrics extends OutcomeRecorder {
  /** Counts one request (and forwards it); `method` adds `http.request.method`. Returns what `forward` returned, else true. */
  recordOutcome(decision: Pick<Decision, "version">, outcome: Outcome, request?: { readonly method?: string }): boolean;
  /** Stops the gauges' callbacks (the counters stay with the meter). */
  close(): void;
}

function isOk(outcome: Outcome): boolean {
  if (outcome.ok === true || outcome.ok === false) return outcome.ok;
  if (outcome.error !== undefined && outcome.error !== null) return false;
  return !(typeof outcome.status === "number" && outcome.status >= 500);
}

/** A bounded set of attribute values: known values pass, a few more are let in, the rest become `_OTHER`. */
class Bounded {
  private readonly seen = new Set<string>();
  constructor(
    private readonly known: () => readonly string[],
    private readonly extra: number,
  ) {}
  value(raw: string): string {
    if (this.known().includes(raw) || this.seen.has(raw)) return raw;
    if (this.seen.size < this.extra) {
      this.seen.add(raw);
      return raw;
    }
    return OTHER;
  }
}

/**
 * OpenTelemetry metrics from turnout: per request, `http.server.request.duration` (a histogram in seconds with the
 * semantic conventions' buckets and attributes, plus `turnout.version`), `turnout.requests` and `turnout.errors`
 * (counters by version); observed at each collection, `turnout.version.weight` (each version's share of the
 * split, in percent), `turnout.rollout.phase` (1 for the current phase, 0 for the others), `turnout.rollout.step`
 * and `turnout.rollout.weight`. Attribute values are bounded: unknown versions, methods and error types beyond a
 * few become `_OTHER`, so a misbehaving client cannot blow up the number of series.
 *
 * @example
 * ```ts compile-only
 * import { metrics } from "@opentelemetry/api";
 * import { createOtelMetrics } from "turnout/otel";
 * const otel = createOtelMetrics({ meter: metrics.getMeter("checkout"), router, rollout, forward: stats });
 * app.use(turnout(router, { stats: otel }));
 * ```
 */
export function createOtelMetrics(options: OtelMetricsOptions): OtelMetrics {
  const { meter, router, rollout, forward } = options;
  const versionsOf = (): readonly string[] => [...(router?.config.versions ?? []), ...(options.versions ?? [])];
  const versions = new Bounded(versionsOf, 0);
  const errorTypes = new Bounded(() => [], options.maxErrorTypes ?? 20);
  const duration = meter.createHistogram("http.server.request.duration", {
    description: "Duration of HTTP server requests, by the version that served them.",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const requests = meter.createCounter("turnout.requests", { description: "Requests by version and outcome.", unit: "{request}" });
  const errors = meter.createCounter("turnout.errors", { description: "Failed requests by version.", unit: "{request}" });

  const gauges: ObservableGauge[] = [];
  const rolloutAttributes: Attributes = options.rolloutName === undefined ? {} : { [OtelAttribute.Rollout]: options.rolloutName };
  const weight = meter.createObservableGauge("turnout.version.weight", { description: "Each version's share of the router's split.", unit: "%" });
  const phase = meter.createObservableGauge("turnout.rollout.phase", { description: "1 for the rollout's current phase, 0 for the others." });
  const step = meter.createObservableGauge("turnout.rollout.step", { description: "The rollout's current step (0-based)." });
  const canaryWeight = meter.createObservableGauge("turnout.rollout.weight", { description: "The canary's weight set by the rollout.", unit: "%" });
  const observe = (result: ObservableResult, gauge: ObservableGauge): void => {
    try {
      if (gauge === weight && router !== undefined) {
        const config = router.config;
        const raw = config.versions.map((v) => (config.split === undefined ? (v === config.stable ? 1 : 0) : (config.split[v] ?? 0)));
        const sum = raw.reduce((a, b) => a + b, 0);
        config.versions.forEach((v, i) => result.observe(sum > 0 ? ((raw[i] as number) * 100) / sum : 0, { [OtelAttribute.Version]: v }));
      }
      if (rollout !== undefined && gauge !== weight) {
        const status = rollout.status();
        if (gauge === phase) for (const p of PHASES) result.observe(p === status.phase ? 1 : 0, { ...rolloutAttributes, [OtelAttribute.Phase]: p });
        if (gauge === step) result.observe(status.stepIndex, rolloutAttributes);
        if (gauge === canaryWeight) result.observe(status.weight, rolloutAttributes);
      }
    } catch {
      // A collection must not fail because a source did: the gauge simply has no point this time.
    }
  };
  const callbacks: [ObservableGauge, (result: ObservableResult) => void][] = [];
  if (router !== undefined) gauges.push(weight);
  if (rollout !== undefined) gauges.push(phase, step, canaryWeight);
  for (const gauge of gauges) {
    const callback = (result: ObservableResult): void => observe(result, gauge);
    gauge.addCallback(callback);
    callbacks.push([gauge, callback]);
  }

  return {
    recordOutcome(decision, outcome, request) {
      // The request path never throws: a bad outcome is counted as best it can be, or not at all.
      try {
        const version = versions.value(typeof decision?.version === "string" ? decision.version : OTHER);
        const ok = isOk(outcome ?? {});
        const attributes: Attributes = { [OtelAttribute.Version]: version };
        const status = outcome?.status;
        if (typeof status === "number" && Number.isInteger(status) && status >= 100 && status <= 599) attributes[OtelAttribute.StatusCode] = status;
        const method = request?.method?.toUpperCase();
        if (method !== undefined) attributes[OtelAttribute.Method] = METHODS.has(method) ? method : OTHER;
        if (!ok) {
          const error = outcome.error;
          const name = typeof status === "number" && status >= 500 ? String(status) : error instanceof Error ? error.name : OTHER;
          attributes[OtelAttribute.ErrorType] = errorTypes.value(name.slice(0, 64));
        }
        const ms = outcome.durationMs;
        if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) duration.record(ms / 1000, attributes);
        requests.add(1, { [OtelAttribute.Version]: version, [OtelAttribute.Outcome]: ok ? "ok" : "error" });
        if (!ok) errors.add(1, { [OtelAttribute.Version]: version });
      } catch {
        // Counting is best effort; forwarding below still happens.
      }
      return forward === undefined ? true : forward.recordOutcome(decision, outcome);
    },
    close() {
      for (const [gauge, callback] of callbacks.splice(0)) gauge.removeCallback(callback);
    },
  };
}

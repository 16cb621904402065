/**
 * turnout/otel through the real OpenTelemetry metrics SDK (@opentelemetry/sdk-metrics): a MeterProvider with a
 * metric reader collects what turnout records — the HTTP duration histogram in seconds with the semantic
 * conventions' attributes, the counters by version, the split and rollout gauges — with bounded attributes.
 */
import { AggregationTemporality, type DataPoint, type Histogram, MeterProvider, MetricReader, type MetricData } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { createOtelMetrics } from "../../src/integrations/otel.js";
import { createRollout, createRouter, createStats } from "../../src/index.js";

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function collect(reader: MetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
  return out;
}

function setup() {
  const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const provider = new MeterProvider({ readers: [reader] });
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  router.setCanaryPercent(20);
  const stats = createStats({ versions: ["v1", "v2"] });
  return { reader, provider, router, stats, meter: provider.getMeter("turnout-test") };
}

describe("turnout/otel with the OpenTelemetry metrics SDK", () => {
  it("records requests, errors and durations by version, and forwards to the stats", async () => {
    const { reader, router, stats, meter } = setup();
    const otel = createOtelMetrics({ meter, router, forward: stats });
    for (let i = 0; i < 100; i++) otel.recordOutcome({ version: "v1" }, { status: 200, durationMs: 20 }, { method: "get" });
    for (let i = 0; i < 10; i++) otel.recordOutcome({ version: "v2" }, { status: i < 3 ? 503 : 200, durationMs: 120 }, { method: "POST" });
    otel.recordOutcome({ version: "v2" }, { error: new TypeError("socket hang up"), durationMs: 5 });
    const metrics = await collect(reader);

    const duration = metrics.get("http.server.request.duration");
    expect(duration?.descriptor.unit).toBe("s");
    const points = duration?.dataPoints as DataPoint<Histogram>[];
    const v1 = points.find((p) => p.attributes["turnout.version"] === "v1");
    expect(v1?.attributes).toEqual({ "turnout.version": "v1", "http.response.status_code": 200, "http.request.method": "GET" });
    expect(v1?.value.count).toBe(100);
    expect(v1?.value.sum).toBeCloseTo(2, 6);
    expect(v1?.value.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    const failed = points.find((p) => p.attributes["http.response.status_code"] === 503);
    expect(failed?.attributes).toMatchObject({ "turnout.version": "v2", "error.type": "503", "http.request.method": "POST" });
    expect(failed?.value.count).toBe(3);
    expect(points.find((p) => p.attributes["error.type"] === "TypeError")?.value.count).toBe(1);

    const requests = metrics.get("turnout.requests")?.dataPoints as DataPoint<number>[];
    const count = (version: string, outcome: string) =>
      requests.find((p) => p.attributes["turnout.version"] === version && p.attributes["turnout.outcome"] === outcome)?.value;
    expect([count("v1", "ok"), count("v2", "ok"), count("v2", "error")]).toEqual([100, 7, 4]);
    expect((metrics.get("turnout.errors")?.dataPoints as DataPoint<number>[]).map((p) => [p.attributes["turnout.version"], p.value])).toEqual([["v2", 4]]);

    // The same outcomes reached turnout's stats.
    const window = stats.window();
    expect([window.versions.v1?.requests, window.versions.v2?.requests, window.versions.v2?.errors]).toEqual([100, 11, 4]);

    const weights = metrics.get("turnout.version.weight")?.dataPoints as DataPoint<number>[];
    expect(weights.map((p) => [p.attributes["turnout.version"], p.value])).toEqual([
      ["v1", 80],
      ["v2", 20],
    ]);
  });

  it("keeps attribute cardinality bounded: unknown versions, methods and error types become _OTHER", async () => {
    const { reader, router, meter } = setup();
    const otel = createOtelMetrics({ meter, router, maxErrorTypes: 3 });
    for (let i = 0; i < 500; i++) {
      otel.recordOutcome(
        { version: `attacker-${i}` },
        { ok: false, error: Object.assign(new Error("x"), { name: `Err${i}` }), durationMs: 1 },
        { method: `M${i}` },
      );
    }
    otel.recordOutcome(null as never, undefined as never);
    const metrics = await collect(reader);
    const points = metrics.get("http.server.request.duration")?.dataPoints as DataPoint<Histogram>[];
    expect(new Set(points.map((p) => p.attributes["turnout.version"]))).toEqual(new Set(["_OTHER"]));
    expect(new Set(points.map((p) => p.attributes["http.request.method"]))).toEqual(new Set(["_OTHER"]));
    expect(new Set(points.map((p) => p.attributes["error.type"]))).toEqual(new Set(["Err0", "Err1", "Err2", "_OTHER"]));
    expect(points.length).toBe(4);
  });

  it("observes the rollout's phase, step and weight at each collection; close() stops the gauges", async () => {
    const { reader, router, stats, meter } = setup();
    const rollout = createRollout(
      {
        name: "checkout",
        steps: [
          { weight: 10, pause: "1h" },
          { weight: 50, pause: "1h" },
        ],
      },
      { router, stats },
    );
    const otel = createOtelMetrics({ meter, router, rollout, rolloutName: "checkout" });
    const phase = async () => {
      const points = (await collect(reader)).get("turnout.rollout.phase")?.dataPoints as DataPoint<number>[];
      return points.filter((p) => p.value === 1).map((p) => p.attributes["turnout.rollout.phase"]);
    };
    expect(await phase()).toEqual(["idle"]);
    rollout.start();
    rollout.promote();
    const metrics = await collect(reader);
    expect(await phase()).toEqual(["progressing"]);
    expect((metrics.get("turnout.rollout.phase")?.dataPoints ?? []).length).toBe(9);
    expect((metrics.get("turnout.rollout.step")?.dataPoints as DataPoint<number>[])[0]).toMatchObject({
      value: 1,
      attributes: { "turnout.rollout.name": "checkout" },
    });
    expect((metrics.get("turnout.rollout.weight")?.dataPoints as DataPoint<number>[])[0]?.value).toBe(50);
    otel.close();
    rollout.promote();
    expect(rollout.status().stepIndex).toBe(2);
    // No callback any more: the gauge no longer follows the rollout.
    const after = (await collect(reader)).get("turnout.rollout.step")?.dataPoints as DataPoint<number>[] | undefined;
    expect((after ?? []).every((p) => p.value === 1)).toBe(true);
    rollout.stop();
  });
});

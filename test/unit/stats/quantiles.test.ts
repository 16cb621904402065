import { describe, expect, it } from "vitest";
import { BINS, MAX_LATENCY_MS, MIN_INDEXABLE_MS, RELATIVE_ACCURACY, binOf, quantilesInto } from "../../../src/stats/ddsketch.js";
import { createStats, mergeSnapshots } from "../../../src/stats/index.js";
import { exactQuantile, normal, seeded } from "./helpers.js";

const SAMPLES = 1_000_000;
const QS = [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];
const T0 = 1_700_000_000_000;

const distributions: Record<string, (rng: () => number) => number> = {
  "uniform 0.5–2000 ms": (rng) => 0.5 + rng() * 1999.5,
  "log-normal (μ=3, σ=1) ms": (rng) => Math.exp(3 + normal(rng)),
  "bimodal: 90 % N(20, 4), 10 % N(800, 120) ms": (rng) => Math.max(MIN_INDEXABLE_MS, rng() < 0.9 ? 20 + 4 * normal(rng) : 800 + 120 * normal(rng)),
};

function draw(name: string, seed: number): Float64Array {
  const rng = seeded(seed);
  const generate = distributions[name] as (rng: () => number) => number;
  const values = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) values[i] = Math.min(MAX_LATENCY_MS, generate(rng));
  return values;
}

function relativeError(estimate: number, exact: number): number {
  return Math.abs(estimate - exact) / exact;
}

describe("DDSketch quantiles against exact quantiles of 1,000,000 samples", () => {
  for (const [i, name] of Object.keys(distributions).entries()) {
    it(`stays within 1 % relative error: ${name}`, () => {
      const values = draw(name, 1000 + i);
      const bins = new Float64Array(BINS);
      let min = Infinity;
      let max = -Infinity;
      for (let j = 0; j < SAMPLES; j++) {
        const v = values[j] as number;
        bins[binOf(v)]! += 1;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const sorted = values.slice().sort();
      const estimates: number[] = QS.map(() => 0);
      quantilesInto(bins, 0, 0, BINS - 1, SAMPLES, min, max, QS, estimates);
      let worst = 0;
      QS.forEach((q, j) => {
        const error = relativeError(estimates[j] as number, exactQuantile(sorted, q));
        worst = Math.max(worst, error);
        expect(error, `q=${q}`).toBeLessThanOrEqual(RELATIVE_ACCURACY);
      });
      expect(estimates[0]).toBe(sorted[0]); // min and max are exact
      expect(estimates[QS.length - 1]).toBe(sorted[SAMPLES - 1]);
      console.info(`quantiles, ${name}: worst relative error ${(worst * 100).toFixed(3)} % over q in ${QS.join(", ")}`);
    });
  }

  it("gives the same p50/p95/p99 through createStats, and merging 4 partial aggregators changes nothing", () => {
    const values = draw("log-normal (μ=3, σ=1) ms", 7);
    const whole = createStats({ versions: ["v1"] });
    const parts = [0, 1, 2, 3].map(() => createStats({ versions: ["v1"] }));
    for (let j = 0; j < SAMPLES; j++) {
      const sample = { version: "v1", ok: true, latencyMs: values[j] as number };
      const t = T0 + Math.floor(j / 10); // ≈ 28 minutes at 10,000 req/s: the ring turns over
      whole.record(sample, t);
      parts[j % 4]!.record(sample, t);
    }
    const at = T0 + SAMPLES / 10;
    const sorted = values.slice().sort();
    const lifetime = whole.lifetime(at).versions.v1!;
    const latency = lifetime.latency!;
    expect(relativeError(latency.p50, exactQuantile(sorted, 0.5))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(relativeError(latency.p95, exactQuantile(sorted, 0.95))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(relativeError(latency.p99, exactQuantile(sorted, 0.99))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(latency.max).toBe(sorted[SAMPLES - 1]);
    const merged = mergeSnapshots(...parts.map((p) => p.snapshot(at)));
    expect(merged.lifetime.versions.v1).toEqual(lifetime);
    expect(merged.window).toEqual(whole.snapshot(at).window);
  });
});

describe("a window's slots, recycled", () => {
  it("answer from the requests of their new slice only, and hand the old ones to the lifetime figures, every bin included", () => {
    const stats = createStats({ versions: ["v1"], window: "1m", resolution: "10s" });
    const all: number[] = [];
    const record = (latencyMs: number, at: number) => {
      stats.record({ version: "v1", ok: true, latencyMs }, at);
      all.push(latencyMs);
    };
    // The first slice spans many bins (lo < hi); each later slice one bin of its own, so that a bin left behind in a
    // recycled slot would move the window's quantiles.
    for (let i = 0; i < 50; i++) {
      record(5, T0);
      record(900, T0);
    }
    const slices = 30; // five minutes: every slot of the one-minute ring is reused several times
    for (let s = 1; s <= slices; s++) for (let i = 0; i < 10; i++) record(10 * s, T0 + s * 10_000);
    const now = T0 + slices * 10_000;
    const window = stats.window({ now });
    const inWindow = all.filter((_, i) => i >= 100 && Math.floor((i - 100) / 10) + 1 >= (window.from - T0) / 10_000).sort((a, b) => a - b);
    expect(window.totals.requests).toBe(inWindow.length);
    const latency = window.versions.v1!.latency!;
    expect(relativeError(latency.p50, exactQuantile(Float64Array.from(inWindow), 0.5))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(latency.max).toBe(10 * slices);
    const lifetime = stats.lifetime(now).versions.v1!.latency!;
    const sorted = Float64Array.from(all).sort();
    for (const q of [0.5, 0.95, 0.99] as const) {
      const key = q === 0.5 ? "p50" : q === 0.95 ? "p95" : "p99";
      expect(relativeError(lifetime[key], exactQuantile(sorted, q))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
    expect(lifetime.max).toBe(900);
  });
});

describe("sketch edges", () => {
  it("reports sub-microsecond latencies (the zero bin) as the exact minimum, and clamps to [min, max]", () => {
    const stats = createStats({ versions: ["v1"] });
    stats.record({ version: "v1", ok: true, latencyMs: 0 }, T0);
    stats.record({ version: "v1", ok: true, latencyMs: 0.0004 }, T0);
    stats.record({ version: "v1", ok: true, latencyMs: 0.0009 }, T0);
    const latency = stats.window({ now: T0 }).versions.v1!.latency!;
    expect(latency).toEqual({ p50: 0, p95: 0, p99: 0, max: 0.0009 });

    const one = createStats({ versions: ["v1"] });
    one.record({ version: "v1", ok: true, latencyMs: 123.456 }, T0);
    expect(one.window({ now: T0 }).versions.v1!.latency).toEqual({ p50: 123.456, p95: 123.456, p99: 123.456, max: 123.456 });
  });

  it("covers the whole accepted range, from 0.001 ms to 100,000,000 ms, within 1 %", () => {
    for (const v of [MIN_INDEXABLE_MS, 0.0123, 1, 999.9, 65_432.1, MAX_LATENCY_MS]) {
      const stats = createStats({ versions: ["v1"] });
      stats.record({ version: "v1", ok: true, latencyMs: v }, T0);
      stats.record({ version: "v1", ok: true, latencyMs: MAX_LATENCY_MS }, T0);
      stats.record({ version: "v1", ok: true, latencyMs: 0 }, T0);
      const p50 = stats.window({ now: T0 }).versions.v1!.latency!.p50;
      expect(relativeError(p50, v)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
  });

  it("weights a sample with count exactly like count separate samples", () => {
    const weighted = createStats({ versions: ["v1"] });
    const single = createStats({ versions: ["v1"] });
    const rng = seeded(3);
    for (let i = 0; i < 200; i++) {
      const latencyMs = Math.exp(2 + normal(rng));
      const count = 1 + Math.floor(rng() * 50);
      const ok = rng() < 0.9;
      weighted.record({ version: "v1", ok, latencyMs, count, client: `c${i % 7}` }, T0 + i * 1000);
      for (let c = 0; c < count; c++) single.record({ version: "v1", ok, latencyMs, client: `c${i % 7}` }, T0 + i * 1000);
    }
    expect(weighted.snapshot(T0 + 200_000)).toEqual(single.snapshot(T0 + 200_000));
  });
});

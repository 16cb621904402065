import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createStats, largestRemainder, type StatsSample } from "../../src/stats/index.js";

const T0 = 1_700_000_000_000;

/** Samples that are mostly plausible, often subtly wrong, sometimes anything at all. */
const sample = fc.oneof(
  fc.record(
    {
      version: fc.oneof(fc.constantFrom("v1", "v2", "__proto__", "", "v 1"), fc.string(), fc.integer()),
      ok: fc.oneof(fc.boolean(), fc.constantFrom("true", 0, null, undefined)),
      latencyMs: fc.oneof(fc.double(), fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY, "7", null, undefined)),
      client: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(null, undefined, 42, {}, "x".repeat(2000))),
      count: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.constantFrom(1.5, 2 ** 32, Number.NaN, "2", null, undefined)),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const time = fc.oneof(
  fc.integer({ min: -5_000_000, max: 5_000_000 }).map((d) => T0 + d),
  fc.constantFrom(Number.NaN, undefined),
);

describe("record never throws and never corrupts the numbers", () => {
  it("accepts exactly the valid samples, counts every rejection, and keeps totals consistent", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(sample, time), { maxLength: 60 }), (inputs) => {
        const stats = createStats({ maxVersions: 3, window: "1m", resolution: "10s", clock: () => T0 });
        let accepted = 0;
        let rejected = 0;
        const recorded = new Set<string>();
        for (const [s, t] of inputs) {
          const result = stats.record(s as StatsSample, t);
          expect(typeof result).toBe("boolean");
          if (result) accepted += typeof (s as StatsSample).count === "number" ? ((s as StatsSample).count as number) : 1;
          else rejected += 1;
          if (result) recorded.add((s as StatsSample).version);
        }
        // Only recorded samples add versions: a rejected one leaves no trace but its reason's counter.
        expect(stats.versions).toEqual([...recorded].sort());
        const snapshot = stats.snapshot(T0 + 5_000_000);
        expect(snapshot.lifetime.totals.requests).toBe(accepted);
        expect(Object.values(snapshot.rejected).reduce((a, b) => a + b, 0)).toBe(rejected);
        for (const view of [snapshot.lifetime, stats.window({ now: T0 })]) {
          for (const v of [...Object.values(view.versions), view.totals]) {
            expect(Number.isFinite(v.requests) && v.errors >= 0 && v.errors <= v.requests).toBe(true);
            expect(v.errorRate >= 0 && v.errorRate <= 1).toBe(true);
            expect(v.latencyCount).toBeLessThanOrEqual(v.requests);
            if (v.latency !== null) {
              const { p50, p95, p99, max } = v.latency;
              expect(0 <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max).toBe(true);
            }
          }
          const percentages = Object.values(view.versionPercentages);
          expect(percentages.reduce((a, b) => a + b, 0)).toBe(view.totals.requests > 0 ? 100 : 0);
        }
        expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
      }),
      { numRuns: 200 },
    );
  });
});

describe("versionPercentages (largest remainder)", () => {
  it("sum to exactly 100, each within one point of the exact share, in a deterministic order", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 12 }), (counts) => {
        const names = counts.map((_, i) => `v${i}`);
        const result = largestRemainder(names, counts);
        const total = counts.reduce((a, b) => a + b, 0);
        const values = names.map((n) => result[n] as number);
        expect(values.reduce((a, b) => a + b, 0)).toBe(total > 0 ? 100 : 0);
        values.forEach((p, i) => {
          expect(Number.isInteger(p)).toBe(true);
          if (total > 0) expect(Math.abs(p - (100 * (counts[i] as number)) / total)).toBeLessThan(1);
        });
        // The same counts under shuffled names give the same shares per name.
        const reversed = largestRemainder([...names].reverse(), [...counts].reverse());
        expect(reversed).toEqual(result);
      }),
    );
  });

  it("give a point left over on equal remainders to the version with more requests, then to the name first in code-unit order", () => {
    // 1, 1 and 4 requests of 6: every remainder is 100·n mod 6 = 4, and 2 points are missing after 16 + 16 + 66.
    expect(largestRemainder(["v0", "v1", "v2"], [1, 1, 4])).toEqual({ v0: 17, v1: 16, v2: 67 });
    // Equal counts: the order of the names given does not matter, only the names themselves ("B" < "a" < "b").
    expect(largestRemainder(["v3", "v1", "v2"], [1, 1, 1])).toEqual({ v3: 33, v1: 34, v2: 33 });
    expect(largestRemainder(["b", "a", "B"], [1, 1, 1])).toEqual({ b: 33, a: 33, B: 34 });
  });

  it("count junk as 0 and still sum to 100 (regression: a negative count gave { a: 250, b: -150 }, NaN gave NaN)", () => {
    expect(largestRemainder(["a", "b"], [5, -3])).toEqual({ a: 100, b: 0 });
    expect(largestRemainder(["a", "b"], [Number.NaN, 1])).toEqual({ a: 0, b: 100 });
    expect(largestRemainder(["a", "b"], [Number.POSITIVE_INFINITY, 1])).toEqual({ a: 0, b: 100 });
    expect(largestRemainder(["a", "b", "c"], [1, 1])).toEqual({ a: 50, b: 50, c: 0 });
    expect(largestRemainder(["a", "b"], [Number.MAX_VALUE, Number.MAX_VALUE])).toEqual({ a: 50, b: 50 }); // 100·N overflows
    expect(largestRemainder(["a", "b", "c"], [2 ** 60, 2 ** 60, 2 ** 60])).toEqual({ a: 34, b: 33, c: 33 });
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double(), fc.nat({ max: 1000 })), { minLength: 1, maxLength: 8 }), (counts) => {
        const names = counts.map((_, i) => `v${i}`);
        const values = Object.values(largestRemainder(names, counts));
        const any = counts.some((n) => Number.isFinite(n) && n > 0);
        expect(values.reduce((a, b) => a + b, 0)).toBe(any ? 100 : 0);
        expect(values.every((p) => Number.isInteger(p) && p >= 0 && p <= 100)).toBe(true);
      }),
    );
  });

  it("breaks ties by more requests, then by name", () => {
    expect(largestRemainder(["v1", "v2", "v3"], [1, 1, 1])).toEqual({ v1: 34, v2: 33, v3: 33 });
    expect(largestRemainder(["a", "b", "c"], [1, 3, 196])).toEqual({ a: 0, b: 2, c: 98 }); // a and b both have remainder ½: b has more requests
    expect(largestRemainder(["b", "a"], [1, 1])).toEqual({ a: 50, b: 50 });
    expect(largestRemainder(["v1", "v2"], [200, 800])).toEqual({ v1: 20, v2: 80 });
    expect(largestRemainder(["v1", "v2"], [1, 999])).toEqual({ v1: 0, v2: 100 });
    expect(largestRemainder(["v1", "v2", "v3"], [0, 0, 0])).toEqual({ v1: 0, v2: 0, v3: 0 });
  });
});

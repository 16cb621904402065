import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createStats, emptySnapshot, mergeSnapshots, type Stats, type StatsSnapshot } from "../../src/stats/index.js";

const T0 = 1_700_000_000_000;
const OPTIONS = { window: "1m", resolution: "10s", migration: { from: "v1", to: "v2", minRequests: 5 } } as const;

/** One event: a sample at an offset in time, or a burst of many distinct clients (to reach the sketches' registers). */
const event = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      version: fc.constantFrom("v1", "v2", "v3"),
      ok: fc.boolean(),
      latencyMs: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: undefined }),
      client: fc.option(fc.integer({ min: 0, max: 50 }).map((i) => `user-${i}`), { nil: undefined }),
      count: fc.integer({ min: 1, max: 5 }),
      at: fc.integer({ min: 0, max: 240_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      burst: fc.integer({ min: 150, max: 400 }),
      tag: fc.integer({ min: 0, max: 3 }),
      version: fc.constantFrom("v1", "v2"),
      at: fc.integer({ min: 0, max: 240_000 }),
    }),
  },
);
type Event = typeof event extends fc.Arbitrary<infer T> ? T : never;

function play(stats: Stats, events: readonly Event[]): Stats {
  for (const e of events) {
    if ("burst" in e) {
      for (let i = 0; i < e.burst; i++) stats.record({ version: e.version, ok: true, client: `burst-${e.tag}-${i}` }, T0 + e.at);
    } else {
      stats.record({ version: e.version, ok: e.ok, latencyMs: e.latencyMs, client: e.client, count: e.count }, T0 + e.at);
    }
  }
  return stats;
}

const instance = fc.record({
  start: fc.integer({ min: 0, max: 60_000 }),
  events: fc.array(event, { maxLength: 25 }),
  at: fc.integer({ min: 0, max: 300_000 }),
});

function snapshotOf(i: { start: number; events: readonly Event[]; at: number }): StatsSnapshot {
  const stats = play(createStats({ ...OPTIONS, clock: () => T0 + i.start }), i.events);
  return stats.snapshot(T0 + i.at);
}

describe("mergeSnapshots laws", () => {
  it("is commutative and associative, with the empty snapshot as identity, and survives JSON", () => {
    fc.assert(
      fc.property(instance, instance, instance, (x, y, z) => {
        const [a, b, c] = [snapshotOf(x), snapshotOf(y), snapshotOf(z)];
        expect(mergeSnapshots(a, b)).toEqual(mergeSnapshots(b, a));
        expect(mergeSnapshots(mergeSnapshots(a, b), c)).toEqual(mergeSnapshots(a, mergeSnapshots(b, c)));
        expect(mergeSnapshots(a, b, c)).toEqual(mergeSnapshots(mergeSnapshots(a, b), c));
        expect(mergeSnapshots(emptySnapshot(), a)).toEqual(a);
        expect(mergeSnapshots(a, emptySnapshot())).toEqual(a);
        expect(JSON.parse(JSON.stringify(a))).toEqual(a);
      }),
      { numRuns: 60 },
    );
  });

  it("of a stream split across instances gives exactly what one instance that saw it all reports", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(event, fc.integer({ min: 0, max: 2 })), { maxLength: 40 }),
        fc.integer({ min: 0, max: 300_000 }),
        (tagged, at) => {
          const whole = play(createStats({ ...OPTIONS, clock: () => T0 }), tagged.map(([e]) => e));
          const parts = [0, 1, 2].map((p) => play(createStats({ ...OPTIONS, clock: () => T0 }), tagged.filter(([, i]) => i === p).map(([e]) => e)));
          expect(mergeSnapshots(...parts.map((p) => p.snapshot(T0 + at)))).toEqual(whole.snapshot(T0 + at));
        },
      ),
      { numRuns: 60 },
    );
  });
});

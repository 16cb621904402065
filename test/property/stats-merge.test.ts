import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DENSE, type SketchRef, encodeClients, mergeEncodedClients, sketchAdd } from "../../src/stats/hll.js";
import { createStats, emptySnapshot, mergeSnapshots, type Stats, type StatsSnapshot, type WindowClientPrecision } from "../../src/stats/index.js";

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
      client: fc.option(
        fc.integer({ min: 0, max: 50 }).map((i) => `user-${i}`),
        { nil: undefined },
      ),
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
      fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 2 })), { maxLength: 40 }), fc.integer({ min: 0, max: 300_000 }), (tagged, at) => {
        const whole = play(
          createStats({ ...OPTIONS, clock: () => T0 }),
          tagged.map(([e]) => e),
        );
        const parts = [0, 1, 2].map((p) =>
          play(
            createStats({ ...OPTIONS, clock: () => T0 }),
            tagged.filter(([, i]) => i === p).map(([e]) => e),
          ),
        );
        expect(mergeSnapshots(...parts.map((p) => p.snapshot(T0 + at)))).toEqual(whole.snapshot(T0 + at));
      }),
      { numRuns: 60 },
    );
  });
});

// ------------------------------------------------------------------------------------------------------------
// Window client precisions: snapshots of different precisions merge down to the lowest.
// ------------------------------------------------------------------------------------------------------------

const precision = fc.constantFrom<WindowClientPrecision>(10, 11, 12, 13, 14);

/** Events with, now and then, a crowd large enough to turn a slice of any precision (up to 3,072 exact) into registers. */
const crowdedEvent = fc.oneof(
  { weight: 12, arbitrary: event },
  {
    weight: 1,
    arbitrary: fc.record({
      burst: fc.integer({ min: 700, max: 3500 }),
      tag: fc.integer({ min: 0, max: 3 }),
      version: fc.constantFrom("v1", "v2"),
      at: fc.integer({ min: 0, max: 240_000 }),
    }),
  },
);

const precise = fc.record({
  start: fc.integer({ min: 0, max: 60_000 }),
  events: fc.array(crowdedEvent, { maxLength: 20 }),
  at: fc.integer({ min: 0, max: 300_000 }),
  precision,
});

function preciseSnapshotOf(i: { start: number; events: readonly Event[]; at: number; precision: WindowClientPrecision }): StatsSnapshot {
  const stats = play(createStats({ ...OPTIONS, windowClientPrecision: i.precision, clock: () => T0 + i.start }), i.events);
  return stats.snapshot(T0 + i.at);
}

describe("mergeSnapshots laws across window client precisions", () => {
  it("is commutative and associative, with the empty snapshot as identity, and survives JSON", () => {
    fc.assert(
      fc.property(precise, precise, precise, (x, y, z) => {
        const [a, b, c] = [preciseSnapshotOf(x), preciseSnapshotOf(y), preciseSnapshotOf(z)];
        const ab = mergeSnapshots(a, b);
        expect(ab.windowClientPrecision).toBe(Math.min(x.precision, y.precision));
        expect(ab).toEqual(mergeSnapshots(b, a));
        expect(mergeSnapshots(ab, c)).toEqual(mergeSnapshots(a, mergeSnapshots(b, c)));
        expect(mergeSnapshots(a, b, c)).toEqual(mergeSnapshots(ab, c));
        expect(mergeSnapshots(emptySnapshot(), a)).toEqual(a);
        expect(mergeSnapshots(a, emptySnapshot())).toEqual(a);
        expect(mergeSnapshots(a, a).windowClientPrecision).toBe(x.precision);
        expect(JSON.parse(JSON.stringify(ab))).toEqual(ab);
      }),
      { numRuns: 40 },
    );
  });

  it("of a stream split across instances of different precisions gives exactly what one instance at the lowest reports", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(crowdedEvent, fc.integer({ min: 0, max: 2 })), { maxLength: 30 }),
        fc.tuple(precision, precision, precision),
        fc.integer({ min: 0, max: 300_000 }),
        (tagged, precisions, at) => {
          const lowest = Math.min(...precisions) as WindowClientPrecision;
          const whole = play(
            createStats({ ...OPTIONS, windowClientPrecision: lowest, clock: () => T0 }),
            tagged.map(([e]) => e),
          );
          const parts = precisions.map((p, i) =>
            play(
              createStats({ ...OPTIONS, windowClientPrecision: p, clock: () => T0 }),
              tagged.filter(([, j]) => j === i).map(([e]) => e),
            ),
          );
          expect(mergeSnapshots(...parts.map((p) => p.snapshot(T0 + at)))).toEqual(whole.snapshot(T0 + at));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("folding registers to a lower precision", () => {
  function sketch(p: number): { ref: SketchRef; size: number } {
    const buffer = new ArrayBuffer(1 << p);
    return { ref: { set: new Int32Array(buffer), regs: new Uint8Array(buffer), base32: 0, p }, size: 0 };
  }

  it("gives exactly the sketch of the lower precision of the same hashes, exact or registers", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 14 }),
        fc.integer({ min: 10, max: 14 }),
        fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 4000, max: 60_000 })),
        fc.integer(),
        (p1, p2, n, seed) => {
          const [q, p] = p1 <= p2 ? [p1, p2] : [p2, p1];
          const high = sketch(p);
          const low = sketch(q);
          // Hashes with every pattern of low index bits and of ranks, including 0x…0 tails: xorshift from the seed,
          // every fifth one with its bits after the top p cleared (the largest rank).
          let x = seed | 1;
          for (let i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            let h = i % 5 === 4 ? x & ~((1 << (32 - p)) - 1) : x;
            if (h === 0) h = 1 << 31;
            high.size = sketchAdd(high.ref, high.size, h);
            low.size = sketchAdd(low.ref, low.size, h);
          }
          const folded = sketch(q);
          const size = mergeEncodedClients(folded.ref, folded.size, encodeClients(high.ref, high.size), p);
          expect(typeof size).toBe("number");
          expect(size === DENSE).toBe(low.size === DENSE);
          expect(encodeClients(folded.ref, size as number)).toEqual(encodeClients(low.ref, low.size));
        },
      ),
      { numRuns: 150 },
    );
  });
});

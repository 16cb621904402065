import { describe, expect, it } from "vitest";
import { bucketOf, murmur3Signed } from "../../../src/router/hash.js";
import { CLIENT_SEED, LIFETIME_P, estimate, exactLimitOf } from "../../../src/stats/hll.js";
import { createStats, mergeSnapshots, parseSnapshot, readSnapshot, type WindowClientPrecision } from "../../../src/stats/index.js";
import { windowWorkload } from "./helpers.js";

const T0 = 1_700_000_000_000;

function relativeError(estimate: number, exact: number): number {
  return Math.abs(estimate - exact) / exact;
}

describe("distinct clients", () => {
  it("are exact up to 3,072 clients per version (the exact set), whatever the repetitions", () => {
    const exactLimit = exactLimitOf(LIFETIME_P);
    expect(exactLimit).toBe(3072);
    for (const n of [0, 1, 2, 10, 100, 999, 1000, 2500, exactLimit]) {
      const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
      for (let i = 0; i < n * 3; i++) stats.record({ version: "v1", ok: true, client: `user-${i % n}` }, T0);
      const s = stats.snapshot(T0);
      expect(s.lifetime.versions.v1!.clients, `n=${n}`).toBe(n);
      expect(s.totalClients, `n=${n}`).toBe(n);
      expect(s.window.versions.v1!.clients, `n=${n}`).toBe(n);
    }
  });

  it("count a client seen on two versions once in the totals, exactly while small", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    for (let i = 0; i < 1000; i++) stats.record({ version: "v1", ok: true, client: `user-${i}` }, T0);
    for (let i = 500; i < 1800; i++) stats.record({ version: "v2", ok: true, client: `user-${i}` }, T0);
    const s = stats.snapshot(T0);
    expect(s.lifetime.versions.v1!.clients).toBe(1000);
    expect(s.lifetime.versions.v2!.clients).toBe(1300);
    expect(s.totalClients).toBe(1800);
  });

  it("stay within 2 % at 1,000,000 distinct clients in a 16 KiB sketch, and merging partial sketches changes nothing", () => {
    const n = 1_000_000;
    const whole = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    const parts = [0, 1, 2].map(() => createStats({ versions: ["v1", "v2"], clock: () => T0 }));
    const sample = { version: "v1", ok: true, client: "" };
    for (let i = 0; i < n; i++) {
      sample.client = `client-${i}`;
      sample.version = i % 3 === 0 ? "v2" : "v1";
      const t = T0 + Math.floor(i / 1000);
      whole.record(sample, t);
      parts[i % 3]!.record(sample, t);
    }
    const at = T0 + n / 1000;
    const snapshot = whole.snapshot(at);
    const total = snapshot.totalClients;
    const v1 = snapshot.lifetime.versions.v1!.clients;
    const v2 = snapshot.lifetime.versions.v2!.clients;
    console.info(
      `clients: 1,000,000 → ${total} (${(relativeError(total, n) * 100).toFixed(3)} %); ` +
        `v1 666,667 → ${v1} (${(relativeError(v1, 666_667) * 100).toFixed(3)} %); v2 333,333 → ${v2} (${(relativeError(v2, 333_333) * 100).toFixed(3)} %)`,
    );
    expect(relativeError(total, n)).toBeLessThanOrEqual(0.02);
    expect(relativeError(v1, 666_667)).toBeLessThanOrEqual(0.02);
    expect(relativeError(v2, 333_333)).toBeLessThanOrEqual(0.02);
    // 16 KiB: the lifetime sketch is 2^14 one-byte registers (base64 of 16,384 bytes).
    const registers = (snapshot.raw.versions.v1!.clients as { registers: string }).registers;
    expect(registers.length).toBe(Math.ceil(16_384 / 3) * 4);
    const merged = mergeSnapshots(...parts.map((p) => p.snapshot(at)));
    expect(merged.totalClients).toBe(total);
    expect(merged.lifetime).toEqual(snapshot.lifetime);
    expect(merged.raw).toEqual(snapshot.raw);
  });

  it("stay within 2 % across the range where the exact set turns into registers (3,073 … 200,000)", () => {
    for (const n of [3073, 5000, 12_000, 40_000, 80_000, 200_000]) {
      const stats = createStats({ versions: ["v1"], clock: () => T0 });
      for (let i = 0; i < n; i++) stats.record({ version: "v1", ok: true, client: `u${i}@example.com` }, T0);
      const clients = stats.lifetime(T0).versions.v1!.clients;
      expect(relativeError(clients, n), `n=${n}: ${clients}`).toBeLessThanOrEqual(0.02);
    }
  });

  it("are not skewed by the router's bucketing: the canary's clients (low buckets) are counted as well as anyone's", () => {
    // With the routing seed, the canary's keys would all have small hashes; the stats hash with their own seed.
    const canary: string[] = [];
    for (let i = 0; canary.length < 50_000; i++) {
      const key = `user-${i}`;
      if (bucketOf(key, 0) < 500) canary.push(key); // a 5 % canary
    }
    expect(CLIENT_SEED).not.toBe(0);
    expect(murmur3Signed("user-1", CLIENT_SEED)).not.toBe(murmur3Signed("user-1", 0));
    const stats = createStats({ versions: ["v2"], clock: () => T0 });
    for (const key of canary) stats.record({ version: "v2", ok: true, client: key }, T0);
    const clients = stats.lifetime(T0).versions.v2!.clients;
    expect(relativeError(clients, canary.length)).toBeLessThanOrEqual(0.02);
  });

  it("in the window count only the window's clients (slices of 1 KiB: exact while small, ≈ 3 % beyond)", () => {
    const stats = createStats({ versions: ["v1"], window: "1m", resolution: "10s", clock: () => T0 });
    for (let i = 0; i < 100; i++) stats.record({ version: "v1", ok: true, client: `old-${i}` }, T0);
    for (let i = 0; i < 150; i++) stats.record({ version: "v1", ok: true, client: `new-${i}` }, T0 + 70_000);
    expect(stats.window({ now: T0 + 70_000 }).versions.v1!.clients).toBe(150);
    expect(stats.lifetime(T0 + 70_000).versions.v1!.clients).toBe(250);
    // Many clients per slice: the slice sketches are registers, merged over the window.
    for (let i = 0; i < 20_000; i++) stats.record({ version: "v1", ok: true, client: `many-${i}` }, T0 + 80_000 + (i % 30) * 1000);
    const windowClients = stats.window({ now: T0 + 110_000 }).versions.v1!.clients;
    expect(relativeError(windowClients, 20_150)).toBeLessThanOrEqual(0.1);
  });

  it("in the window are exact up to 3·2^p/16 clients per slice at every window client precision", () => {
    for (const p of [10, 11, 12, 13, 14] as const) {
      const limit = exactLimitOf(p);
      expect(limit).toBe((3 << p) >> 4);
      const stats = createStats({ versions: ["v1"], windowClientPrecision: p, clock: () => T0 });
      // Two slices, each at its exact limit, half of the clients shared: the union is exact too.
      for (let i = 0; i < limit; i++) stats.record({ version: "v1", ok: true, client: `a-${i}` }, T0);
      for (let i = 0; i < limit; i++) stats.record({ version: "v1", ok: true, client: `a-${i + limit / 2}` }, T0 + 10_000);
      stats.record({ version: "v1", ok: true, client: "elsewhere" }, T0 - 3_600_000); // retired: the window cannot answer from the lifetime sketch
      const w = stats.window({ now: T0 + 10_000 });
      expect(w.versions.v1!.clients, `p=${p}`).toBe(limit * 1.5);
      const slice = stats.snapshot(T0 + 10_000).raw.versions.v1!.slices[0]!.clients;
      expect("hashes" in slice, `p=${p}`).toBe(true);
      // One more client in the first slice turns its sketch into 2^p registers.
      stats.record({ version: "v1", ok: true, client: "one-more" }, T0);
      const dense = stats.snapshot(T0 + 10_000).raw.versions.v1!.slices[0]!.clients as { registers: string };
      expect(dense.registers.length, `p=${p}`).toBe(Math.ceil(2 ** p / 3) * 4);
    }
  });

  it("in the window stay within 2 % at 1,000,000 distinct clients with windowClientPrecision 14 (3 seeds, against exact counts)", () => {
    const n = 1_000_000;
    const lines: string[] = [];
    for (const seed of [1, 2, 3]) {
      const stats = createStats({ versions: ["v1", "v2"], windowClientPrecision: 14, clock: () => T0 - 600_000 });
      const { exact, now } = windowWorkload(seed, n, T0, (sample, t) => stats.record(sample, t));
      const w = stats.window({ now });
      expect(w.totals.requests).toBeGreaterThan(n); // the repeats
      expect(stats.lifetime(now).totals.requests).toBe(w.totals.requests + 1000); // the old clients are out of the window
      const errors = {
        total: relativeError(w.totals.clients, exact.total),
        v1: relativeError(w.versions.v1!.clients, exact.v1),
        v2: relativeError(w.versions.v2!.clients, exact.v2),
      };
      lines.push(
        `seed ${seed}: ${w.totals.clients} of ${exact.total} (${(errors.total * 100).toFixed(2)} %), v1 ${w.versions.v1!.clients} of ${exact.v1} ` +
          `(${(errors.v1 * 100).toFixed(2)} %), v2 ${w.versions.v2!.clients} of ${exact.v2} (${(errors.v2 * 100).toFixed(2)} %)`,
      );
      expect(errors.total, lines.at(-1)).toBeLessThanOrEqual(0.02);
      expect(errors.v1, lines.at(-1)).toBeLessThanOrEqual(0.02);
      expect(errors.v2, lines.at(-1)).toBeLessThanOrEqual(0.02);
      // Every slice is 2^14 registers; the snapshot carries them and reads back to the same window.
      const snapshot = stats.snapshot(now);
      expect(snapshot).toMatchObject({ format: "turnout.stats/2", windowClientPrecision: 14 });
      expect(snapshot.window).toEqual(w);
      const slices = snapshot.raw.versions.v1!.slices;
      expect(slices).toHaveLength(29);
      for (const slice of slices) expect((slice.clients as { registers: string }).registers.length).toBe(Math.ceil(16_384 / 3) * 4);
      if (seed === 1) expect(readSnapshot(parseSnapshot(JSON.parse(JSON.stringify(snapshot)))).window({ now })).toEqual(w);
    }
    console.info(`window clients at precision 14, 1,000,000 in the window:\n  ${lines.join("\n  ")}`);
  }, 120_000); // CPU-bound: a busy machine makes it slow, not wrong

  it("in the window merge across instances exactly, and down to the lowest precision as one instance at that precision counts", () => {
    // 300,000 clients over three instances. At 14, 14 and 14 the merge is exactly the whole at 14; with the third
    // at 12 instead, it is exactly the whole at 12 (registers fold from 2^14 to 2^12 losing nothing a 12 would have).
    const at = (p: WindowClientPrecision) => createStats({ versions: ["v1", "v2"], windowClientPrecision: p, clock: () => T0 - 600_000 });
    const [whole14, whole12, a, b, c14, c12] = [at(14), at(12), at(14), at(14), at(14), at(12)];
    let r = 0;
    const { now } = windowWorkload(4, 300_000, T0, (sample, t) => {
      whole14.record(sample, t);
      whole12.record(sample, t);
      const part = r++ % 3;
      if (part === 0) a.record(sample, t);
      else if (part === 1) b.record(sample, t);
      else {
        c14.record(sample, t);
        c12.record(sample, t);
      }
    });
    const [sa, sb, s14, s12] = [a, b, c14, c12].map((s) => JSON.parse(JSON.stringify(s.snapshot(now))) as ReturnType<typeof a.snapshot>);
    expect(mergeSnapshots(sa!, sb!, s14!)).toEqual(whole14.snapshot(now));
    const down = mergeSnapshots(sa!, s12!, sb!);
    expect(down).toMatchObject({ format: "turnout.stats/2", windowClientPrecision: 12 });
    expect(down).toEqual(whole12.snapshot(now));
    expect(down.window).toEqual(whole12.window({ now }));
    expect(relativeError(down.window.totals.clients, 300_000)).toBeLessThanOrEqual(0.05);
  });

  it("hashes a client once per record, even with count", () => {
    const stats = createStats({ versions: ["v1"], clock: () => T0 });
    stats.record({ version: "v1", ok: true, client: "solo", count: 1_000_000 }, T0);
    const s = stats.snapshot(T0);
    expect(s.lifetime.versions.v1!.requests).toBe(1_000_000);
    expect(s.totalClients).toBe(1);
  });

  it("estimate from the registers as Ertl's formula does, σ and τ summed until they stop changing (empty, saturated and mixed registers)", () => {
    // The formula written out with a fixed number of terms, far more than either series needs at these values.
    const sigma = (x: number): number => {
      if (x === 1) return Infinity;
      let [z, y, power] = [x, 1, x];
      for (let k = 0; k < 64; k++) {
        power *= power;
        z += power * y;
        y *= 2;
      }
      return z;
    };
    const tau = (x: number): number => {
      if (x === 0 || x === 1) return 0;
      let [z, y, root] = [1 - x, 1, x];
      for (let k = 0; k < 64; k++) {
        root = Math.sqrt(root);
        y *= 0.5;
        z -= (1 - root) ** 2 * y;
      }
      return z / 3;
    };
    const p = 10;
    const m = 1 << p;
    const q = 32 - p;
    const reference = (regs: Uint8Array): number => {
      const histogram = new Array<number>(q + 2).fill(0);
      for (const r of regs) histogram[Math.min(r, q + 1)]! += 1;
      let z = m * tau(1 - histogram[q + 1]! / m);
      for (let k = q; k >= 1; k--) z = 0.5 * (z + histogram[k]!);
      z += m * sigma(histogram[0]! / m);
      return Math.round((m / (2 * Math.LN2)) * (m / z));
    };
    const registers = (rank: (i: number) => number): Uint8Array => Uint8Array.from({ length: m }, (_, i) => rank(i));
    const cases = {
      "all empty": registers(() => 0),
      "one register set": registers((i) => (i === 7 ? 3 : 0)),
      "half empty": registers((i) => (i % 2 === 0 ? 0 : 1 + (i % 5))),
      "none empty": registers((i) => 1 + (i % 7)),
      "nearly all saturated": registers((i) => (i < 1000 ? q + 1 : 4)),
      "saturated and empty": registers((i) => (i % 3 === 0 ? q + 1 : i % 3 === 1 ? 0 : 2 + (i % 11))),
    };
    const got = Object.fromEntries(Object.entries(cases).map(([name, regs]) => [name, estimate(regs, 0, p)]));
    const want = Object.fromEntries(Object.entries(cases).map(([name, regs]) => [name, reference(regs)]));
    expect(got).toEqual(want);
    // The series matter: a single term of σ at one register in 1,024 set would give another count.
    expect([want["all empty"], want["one register set"]]).toEqual([0, 1]);
    expect(Object.values(want).every((n) => Number.isFinite(n) && n >= 0)).toBe(true);
  });
});

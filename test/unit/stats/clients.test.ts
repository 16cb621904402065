import { describe, expect, it } from "vitest";
import { bucketOf, murmur3Signed } from "../../../src/router/hash.js";
import { CLIENT_SEED, LIFETIME_P, exactLimitOf } from "../../../src/stats/hll.js";
import { createStats, mergeSnapshots } from "../../../src/stats/index.js";

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

  it("hashes a client once per record, even with count", () => {
    const stats = createStats({ versions: ["v1"], clock: () => T0 });
    stats.record({ version: "v1", ok: true, client: "solo", count: 1_000_000 }, T0);
    const s = stats.snapshot(T0);
    expect(s.lifetime.versions.v1!.requests).toBe(1_000_000);
    expect(s.totalClients).toBe(1);
  });
});

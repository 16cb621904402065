// Deterministic randomness for the stats tests.

/** mulberry32: a small, fast, seeded PRNG returning [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal deviate (Box–Muller). */
export function normal(rng: () => number): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The element of rank ⌊q·(n−1)⌋ of sorted values: the one a DDSketch quantile approximates. */
export function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

/** What {@link windowWorkload} recorded: the exact distinct clients in the window, and when to read it. */
export interface WindowWorkload {
  /** Distinct clients in the window: all versions, v1, v2. */
  readonly exact: { readonly total: number; readonly v1: number; readonly v2: number };
  /** Read the window at this `now`: it holds every main-phase record, none of the old ones. */
  readonly now: number;
}

/**
 * The window-count workload (tests and bench/stats.ts share it, so that their figures agree): 1,000 clients at
 * `t0 − 10 min` (out of the window by the time it is read, so that the window does not hold everything and must
 * answer from its slice sketches), then `n` distinct clients over 290 s — client i on v2 when i % 3 = 0, else v1
 * (sticky) — each record followed, with probability ½, by a repeat of an earlier client on its own version. The
 * seed picks the client names (so their hashes), the repeats and which clients repeat.
 */
export function windowWorkload(
  seed: number,
  n: number,
  t0: number,
  record: (sample: { version: string; ok: boolean; client: string }, now: number) => void,
): WindowWorkload {
  const rng = seeded(seed);
  const sample = { version: "v1", ok: true, client: "" };
  for (let i = 0; i < 1000; i++) {
    sample.version = i % 3 === 0 ? "v2" : "v1";
    sample.client = `old-${seed}-${i}`;
    record(sample, t0 - 600_000);
  }
  const prefix = `s${seed}.${Math.floor(rng() * 2 ** 32).toString(36)}.`;
  for (let i = 0; i < n; i++) {
    const t = t0 + Math.floor((i * 290_000) / n);
    sample.version = i % 3 === 0 ? "v2" : "v1";
    sample.client = prefix + i;
    record(sample, t);
    if (rng() < 0.5) {
      const j = Math.floor(rng() * (i + 1));
      sample.version = j % 3 === 0 ? "v2" : "v1";
      sample.client = prefix + j;
      record(sample, t);
    }
  }
  const v2 = Math.ceil(n / 3);
  return { exact: { total: n, v1: n - v2, v2 }, now: t0 + 299_999 };
}

// A DDSketch (Masson, Rim & Lee, VLDB 2019) with a fixed logarithmic index mapping over a bounded latency range,
// stored densely so that adding a value is one `Math.log` and one array write. Two sketches merge by adding their
// bins, which is exact, commutative and associative.
//
// Key of a value x > 0: ceil(ln(x) / ln(γ)) with γ = (1 + α) / (1 − α). Every value in bin k lies in (γ^(k−1), γ^k],
// and the bin's representative 2γ^k / (γ + 1) is within α of each of them (relative error).

import { ByteReader, ByteWriter, fromBase64, toBase64 } from "./codec.js";

/** Relative accuracy of every quantile (1 %). */
export const RELATIVE_ACCURACY = 0.01;
/** Latencies below this (ms) share the zero bin and report as the exact minimum (absolute error < 1 µs). */
export const MIN_INDEXABLE_MS = 0.001;
/** The largest latency accepted (ms), about 27.8 hours; larger values are rejected as invalid. */
export const MAX_LATENCY_MS = 100_000_000;

const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
/** Multiply `Math.log(x)` by this and round up to get the key. */
export const INV_LN_GAMMA = 1 / LN_GAMMA;
/** The key of the smallest indexable value. */
export const MIN_KEY = Math.ceil(Math.log(MIN_INDEXABLE_MS) * INV_LN_GAMMA);
/** The key of the largest accepted value. */
export const MAX_KEY = Math.ceil(Math.log(MAX_LATENCY_MS) * INV_LN_GAMMA);
/** Internal bin of key k is `k − KEY_OFFSET`; bin 0 is the zero bin. */
export const KEY_OFFSET = MIN_KEY - 1;
/** Bins per sketch: the zero bin and one per key from MIN_KEY to MAX_KEY. */
export const BINS = MAX_KEY - KEY_OFFSET + 1;

/** The internal bin of a valid latency (0 ≤ x ≤ MAX_LATENCY_MS). Hot path: one log, no allocation. */
export function binOf(latencyMs: number): number {
  return latencyMs < MIN_INDEXABLE_MS ? 0 : Math.ceil(Math.log(latencyMs) * INV_LN_GAMMA) - KEY_OFFSET;
}

/** The value a bin stands for: 2γ^k / (γ + 1), within α of every value in the bin. */
export function binValue(bin: number): number {
  return (2 * Math.exp((bin + KEY_OFFSET) * LN_GAMMA)) / (GAMMA + 1);
}

/**
 * The q-quantiles (ascending qs) of the values in `bins[base+lo ..= base+hi]`, clamped to [min, max], written to
 * `out`; the extreme ranks are the exact `min` and `max`. `total` is the sum of those bins. The element of rank ⌊q·(total−1)⌋ (0-based, ascending) is the one
 * approximated, which is what the tests compare against.
 */
export function quantilesInto(
  bins: Float64Array,
  base: number,
  lo: number,
  hi: number,
  total: number,
  min: number,
  max: number,
  qs: readonly number[],
  out: number[],
): void {
  let cumulative = 0;
  let bin = lo;
  for (let j = 0; j < qs.length; j++) {
    const rank = Math.floor((qs[j] as number) * (total - 1));
    while (bin < hi && cumulative + (bins[base + bin] as number) <= rank) {
      cumulative += bins[base + bin] as number;
      bin++;
    }
    if (rank <= 0) out[j] = min;
    else if (rank >= total - 1) out[j] = max;
    else {
      const value = bin === 0 ? min : binValue(bin);
      out[j] = value < min ? min : value > max ? max : value;
    }
  }
}

/** Raw sketch bins as they travel in snapshots. */
export interface EncodedBins {
  /** Observations below the indexable minimum (the zero bin). */
  readonly zero: number;
  /** DDSketch key of the first entry of `bins` (ceil(ln(x)/ln γ) with γ = 1.01/0.99). */
  readonly offset: number;
  /** Counts of consecutive keys from `offset`, as base64 LEB128 varints. */
  readonly bins: string;
}

/** Encodes `bins[base+1 ..= base+BINS-1]` (and the zero bin) compactly. */
export function encodeBins(bins: Float64Array, base: number): EncodedBins {
  let lo = 1;
  let hi = BINS - 1;
  while (lo <= hi && bins[base + lo] === 0) lo++;
  while (hi >= lo && bins[base + hi] === 0) hi--;
  const writer = new ByteWriter();
  for (let bin = lo; bin <= hi; bin++) writer.uint(bins[base + bin] as number);
  return { zero: bins[base] as number, offset: lo <= hi ? lo + KEY_OFFSET : 0, bins: toBase64(writer.result()) };
}

/**
 * Adds encoded bins into `bins[base …]`; returns the number of observations added, or an error message.
 * `[lo, hi]` of the touched range is written to `range` when anything was added.
 */
export function addEncodedBins(encoded: EncodedBins, bins: Float64Array, base: number, range: { lo: number; hi: number }): number | string {
  const bytes = fromBase64(encoded.bins);
  if (bytes === undefined) return "bins: not base64";
  const counts: number[] = [];
  const reader = new ByteReader(bytes);
  while (!reader.done) {
    const count = reader.uint();
    if (count < 0) return "bins: malformed varint";
    counts.push(count);
  }
  const first = encoded.offset - KEY_OFFSET;
  if (counts.length > 0 && (first < 1 || first + counts.length - 1 > BINS - 1)) {
    return `bins: keys ${encoded.offset}…${encoded.offset + counts.length - 1} outside ${MIN_KEY}…${MAX_KEY}`;
  }
  let total = encoded.zero;
  if (encoded.zero > 0) {
    bins[base] = (bins[base] as number) + encoded.zero;
    range.lo = 0;
    range.hi = Math.max(range.hi, 0);
  }
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] as number;
    if (count === 0) continue;
    const bin = first + i;
    bins[base + bin] = (bins[base + bin] as number) + count;
    total += count;
    if (bin < range.lo) range.lo = bin;
    if (bin > range.hi) range.hi = bin;
  }
  return total;
}

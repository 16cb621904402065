// Distinct-client counting: a HyperLogLog whose memory starts life as an exact hash set.
//
// A sketch of precision p owns 2^p bytes. While few clients have been seen, those bytes are an open-addressing set
// of 32-bit client hashes (2^p / 4 slots, at most 3/4 full), so small counts are exact. Past that, the same bytes
// become 2^p HyperLogLog registers (one byte each) and the count is Ertl's improved estimator ("New cardinality
// estimation algorithms for HyperLogLog sketches", 2017), which needs no empirical bias tables.
//
// Hashes are MurmurHash3 x86_32 of the client's UTF-8 bytes under CLIENT_SEED, which differs from every routing
// seed: with the router's seed, the clients routed to the canary (a low bucket range, so small hashes) would all
// land in the first registers and wreck the estimate. 32 bits are enough: at a few million distinct clients hash
// collisions bias the count by far less than the sketch's own error (≈ n²/2³³, i.e. 0.01 % at one million).

import { fromBase64, toBase64 } from "./codec.js";

/** Seed of the client hash (the 32-bit golden ratio). Part of the snapshot format. */
export const CLIENT_SEED = 0x9e3779b9 | 0;
/** Stands in for a hash of 0, which marks an empty slot in exact mode. */
export const ZERO_HASH = 0x2545f491;

/** Precision of the lifetime sketch per version: 16 KiB, standard error 1.04/√16384 ≈ 0.81 %. */
export const LIFETIME_P = 14;
/** Default precision of each window slice's sketch: 1 KiB, standard error ≈ 3.25 %. */
export const SLICE_P = 10;
/** Smallest and largest window (slice) precision a stats or a snapshot may use. */
export const MIN_SLICE_P = 10;
export const MAX_SLICE_P = LIFETIME_P;

/** Mode marker stored in a sketch's `size` when it holds registers. */
export const DENSE = -1;

/** Exact-mode slots for precision p. */
export function slotsOf(p: number): number {
  return (1 << p) >> 2;
}

/** Distinct hashes held exactly before a sketch of precision p turns into registers. */
export function exactLimitOf(p: number): number {
  return (slotsOf(p) * 3) >> 2;
}

/**
 * Inserts non-zero `hash` into the exact set at `set[base …]` (slots − 1 = `mask`); returns 1 if it was new.
 * Hot path.
 */
export function setAdd(set: Int32Array, base: number, mask: number, hash: number): number {
  let i = hash & mask;
  for (;;) {
    const x = set[base + i] as number;
    if (x === hash) return 0;
    if (x === 0) {
      set[base + i] = hash;
      return 1;
    }
    i = (i + 1) & mask;
  }
}

/** Raises the register of `hash` in `regs[base …]` (precision p). Hot path. */
export function registerAdd(regs: Uint8Array, base: number, p: number, hash: number): void {
  const index = base + (hash >>> (32 - p));
  const rank = Math.clz32((hash << p) | (1 << (p - 1))) + 1;
  if ((regs[index] as number) < rank) regs[index] = rank;
}

let scratch: Int32Array | undefined;

/** Turns the exact set at `set[base32 …]` into registers in place (same bytes). */
export function densify(set: Int32Array, regs: Uint8Array, base32: number, p: number): void {
  const slots = slotsOf(p);
  if (scratch === undefined || scratch.length < slots) scratch = new Int32Array(Math.max(slots, 1 << (LIFETIME_P - 2)));
  const hashes = scratch;
  let n = 0;
  for (let i = 0; i < slots; i++) {
    const h = set[base32 + i] as number;
    if (h !== 0) hashes[n++] = h;
  }
  set.fill(0, base32, base32 + slots);
  const base8 = base32 * 4;
  for (let i = 0; i < n; i++) registerAdd(regs, base8, p, hashes[i] as number);
}

/** σ and τ of Ertl's estimator. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z !== previous);
  return z / 3;
}

/** Ertl's improved estimate of the distinct hashes behind registers `regs[base …]` (precision p). */
export function estimate(regs: Uint8Array, base: number, p: number): number {
  const m = 1 << p;
  const q = 32 - p;
  const histogram = new Float64Array(q + 2);
  for (let i = 0; i < m; i++) {
    const r = regs[base + i] as number;
    histogram[r > q + 1 ? q + 1 : r]! += 1;
  }
  let z = m * tau(1 - (histogram[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
  z += m * sigma((histogram[0] as number) / m);
  return Math.round((m / (2 * Math.LN2)) * (m / z));
}

/**
 * One distinct-client sketch over caller-owned memory: `size` is the exact count, or {@link DENSE}.
 * The views cover the sketch's 2^p bytes starting at int offset `base32` (byte offset 4·base32).
 */
export interface SketchRef {
  readonly set: Int32Array;
  readonly regs: Uint8Array;
  readonly base32: number;
  readonly p: number;
}

/** The count held by a sketch whose mode/size is `size`. */
export function countOf(ref: SketchRef, size: number): number {
  return size === DENSE ? estimate(ref.regs, ref.base32 * 4, ref.p) : size;
}

/** Adds one hash to a sketch; returns its new size (or DENSE). Used off the hot path (merging, old data). */
export function sketchAdd(ref: SketchRef, size: number, hash: number): number {
  if (size === DENSE) {
    registerAdd(ref.regs, ref.base32 * 4, ref.p, hash);
    return DENSE;
  }
  const next = size + setAdd(ref.set, ref.base32, slotsOf(ref.p) - 1, hash);
  if (next > exactLimitOf(ref.p)) {
    densify(ref.set, ref.regs, ref.base32, ref.p);
    return DENSE;
  }
  return next;
}

/** Merges sketch `from` (same precision) into `into`; returns the new size of `into`. */
export function sketchMerge(into: SketchRef, intoSize: number, from: SketchRef, fromSize: number): number {
  if (fromSize === DENSE) {
    if (intoSize !== DENSE) densify(into.set, into.regs, into.base32, into.p);
    const m = 1 << into.p;
    const a = into.base32 * 4;
    const b = from.base32 * 4;
    for (let i = 0; i < m; i++) {
      const r = from.regs[b + i] as number;
      if ((into.regs[a + i] as number) < r) into.regs[a + i] = r;
    }
    return DENSE;
  }
  let size = intoSize;
  const slots = slotsOf(from.p);
  for (let i = 0; i < slots; i++) {
    const h = from.set[from.base32 + i] as number;
    if (h !== 0) size = sketchAdd(into, size, h);
  }
  return size;
}

/**
 * Counts the union of several sketches of one precision without touching them: exactly while every input is
 * exact, otherwise by the registers' estimate. Reused between reads.
 */
export class ClientUnion {
  private set = new Int32Array(1024);
  private size = 0;
  private regs: Uint8Array;
  private dense = false;

  constructor(private readonly p: number) {
    this.regs = new Uint8Array(1 << p);
  }

  reset(): void {
    if (this.size > 0) this.set.fill(0);
    this.size = 0;
    if (this.dense) this.regs.fill(0);
    this.dense = false;
  }

  add(ref: SketchRef, size: number): void {
    if (size === 0) return;
    if (size === DENSE) {
      this.toDense();
      const m = 1 << this.p;
      const b = ref.base32 * 4;
      for (let i = 0; i < m; i++) {
        const r = ref.regs[b + i] as number;
        if ((this.regs[i] as number) < r) this.regs[i] = r;
      }
      return;
    }
    const slots = slotsOf(ref.p);
    for (let i = 0; i < slots; i++) {
      const h = ref.set[ref.base32 + i] as number;
      if (h === 0) continue;
      if (this.dense) registerAdd(this.regs, 0, this.p, h);
      else this.addExact(h);
    }
  }

  count(): number {
    return this.dense ? estimate(this.regs, 0, this.p) : this.size;
  }

  private addExact(h: number): void {
    if ((this.size + 1) * 2 > this.set.length) {
      const old = this.set;
      this.set = new Int32Array(old.length * 2);
      for (let i = 0; i < old.length; i++) if (old[i] !== 0) setAdd(this.set, 0, this.set.length - 1, old[i] as number);
    }
    this.size += setAdd(this.set, 0, this.set.length - 1, h);
  }

  private toDense(): void {
    if (this.dense) return;
    this.dense = true;
    if (this.size === 0) return;
    for (let i = 0; i < this.set.length; i++) {
      const h = this.set[i] as number;
      if (h !== 0) registerAdd(this.regs, 0, this.p, h);
    }
    this.set.fill(0);
    this.size = 0;
  }
}

/** A distinct-client sketch as it travels in snapshots: exact hashes, or registers. */
export type EncodedClients =
  | { /** Sorted unsigned 32-bit hashes, 4 bytes big-endian each, base64. */ readonly hashes: string }
  | { /** One byte per register, base64. */ readonly registers: string };

/** Encodes a sketch canonically (sorted hashes, or the registers). */
export function encodeClients(ref: SketchRef, size: number): EncodedClients {
  if (size === DENSE) {
    const start = ref.base32 * 4;
    return { registers: toBase64(ref.regs.subarray(start, start + (1 << ref.p))) };
  }
  const hashes: number[] = [];
  const slots = slotsOf(ref.p);
  for (let i = 0; i < slots; i++) {
    const h = ref.set[ref.base32 + i] as number;
    if (h !== 0) hashes.push(h >>> 0);
  }
  hashes.sort((a, b) => a - b);
  const bytes = new Uint8Array(hashes.length * 4);
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i] as number;
    bytes[i * 4] = h >>> 24;
    bytes[i * 4 + 1] = (h >>> 16) & 0xff;
    bytes[i * 4 + 2] = (h >>> 8) & 0xff;
    bytes[i * 4 + 3] = h & 0xff;
  }
  return { hashes: toBase64(bytes) };
}

/**
 * Folds registers of precision `from` into the registers of a sketch of precision `q` ≤ `from` (at
 * `regs[base8 …]`), max-wise. Exact: register i of precision `from` covers the hashes whose top `from` bits are i;
 * at precision q they go to register i >> (from − q), with the rank counted from bit q on. When i's low
 * (from − q) bits are not all zero, that rank is fixed by them (their leading zeros + 1); when they are zero, it is
 * (from − q) + the old rank. So the folded registers are those of a precision-q sketch of the same clients.
 */
export function foldRegisters(bytes: Uint8Array, from: number, regs: Uint8Array, base8: number, q: number): void {
  const shift = from - q;
  const lowMask = (1 << shift) - 1;
  const n = 1 << from;
  for (let i = 0; i < n; i++) {
    const r = bytes[i] as number;
    if (r === 0) continue;
    const low = i & lowMask;
    const rank = low !== 0 ? Math.clz32(low) - (32 - shift) + 1 : shift + r;
    const j = base8 + (i >>> shift);
    if ((regs[j] as number) < rank) regs[j] = rank;
  }
}

/**
 * Merges an encoded sketch of precision `from` (≥ `into.p`; default `into.p`) into `into`; returns the new size,
 * or an error message when the encoding is invalid for precision `from` (not base64, wrong length, a zero or
 * repeated hash, too many hashes, a register above its maximum). Registers of a higher precision are folded
 * ({@link foldRegisters}); hashes are full 32-bit hashes whatever the precision, so they are simply added.
 */
export function mergeEncodedClients(into: SketchRef, intoSize: number, encoded: EncodedClients, from: number = into.p): number | string {
  const p = into.p;
  if ("registers" in encoded) {
    const bytes = typeof encoded.registers === "string" ? fromBase64(encoded.registers) : undefined;
    if (bytes === undefined) return "registers: not base64";
    if (bytes.length !== 1 << from) return `registers: ${bytes.length} bytes, expected ${1 << from}`;
    const maxRank = 32 - from + 1;
    for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) > maxRank) return `registers: value above ${maxRank}`;
    if (intoSize !== DENSE) densify(into.set, into.regs, into.base32, p);
    foldRegisters(bytes, from, into.regs, into.base32 * 4, p);
    return DENSE;
  }
  const bytes = typeof encoded.hashes === "string" ? fromBase64(encoded.hashes) : undefined;
  if (bytes === undefined) return "hashes: not base64";
  if (bytes.length % 4 !== 0) return "hashes: length is not a multiple of 4 bytes";
  const n = bytes.length / 4;
  if (n > exactLimitOf(from)) return `hashes: ${n} hashes, at most ${exactLimitOf(from)} allowed`;
  let previous = 0;
  let size = intoSize;
  for (let i = 0; i < n; i++) {
    const h =
      (((bytes[i * 4] as number) << 24) | ((bytes[i * 4 + 1] as number) << 16) | ((bytes[i * 4 + 2] as number) << 8) | (bytes[i * 4 + 3] as number)) >>> 0;
    if (h <= previous) return "hashes: not strictly increasing non-zero values";
    previous = h;
    size = sketchAdd(into, size, h | 0);
  }
  return size;
}

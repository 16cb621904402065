/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of a string, computed straight from `charCodeAt` so that no bytes
 * are ever materialised. Identical to `murmurhash3js-revisited`'s `x86.hash32(new TextEncoder().encode(s), seed)`
 * for every string, lone surrogates included (they encode as U+FFFD, as TextEncoder does); a property test holds it
 * to that.
 *
 * The bucketing contract (also in the README):
 *   seed   = murmur3_x86_32(utf8(salt), 0)            — the salt enters as the seed, never concatenated
 *   hash   = murmur3_x86_32(utf8(key), seed)          — an unsigned 32-bit integer
 *   bucket = floor(hash × 10 000 / 2^32)              — exact in IEEE doubles (hash × 10 000 < 2^53)
 */

/** Buckets per hash space: weights resolve to 0.01 %. */
export const BUCKETS = 10_000;

// V8 details shape this file (each measured; see docs/readme/router-perf.md):
// - MurmurHash3's constants are written as literals, not as module constants: V8 keeps a module-level constant above
//   2^30 as a heap number in the module context, loaded and unboxed at every use, where a literal is an immediate.
// - Characters are read with `at.call(key, i)`, `at` being `String.prototype.charCodeAt`, not with `key.charCodeAt(i)`:
//   the latter looks `charCodeAt` up on the key, and keys come in many string representations (sequential, sliced,
//   cons, thin, internalized; one- or two-byte), each a different map; past four, that lookup turns megamorphic and
//   costs more than the hash itself (decide at 8× the floor after some two-byte keys). On `String.prototype` it is a
//   constant, and V8 compiles the call to the same machine code as a monomorphic `key.charCodeAt(i)`. For the same
//   reason `key.length` is read from `"" + key` (no copy: the same string, which V8 then knows to be a string).
// - `at` and `imul` are local aliases, not module constants (V8 folds a local alias of `Math.imul` to the builtin; a
//   module constant it calls generically), and they keep the bytecode small: V8 inlines a function into its caller only
//   within a bytecode budget, and decide is fastest with the hash inlined.

/** Mixes one little-endian 4-byte block into the running hash (c1 = 0xcc9e2d51, c2 = 0x1b873593). */
function mixBlock(h: number, k: number): number {
  const imul = Math.imul;
  k = imul(k, 0xcc9e2d51);
  h ^= imul((k << 15) | (k >>> 17), 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return ((h << 2) + h + 0xe6546b64) | 0; // h × 5 + n (mod 2^32), as Math.imul(h, 5) + n: exact below 2^53
}

/** Mixes the last, partial block (1–3 bytes, little-endian) into the running hash. */
function mixTail(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  return h ^ Math.imul((k << 15) | (k >>> 17), 0x1b873593);
}

/** The finalisation mix (`h` already XOR-ed with the length in bytes); returns the signed 32-bit hash. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The general loop, for keys with a character ≥ 0x80: UTF-8 bytes are computed from `charCodeAt` and gathered into
 * `block` little-endian; every fourth byte flushes the block into the hash. Returns the signed 32-bit hash.
 */
function murmur3Utf8(key: string, seed: number): number {
  const at = String.prototype.charCodeAt;
  let h = seed | 0;
  let block = 0;
  let filled = 0; // bytes waiting in `block`, 0–3
  let length = 0; // UTF-8 bytes seen
  const n = key.length;
  let i = 0;
  while (i < n) {
    let c = at.call(key, i++);
    // Fast path: four ASCII characters on a block boundary make one block directly.
    if (filled === 0 && c < 0x80 && i + 2 < n) {
      const c1 = at.call(key, i);
      const c2 = at.call(key, i + 1);
      const c3 = at.call(key, i + 2);
      if ((c1 | c2 | c3) < 0x80) {
        h = mixBlock(h, c | (c1 << 8) | (c2 << 16) | (c3 << 24));
        i += 3;
        length += 4;
        continue;
      }
    }
    let bytes: number; // up to four UTF-8 bytes packed little-endian
    let count: number;
    if (c < 0x80) {
      bytes = c;
      count = 1;
    } else if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i < n ? at.call(key, i) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          bytes = 0xf0 | (c >> 18) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
          count = 4;
        } else {
          c = 0xfffd; // a lone surrogate encodes as U+FFFD, exactly as TextEncoder does
          bytes = 0xef | (0xbf << 8) | (0xbd << 16);
          count = 3;
        }
      } else {
        bytes = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      }
    }
    length += count;
    for (let b = 0; b < count; b++) {
      block |= ((bytes >>> (b * 8)) & 0xff) << (filled * 8);
      if (++filled === 4) {
        h = mixBlock(h, block);
        block = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) h = mixTail(h, block);
  return fmix(h ^ length);
}

/**
 * The core: returns the hash as a signed 32-bit integer (a small integer for V8, never a boxed number); `>>> 0`
 * gives the unsigned value. Internal hot paths (bucketing, distinct-client sketches) use this form.
 *
 * ASCII keys (ids, UUIDs: the common case) take the plain four-characters-per-block loop — for them a character is a
 * byte — while every character code is OR-ed into `seen`; a key with any character ≥ 0x80 is then hashed again, from
 * the start, by the general UTF-8 loop. Hot path: no allocation, no boxing, and small enough for V8 to inline.
 *
 * @example
 * ```ts
 * murmur3Signed("user-123", 0) >>> 0; // 2674956871
 * ```
 */
export function murmur3Signed(key: string, seed: number): number {
  // Written for a small bytecode (see above): 451 bytes, and V8 never inlines a function above 460. Check with
  // `node --print-bytecode --print-bytecode-filter=murmur3Signed` after any change here.
  key = "" + key; // the same string, now typed as one for V8: `key.length` is a field load whatever its map
  const at = String.prototype.charCodeAt;
  const imul = Math.imul;
  const n = key.length;
  const blocks = n & ~3;
  let h = seed | 0;
  let seen = 0; // every character code OR-ed together: ≥ 0x80 means the key is not ASCII
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = at.call(key, i);
    const c1 = at.call(key, i + 1);
    const c2 = at.call(key, i + 2);
    const c3 = at.call(key, i + 3);
    seen |= c0 | c1 | c2 | c3;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = n - blocks;
  if (rest > 0) {
    let k = at.call(key, i);
    seen |= k;
    if (rest > 1) {
      const c = at.call(key, i + 1);
      seen |= c;
      k |= c << 8;
    }
    if (rest > 2) {
      const c = at.call(key, i + 2);
      seen |= c;
      k |= c << 16;
    }
    k = imul(k, 0xcc9e2d51);
    h ^= imul((k << 15) | (k >>> 17), 0x1b873593);
  }
  if (seen >= 0x80) return murmur3Utf8(key, seed);
  h ^= n;
  h = imul(h ^ (h >>> 16), 0x85ebca6b);
  h = imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * MurmurHash3 x86 32-bit of the UTF-8 bytes of `key`, as an unsigned integer.
 *
 * @example
 * ```ts
 * murmur3("user-123", 0); // 2674956871 — the same as murmurhash3js-revisited over TextEncoder bytes
 * ```
 */
export function murmur3(key: string, seed = 0): number {
  return murmur3Signed(key, seed) >>> 0;
}

/**
 * The hash seed for a salt: `murmur3(salt, 0)`. The empty salt gives seed 0.
 *
 * @example
 * ```ts
 * const seed = seedOf("checkout-v2-2024");
 * ```
 */
export function seedOf(salt: string): number {
  return murmur3Signed(salt, 0);
}

/**
 * The bucket (0–9999) of `key` under `seed`: `floor(hash × 10 000 / 2^32)`.
 * Hot path: returns a small integer, so V8 never boxes the result.
 *
 * @example
 * ```ts
 * bucketOf("user-123", seedOf("")); // 6228
 * ```
 */
export function bucketOf(key: string, seed: number): number {
  return Math.floor(((murmur3Signed(key, seed) >>> 0) * 10_000) / 4294967296); // 10 000 = BUCKETS, as a literal
}

/**
 * The least unsigned hash whose bucket is `bucket` or more: `bucketOf(key, seed) < bucket` exactly when
 * `murmur3Signed(key, seed) >>> 0 < hashBound(bucket)`, so a split can compare hashes and skip the bucket arithmetic.
 * Computed in exact integers: ⌈bucket × 2^32 / 10 000⌉ = ⌈bucket × 2^28 / 625⌉ (all operands below 2^53).
 *
 * @example
 * ```ts
 * hashBound(5_000); // 2147483648: the upper half of the hash space is buckets 5000–9999
 * ```
 */
export function hashBound(bucket: number): number {
  return Math.floor((bucket * 268_435_456 + 624) / 625);
}

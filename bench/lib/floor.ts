/**
 * The floor: the least work any sticky assignment must do — MurmurHash3 x86_32 over the key's bytes, then the
 * bucket — written as plainly as possible for ASCII keys (one byte per `charCodeAt`, four per block, no UTF-8
 * handling at all). Nothing can route a keyed request faster than it hashes the key, so `decide` is measured
 * as a ratio to this. It returns the bucket (a small integer), as `bucketOf` does, so that neither boxes its
 * result.
 *
 * Only valid for ASCII keys: the suites check it against `murmurhash3js-revisited` on every key they use.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3 x86_32 of an ASCII string, as a signed 32-bit integer (`>>> 0` for the unsigned value).
 *
 * @example
 * ```ts
 * floorHash("user-123", 0) >>> 0; // 2674956871
 * ```
 */
export function floorHash(key: string, seed: number): number {
  const n = key.length;
  const blocks = n & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = n - blocks;
  if (rest > 0) {
    let k = key.charCodeAt(i);
    if (rest > 1) k |= key.charCodeAt(i + 1) << 8;
    if (rest > 2) k |= key.charCodeAt(i + 2) << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * The floor proper: the bucket (0–9999) of an ASCII key, `floor(hash × 10 000 / 2^32)` — turnout's mapping.
 *
 * @example
 * ```ts
 * floorBucket("user-123", 0); // 6228
 * ```
 */
export function floorBucket(key: string, seed: number): number {
  return Math.floor(((floorHash(key, seed) >>> 0) * 10_000) / 4294967296);
}

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

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes one little-endian 4-byte block into the running hash. */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * The core: returns the hash as a signed 32-bit integer (a small integer for V8, never a boxed number); `>>> 0`
 * gives the unsigned value. Internal hot paths (bucketing, distinct-client sketches) use this form.
 * Bytes are gathered into `block` little-endian; every fourth byte flushes the block into the hash.
 *
 * @example
 * ```ts
 * murmur3Signed("user-123", 0) >>> 0; // 2674956871
 * ```
 */
export function murmur3Signed(key: string, seed: number): number {
  let h = seed | 0;
  let block = 0;
  let filled = 0; // bytes waiting in `block`, 0–3
  let length = 0; // UTF-8 bytes seen
  const n = key.length;
  let i = 0;
  while (i < n) {
    let c = key.charCodeAt(i++);
    // Fast path: four ASCII characters on a block boundary make one block directly.
    if (filled === 0 && c < 0x80 && i + 2 < n) {
      const c1 = key.charCodeAt(i);
      const c2 = key.charCodeAt(i + 1);
      const c3 = key.charCodeAt(i + 2);
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
      bytes = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i < n ? key.charCodeAt(i) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          bytes =
            (0xf0 | (c >> 18)) |
            ((0x80 | ((c >> 12) & 0x3f)) << 8) |
            ((0x80 | ((c >> 6) & 0x3f)) << 16) |
            ((0x80 | (c & 0x3f)) << 24);
          count = 4;
        } else {
          c = 0xfffd; // a lone surrogate encodes as U+FFFD, exactly as TextEncoder does
          bytes = 0xef | (0xbf << 8) | (0xbd << 16);
          count = 3;
        }
      } else {
        bytes = (0xe0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
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
  if (filled > 0) {
    block = Math.imul(block, C1);
    block = (block << 15) | (block >>> 17);
    block = Math.imul(block, C2);
    h ^= block;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
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
  return Math.floor(((murmur3Signed(key, seed) >>> 0) * BUCKETS) / 4294967296);
}

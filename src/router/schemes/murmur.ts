/**
 * MurmurHash3 x86 32-bit over `prefix + key` without building the concatenated string, in the byte encodings that
 * feature-flag SDKs actually hash (they differ outside ASCII):
 *
 * - `Utf8`: the UTF-8 bytes (lone surrogates as U+FFFD) — Unleash's Go/Java/Rust SDKs, flagd (Go), and turnout's own hash.
 * - `Latin1`: the low byte of each UTF-16 code unit, one byte per code unit — `murmurhash3js`, used by
 *   unleash-client-node.
 * - `Imurmur`: `imurmurhash`'s reading of UTF-16 code units (a code unit's high byte overlaps the next byte position,
 *   and a final partial block with its top bit set is not mixed) — used by @openfeature/flagd-core.
 *
 * All three agree on ASCII. The prefix (`groupId:`, a flag key) is hashed once, at compile time, into a
 * {@link MurmurPrefix}; `murmurAfter` continues from it for each key. Hot path: no allocation.
 */

/** Byte encodings of a string before hashing. */
export const MurmurEncoding = { Utf8: 0, Latin1: 1, Imurmur: 2 } as const;
export type MurmurEncoding = (typeof MurmurEncoding)[keyof typeof MurmurEncoding];

/** The running hash after a prefix: `h`, the pending partial block `k` with `pos` bytes in it, and the length so far. */
export interface MurmurPrefix {
  readonly h: number;
  readonly k: number;
  readonly pos: number;
  readonly length: number;
  readonly encoding: MurmurEncoding;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  h ^= Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, k: number, length: number): number {
  // Standard MurmurHash3 mixes any tail; `k` then holds at most three bytes, so `k > 0` is the same test. imurmurhash
  // skips a tail whose top bit is set, which only its overlapping code units can produce.
  if (k > 0) {
    k = Math.imul(k, 0xcc9e2d51);
    h ^= Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  }
  h ^= length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Scratch state of the general loop: h, k, pos, length. Module-level so that the general path allocates nothing. */
const STATE = new Int32Array(4);

/** Feeds one string into STATE in `encoding`, one byte (or code unit) at a time. */
function feed(text: string, encoding: MurmurEncoding): void {
  let h = STATE[0]!;
  let k = STATE[1]!;
  let pos = STATE[2]!;
  let length = STATE[3]!;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (encoding === MurmurEncoding.Imurmur) {
      k ^= pos < 3 ? (c & 0xffff) << (pos * 8) : ((c & 0xff) << 24) ^ ((c & 0xff00) >> 8);
      length++;
      if (++pos === 4) {
        h = mixBlock(h, k);
        k = 0;
        pos = 0;
      }
      continue;
    }
    let bytes: number;
    let count: number;
    if (encoding === MurmurEncoding.Latin1 || c < 0x80) {
      bytes = c & 0xff;
      count = 1;
    } else if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        bytes = 0xf0 | (c >> 18) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
        count = 4;
      } else {
        bytes = 0xef | (0xbf << 8) | (0xbd << 16); // a lone surrogate encodes as U+FFFD
        count = 3;
      }
    } else {
      bytes = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    }
    length += count;
    for (let b = 0; b < count; b++) {
      k |= ((bytes >>> (b * 8)) & 0xff) << (pos * 8);
      if (++pos === 4) {
        h = mixBlock(h, k);
        k = 0;
        pos = 0;
      }
    }
  }
  STATE[0] = h;
  STATE[1] = k;
  STATE[2] = pos;
  STATE[3] = length;
}

/**
 * The state after hashing `prefix` with `seed` (compile time).
 *
 * @example
 * ```ts
 * const group = murmurPrefix("checkout:", 0, MurmurEncoding.Utf8);
 * murmurAfter(group, "user-1") >>> 0; // murmur3("checkout:user-1", 0)
 * ```
 */
export function murmurPrefix(prefix: string, seed: number, encoding: MurmurEncoding): MurmurPrefix {
  STATE[0] = seed | 0;
  STATE[1] = 0;
  STATE[2] = 0;
  STATE[3] = 0;
  feed(prefix, encoding);
  return { h: STATE[0]!, k: STATE[1]!, pos: STATE[2]!, length: STATE[3]!, encoding };
}

/** The general path: continue from `prefix` over `key` one unit at a time. */
function murmurAfterGeneral(prefix: MurmurPrefix, key: string): number {
  STATE[0] = prefix.h;
  STATE[1] = prefix.k;
  STATE[2] = prefix.pos;
  STATE[3] = prefix.length;
  feed(key, prefix.encoding);
  return finish(STATE[0]!, STATE[1]!, STATE[3]!);
}

/**
 * MurmurHash3 of `prefix + key` (signed 32-bit; `>>> 0` for the unsigned value). ASCII keys (and every key in
 * `Latin1`) take four characters per block, shifted into place behind the prefix's pending bytes; a key with a
 * character ≥ 0x80 is hashed again by the general loop. Hot path: no allocation.
 *
 * @example
 * ```ts
 * murmurAfter(murmurPrefix("", 0, MurmurEncoding.Utf8), "user-123") >>> 0; // 2674956871, as murmur3("user-123")
 * ```
 */
export function murmurAfter(prefix: MurmurPrefix, key: string): number {
  key = "" + key;
  const latin1 = prefix.encoding === MurmurEncoding.Latin1;
  const n = key.length;
  const blocks = n & ~3;
  const shift = prefix.pos * 8;
  let h = prefix.h;
  let k = prefix.k;
  let seen = 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    seen |= c0 | c1 | c2 | c3;
    const word = (c0 & 0xff) | ((c1 & 0xff) << 8) | ((c2 & 0xff) << 16) | (c3 << 24);
    if (shift === 0) {
      h = mixBlock(h, word);
    } else {
      h = mixBlock(h, k ^ (word << shift)); // XOR: imurmurhash's pending bits may overlap (for the others it is OR)
      k = word >>> (32 - shift);
    }
  }
  let pos = prefix.pos;
  for (; i < n; i++) {
    const c = key.charCodeAt(i);
    seen |= c;
    k ^= (c & 0xff) << (pos * 8);
    if (++pos === 4) {
      h = mixBlock(h, k);
      k = 0;
      pos = 0;
    }
  }
  if (seen >= 0x80 && !latin1) return murmurAfterGeneral(prefix, key);
  return finish(h, k, prefix.length + n);
}

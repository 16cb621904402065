/**
 * Candidate changes to turnout's hot path, measured here before they are proposed (the router's files belong to
 * the lead). Each candidate must be byte-identical to what it would replace: the suites check it on their keys,
 * and `checkCandidateHash` on random strings with every kind of UTF-16 content, lone surrogates included.
 *
 * murmur3SignedAsciiFirst: the same MurmurHash3 x86_32 over UTF-8 as `src/router/hash.ts`, restructured so that an
 * ASCII key (the common case: ids, UUIDs) runs the plain four-characters-per-block loop of the floor, including
 * its 1–3 character tail, and only a key with a non-ASCII character continues, from that block, in the general
 * UTF-8 loop. In hash.ts today the tail of every key whose length is not a multiple of 4 goes through the general
 * byte-at-a-time loop, which is what makes `bucketOf` ~1.4× the floor on short keys like `user-123`.
 */
import murmur from "murmurhash3js-revisited";
import { splitmix32 } from "./keys.js";

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * The general UTF-8 loop of hash.ts, entered at character `i` on a block boundary with `h` mixed so far and
 * `length` UTF-8 bytes seen (unchanged from hash.ts apart from the starting state).
 */
function utf8From(key: string, h: number, i: number, length: number): number {
  let block = 0;
  let filled = 0;
  const n = key.length;
  while (i < n) {
    let c = key.charCodeAt(i++);
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
    let bytes: number;
    let count: number;
    if (c < 0x80) {
      bytes = c;
      count = 1;
    } else if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i < n ? key.charCodeAt(i) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          bytes = 0xf0 | (c >> 18) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
          count = 4;
        } else {
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
  if (filled > 0) {
    block = Math.imul(block, C1);
    block = (block << 15) | (block >>> 17);
    block = Math.imul(block, C2);
    h ^= block;
  }
  return finalMix(h, length);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `key`, signed; ASCII keys take the floor's loop.
 *
 * @example
 * ```ts
 * murmur3SignedAsciiFirst("user-123", 0) >>> 0; // 2674956871
 * ```
 */
export function murmur3SignedAsciiFirst(key: string, seed: number): number {
  const n = key.length;
  const blocks = n & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return utf8From(key, h, i, i);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = n - i;
  if (rest > 0) {
    const c0 = key.charCodeAt(i);
    const c1 = rest > 1 ? key.charCodeAt(i + 1) : 0;
    const c2 = rest > 2 ? key.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) >= 0x80) return utf8From(key, h, i, i);
    let k = c0 | (c1 << 8) | (c2 << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return finalMix(h, n);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `key`, signed: optimistic version. The floor's loop runs over the
 * characters as if they were bytes while OR-ing them together; if any was ≥ 0x80 the result is thrown away and the
 * general UTF-8 loop (hash.ts's, unchanged) hashes the key from the start. ASCII keys pay one OR per character;
 * other keys hash twice (they are rare, and still correct).
 *
 * @example
 * ```ts
 * murmur3SignedOptimistic("user-123", 0) >>> 0; // 2674956871
 * ```
 */
export function murmur3SignedOptimistic(key: string, seed: number): number {
  const n = key.length;
  const blocks = n & ~3;
  let h = seed | 0;
  let seen = 0; // every character code OR-ed together: ≥ 0x80 means the key is not ASCII
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    seen |= c0 | c1 | c2 | c3;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = n - i;
  if (rest > 0) {
    let k = key.charCodeAt(i);
    if (rest > 1) k |= key.charCodeAt(i + 1) << 8;
    if (rest > 2) k |= key.charCodeAt(i + 2) << 16;
    seen |= key.charCodeAt(i) | (rest > 1 ? key.charCodeAt(i + 1) : 0) | (rest > 2 ? key.charCodeAt(i + 2) : 0);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  if (seen >= 0x80) return utf8From(key, seed | 0, 0, 0);
  return finalMix(h, n);
}

/**
 * `bucketOf` over the optimistic candidate hash.
 *
 * @example
 * ```ts
 * bucketOfOptimistic("user-123", 0); // 6228
 * ```
 */
export function bucketOfOptimistic(key: string, seed: number): number {
  return Math.floor(((murmur3SignedOptimistic(key, seed) >>> 0) * 10_000) / 4294967296);
}

/**
 * `bucketOf` over the candidate hash.
 *
 * @example
 * ```ts
 * bucketOfAsciiFirst("user-123", 0); // 6228
 * ```
 */
export function bucketOfAsciiFirst(key: string, seed: number): number {
  return Math.floor(((murmur3SignedAsciiFirst(key, seed) >>> 0) * 10_000) / 4294967296);
}

/** Throws unless the candidate equals murmurhash3js-revisited over TextEncoder bytes on `count` random strings. */
export function checkCandidateHash(count = 20_000): void {
  const next = splitmix32(0xc0ffee);
  const encoder = new TextEncoder();
  const pools = [
    () => 0x20 + (next() % 0x5f), // printable ASCII
    () => next() % 0x80, // any ASCII
    () => 0x80 + (next() % 0x780), // two-byte UTF-8
    () => 0x800 + (next() % 0xf7ff), // three-byte, surrogates included (paired or lone)
    () => 0xd800 + (next() % 0x800), // surrogates only
  ];
  for (let t = 0; t < count; t++) {
    const length = next() % 40;
    let s = "";
    for (let j = 0; j < length; j++) s += String.fromCharCode(pools[next() % (t % 7 === 0 ? 5 : next() % 2 === 0 ? 1 : 5)]!());
    for (const seed of [0, 0x9747b28c | 0]) {
      const want = murmur.x86.hash32(encoder.encode(s), seed >>> 0);
      const got = murmur3SignedAsciiFirst(s, seed) >>> 0;
      if (got !== want) throw new Error(`candidate hash differs on ${JSON.stringify(s)} (seed ${seed}): ${got} ≠ ${want}`);
      const optimistic = murmur3SignedOptimistic(s, seed) >>> 0;
      if (optimistic !== want) throw new Error(`optimistic hash differs on ${JSON.stringify(s)} (seed ${seed}): ${optimistic} ≠ ${want}`);
    }
  }
}

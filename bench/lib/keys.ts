/**
 * Deterministic benchmark keys: the same run after run, on every machine, so figures are comparable.
 *
 * Two shapes, as the table: short user ids (`user-48213`) and UUIDs (`3f2a…`, 36 characters).
 * Every string is flat (a sequential string, as an HTTP parser produces), never a cons-string left over from
 * concatenation: V8 would flatten those on first access and the first pass would cost more than the rest.
 */

/** Splitmix32: a tiny, well-mixed deterministic generator of 32-bit unsigned integers. */
export function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A copy of `s` as a flat, sequential string. */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** The default number of keys per set: a power of two, so cycling is a mask. */
export const KEY_COUNT = 1024;

/**
 * `count` distinct short keys like `user-123` … `user-999999`.
 *
 * @example
 * ```ts
 * shortKeys(4); // ["user-771", "user-402519", …] — the same every run
 * ```
 */
export function shortKeys(count = KEY_COUNT, seed = 0x5eed1): string[] {
  const next = splitmix32(seed);
  const seen = new Set<string>();
  while (seen.size < count) seen.add(flat(`user-${1 + (next() % 999_999)}`));
  return [...seen];
}

/**
 * `count` distinct version-4 UUIDs (lower case, 36 characters).
 *
 * @example
 * ```ts
 * uuidKeys(1)[0]; // "c0a8f3e2-…-4…-…" — the same every run
 * ```
 */
export function uuidKeys(count = KEY_COUNT, seed = 0x5eed2): string[] {
  const next = splitmix32(seed);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, "0").slice(-width);
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = next();
    const b = next();
    const c = next();
    const d = next();
    const version = (b & 0xffff0fff) | 0x4000; // version nibble 4
    const variant = ((c >>> 16) & 0x3fff) | 0x8000; // RFC 4122 variant 10xx
    keys.push(flat(`${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(version & 0xffff, 4)}-${hex(variant, 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`));
  }
  return keys;
}

/**
 * A function returning the keys in turn, forever (`keys.length` must be a power of two).
 * Every benchmark case pays this same ~1 ns, the floor included.
 *
 * @example
 * ```ts
 * const next = cycle(shortKeys());
 * next(); next(); // "user-…", "user-…"
 * ```
 */
export function cycle<T>(items: readonly T[]): () => T {
  const mask = items.length - 1;
  if (items.length === 0 || (items.length & mask) !== 0) throw new RangeError("cycle() needs a power-of-two length");
  let i = 0;
  return () => items[(i = (i + 1) & mask)] as T;
}

/** The two key sets every suite uses, by name. */
export const KEY_SETS = {
  short: shortKeys,
  uuid: uuidKeys,
} as const;
/** `short` or `uuid`. */
export type KeySetName = keyof typeof KEY_SETS;

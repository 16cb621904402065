/**
 * FNV-1a 32-bit, as GrowthBook's SDKs hash (offset basis 0x811c9dc5, prime 0x01000193). The SDKs disagree on what
 * they feed it outside ASCII:
 *
 * - `Utf16`: each UTF-16 code unit, whole (the JavaScript SDK's `charCodeAt`);
 * - `Utf8`: the UTF-8 bytes (the Go SDK's `[]byte(s)`; lone surrogates as U+FFFD);
 * - `CodePoint`: each Unicode code point, whole (the Python SDK's `ord(c)`).
 *
 * The hash is streamed: `fnvFeed(fnvFeed(FNV_OFFSET, a), b)` is the hash of `a + b`, with nothing concatenated.
 */

/** What one step of FNV-1a XORs into the hash. */
export const FnvEncoding = { Utf16: 0, Utf8: 1, CodePoint: 2 } as const;
export type FnvEncoding = (typeof FnvEncoding)[keyof typeof FnvEncoding];

/** The FNV-1a 32-bit offset basis, as a signed 32-bit integer. */
export const FNV_OFFSET = 0x811c9dc5 | 0;

/** One step of FNV-1a: XOR the unit in, multiply by the FNV prime (mod 2^32). */
const PRIME = 16777619;

/**
 * Continues the FNV-1a hash `h` (signed 32-bit) over `text`. Hot path: no allocation.
 *
 * Every code unit is fed whole first, in one tight loop (the hash is a chain of dependent multiplications, so nothing
 * else belongs in the loop); that is already the answer for `Utf16`, and for the others when the text is ASCII. A text
 * with a unit ≥ 0x80 is hashed again by the general loop in `Utf8` or `CodePoint`.
 *
 * @example
 * ```ts
 * fnvFeed(FNV_OFFSET, "a", FnvEncoding.Utf16) >>> 0; // 0xe40c292c
 * ```
 */
export function fnvFeed(h: number, text: string, encoding: FnvEncoding): number {
  const n = text.length;
  let seen = 0;
  let out = h;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    seen |= c;
    out = Math.imul(out ^ c, PRIME);
  }
  return seen < 0x80 || encoding === FnvEncoding.Utf16 ? out : fnvGeneral(h, text, encoding);
}

/** `Utf8` and `CodePoint` outside ASCII: one code point at a time. */
function fnvGeneral(h: number, text: string, encoding: FnvEncoding): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      }
    }
    if (encoding === FnvEncoding.CodePoint || c < 0x80) {
      h = Math.imul(h ^ c, PRIME);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), PRIME);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate encodes as U+FFFD
      if (c >= 0x10000) {
        h = Math.imul(h ^ (0xf0 | (c >> 18)), PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), PRIME);
      } else {
        h = Math.imul(h ^ (0xe0 | (c >> 12)), PRIME);
      }
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), PRIME);
    }
  }
  return h;
}

/**
 * Continues the FNV-1a hash `h` over the decimal digits of `value` (an unsigned 32-bit integer), as hashing
 * `String(value)` would, without making the string.
 *
 * @example
 * ```ts
 * fnvDigits(FNV_OFFSET, 42) === fnvFeed(FNV_OFFSET, "42", FnvEncoding.Utf16); // true
 * ```
 */
export function fnvDigits(h: number, value: number): number {
  // In two halves below 100 000, so that every digit comes from an int32 division by a constant (which the compiler
  // turns into a multiplication), never from a floating-point division: value / 100 000 = (value >>> 5) / 3125.
  if (value < 100_000) return fiveDigits(h, value | 0, false);
  const high = ((value >>> 5) / 3125) | 0;
  return fiveDigits(fiveDigits(h, high, false), (value - high * 100_000) | 0, true);
}

/** Feeds the decimal digits of `part` (< 100 000): all five when `padded`, else without leading zeros (0 → "0"). */
function fiveDigits(h: number, part: number, padded: boolean): number {
  // Each digit from `part` directly, not one from the next: the leading digit, which the hash needs first, is ready at once.
  const d0 = (part / 10_000) | 0;
  const d1 = ((part / 1000) | 0) % 10;
  const d2 = ((part / 100) | 0) % 10;
  const d3 = ((part / 10) | 0) % 10;
  const from = padded || part >= 10_000 ? 0 : part >= 1000 ? 1 : part >= 100 ? 2 : part >= 10 ? 3 : 4;
  if (from === 0) h = Math.imul(h ^ (48 + d0), PRIME);
  if (from <= 1) h = Math.imul(h ^ (48 + d1), PRIME);
  if (from <= 2) h = Math.imul(h ^ (48 + d2), PRIME);
  if (from <= 3) h = Math.imul(h ^ (48 + d3), PRIME);
  return Math.imul(h ^ (48 + (part % 10)), PRIME);
}

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

/**
 * Continues the FNV-1a hash `h` (signed 32-bit) over `text`. Hot path: no allocation.
 *
 * @example
 * ```ts
 * fnvFeed(FNV_OFFSET, "a", FnvEncoding.Utf16) >>> 0; // 0xe40c292c
 * ```
 */
export function fnvFeed(h: number, text: string, encoding: FnvEncoding): number {
  text = "" + text;
  const n = text.length;
  let i = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 && encoding !== FnvEncoding.Utf16) break;
    h = Math.imul(h ^ c, 16777619);
  }
  if (i === n) return h;
  for (; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      }
    }
    if (encoding === FnvEncoding.CodePoint || c < 0x80) {
      h = Math.imul(h ^ c, 16777619);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 16777619);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 16777619);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate encodes as U+FFFD
      if (c >= 0x10000) {
        h = Math.imul(h ^ (0xf0 | (c >> 18)), 16777619);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 16777619);
      } else {
        h = Math.imul(h ^ (0xe0 | (c >> 12)), 16777619);
      }
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 16777619);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 16777619);
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
  // In two halves below 100 000, so that every digit comes from small-integer division (no floating point).
  const high = Math.floor(value / 100_000);
  const low = value - high * 100_000;
  if (high > 0) return fiveDigits(fiveDigits(h, high, false), low, true);
  return fiveDigits(h, low, false);
}

/** Feeds the decimal digits of `part` (< 100 000): all five when `padded`, else without leading zeros (0 → "0"). */
function fiveDigits(h: number, part: number, padded: boolean): number {
  let divisor = 10_000;
  let started = padded;
  while (divisor > 0) {
    const digit = (part / divisor) | 0;
    part -= digit * divisor;
    if (digit > 0 || started || divisor === 1) {
      h = Math.imul(h ^ (48 + digit), 16777619);
      started = true;
    }
    divisor = (divisor / 10) | 0;
  }
  return h;
}

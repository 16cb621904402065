/**
 * SHA-1 (FIPS 180-4) of `prefix + key` as UTF-8, written here so that the core needs no `node:crypto` and runs in any
 * JavaScript runtime. LaunchDarkly's SDKs bucket by the first 15 hex digits of this digest; `sha1Top60` returns
 * exactly that number. The message is encoded into a module-level buffer (grown, rarely, for a longer message) and
 * hashed from there: no allocation per call.
 */

/** The message schedule and the digest (module-level scratch). */
const W = new Int32Array(80);
const H = new Int32Array(5);
/** The padded message; grown (never shrunk) when a longer one arrives. */
let buffer = new Uint8Array(256);

/** Writes the UTF-8 bytes of `text` at `at` (lone surrogates as U+FFFD, as Node's and the Web's encoders do). */
function encode(text: string, at: number): number {
  const n = text.length;
  if (buffer.length < at + n * 3 + 72) {
    const bigger = new Uint8Array(Math.max(buffer.length * 2, at + n * 3 + 72));
    bigger.set(buffer.subarray(0, at));
    buffer = bigger;
  }
  const out = buffer;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
    } else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          out[at++] = 0xf0 | (c >> 18);
          out[at++] = 0x80 | ((c >> 12) & 0x3f);
          out[at++] = 0x80 | ((c >> 6) & 0x3f);
          out[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

/** Compresses the 64-byte block at `at` into H. Every sum is truncated to 32 bits as it goes (int32 arithmetic). */
function compress(at: number): void {
  const out = buffer;
  for (let t = 0; t < 16; t++, at += 4) W[t] = (out[at]! << 24) | (out[at + 1]! << 16) | (out[at + 2]! << 8) | out[at + 3]!;
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let t = 0;
  for (; t < 20; t++) {
    const temp = (((((a << 5) | (a >>> 27)) + ((b & c) | (~b & d))) | 0) + ((e + 0x5a827999 + W[t]!) | 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  for (; t < 40; t++) {
    const temp = (((((a << 5) | (a >>> 27)) + (b ^ c ^ d)) | 0) + ((e + 0x6ed9eba1 + W[t]!) | 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  for (; t < 60; t++) {
    const temp = (((((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d))) | 0) + ((e + -0x70e44324 + W[t]!) | 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  for (; t < 80; t++) {
    const temp = (((((a << 5) | (a >>> 27)) + (b ^ c ^ d)) | 0) + ((e + -0x359d3e2a + W[t]!) | 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
}

/** Hashes `prefix + key` into H. */
function digest(prefix: string, key: string): void {
  const length = encode(key, encode(prefix, 0));
  const out = buffer;
  // Padding: 0x80, zeros up to 8 bytes before a block boundary, then the length in bits, big-endian in 64 bits.
  let end = length + 1;
  out[length] = 0x80;
  while ((end & 63) !== 56) out[end++] = 0;
  const bits = length * 8;
  out[end++] = 0;
  out[end++] = 0;
  out[end++] = 0;
  out[end++] = Math.floor(bits / 4294967296) & 0xff;
  out[end++] = (bits >>> 24) & 0xff;
  out[end++] = (bits >>> 16) & 0xff;
  out[end++] = (bits >>> 8) & 0xff;
  out[end++] = bits & 0xff;
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0 | 0;
  for (let at = 0; at < end; at += 64) compress(at);
}

/**
 * The first 60 bits of SHA-1(utf8(prefix + key)) — the number the first 15 hex digits of the digest spell — as the
 * nearest double, exactly as `parseInt(hex.slice(0, 15), 16)` gives it.
 *
 * @example
 * ```ts
 * sha1Top60("hashKey.saltyA.", "userKeyA") / 2 ** 60; // 0.42157587…, LaunchDarkly's published bucket
 * ```
 */
export function sha1Top60(prefix: string, key: string): number {
  digest(prefix, key);
  // H[0] × 2^28 is exact; adding the next 28 bits rounds once, as parsing the 60-bit hex number does.
  return (H[0]! >>> 0) * 268_435_456 + (H[1]! >>> 4);
}

/**
 * The SHA-1 digest of `text` as 40 hex digits (for tests and tools; allocates).
 *
 * @example
 * ```ts
 * sha1Hex("abc"); // "a9993e364706816aba3e25717850c26c9cd0d89d"
 * ```
 */
export function sha1Hex(text: string): string {
  digest("", text);
  let out = "";
  for (let i = 0; i < 5; i++) out += (H[i]! >>> 0).toString(16).padStart(8, "0");
  return out;
}

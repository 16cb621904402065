/**
 * SHA-1 (FIPS 180-4) of `prefix + key` as UTF-8, written here so that the core needs no `node:crypto` and runs in any
 * JavaScript runtime. LaunchDarkly's SDKs bucket by the first 15 hex digits of this digest; `sha1Top60` returns
 * exactly that number. The message is streamed into a module-level block: no allocation per call.
 */

/** The 16-word message block and the 80-word schedule (module-level scratch: nothing is allocated per hash). */
const W = new Int32Array(80);
const H = new Int32Array(5);
let filled = 0; // bytes in the current block
let total = 0; // message bytes so far

function compress(): void {
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + W[t]!) | 0;
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

function pushByte(byte: number): void {
  const word = filled >> 2;
  const shift = 24 - ((filled & 3) << 3);
  W[word] = (filled & 3) === 0 ? byte << shift : W[word]! | (byte << shift);
  total++;
  if (++filled === 64) {
    compress();
    filled = 0;
  }
}

/** Pushes the UTF-8 bytes of `text` (lone surrogates as U+FFFD, as Node's and the Web's encoders do). */
function pushText(text: string): void {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      pushByte(c);
    } else if (c < 0x800) {
      pushByte(0xc0 | (c >> 6));
      pushByte(0x80 | (c & 0x3f));
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          pushByte(0xf0 | (c >> 18));
          pushByte(0x80 | ((c >> 12) & 0x3f));
          pushByte(0x80 | ((c >> 6) & 0x3f));
          pushByte(0x80 | (c & 0x3f));
          continue;
        }
        c = 0xfffd;
      }
      pushByte(0xe0 | (c >> 12));
      pushByte(0x80 | ((c >> 6) & 0x3f));
      pushByte(0x80 | (c & 0x3f));
    }
  }
}

/** Hashes `prefix + key` into H. */
function digest(prefix: string, key: string): void {
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0 | 0;
  filled = 0;
  total = 0;
  pushText(prefix);
  pushText(key);
  const bits = total * 8;
  pushByte(0x80);
  while (filled !== 56) pushByte(0);
  // The length in bits, big-endian in 64 bits (messages here are far below 2^32 bits).
  pushByte(0);
  pushByte(0);
  pushByte(0);
  pushByte(Math.floor(bits / 2 ** 32) & 0xff);
  pushByte((bits >>> 24) & 0xff);
  pushByte((bits >>> 16) & 0xff);
  pushByte((bits >>> 8) & 0xff);
  pushByte(bits & 0xff);
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

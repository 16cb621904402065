/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4) in plain JavaScript, synchronous and import-free, so that signed pins work in
 * every runtime the core runs in (WebCrypto's `crypto.subtle` is asynchronous and cannot serve a synchronous
 * `decide`). The key's inner and outer pad blocks are compressed once per secret; signing a short pin then costs two
 * or three compressions.
 */
import type { PinSigner } from "../types.js";

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Compresses the 64-byte block at `offset` of `bytes` into `state`. `w` is scratch space of 64 words. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = ((bytes[j] as number) << 24) | ((bytes[j + 1] as number) << 16) | ((bytes[j + 2] as number) << 8) | (bytes[j + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15] as number;
    const b = w[i - 2] as number;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/** UTF-8 bytes of `text` (lone surrogates as U+FFFD, as TextEncoder does). */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return Uint8Array.from(out);
}

/** SHA-256 of `message` continued from `state` after `prefixBytes` already hashed; `state` receives the result. */
function finish(state: Int32Array, message: Uint8Array, prefixBytes: number, w: Int32Array): void {
  const total = message.length + prefixBytes;
  const padded = new Uint8Array((((message.length + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const bits = total * 8;
  const end = padded.length;
  padded[end - 5] = Math.floor(bits / 0x100000000) & 0xff;
  padded[end - 4] = (bits >>> 24) & 0xff;
  padded[end - 3] = (bits >>> 16) & 0xff;
  padded[end - 2] = (bits >>> 8) & 0xff;
  padded[end - 1] = bits & 0xff;
  for (let offset = 0; offset < end; offset += 64) compress(state, padded, offset, w);
}

function sha256(message: Uint8Array, w: Int32Array): Int32Array {
  const state = Int32Array.from(IV);
  finish(state, message, 0, w);
  return state;
}

function toBytes(state: Int32Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = state[i] as number;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
  return out;
}

/** Writes the UTF-8 bytes of `text[from, to)` at `at` of `into` (which has room for 4 bytes a character); returns the end. */
function encodeInto(text: string, from: number, to: number, into: Uint8Array, at: number): number {
  let n = at;
  for (let i = from; i < to; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      into[n++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < to) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x800) {
      into[n++] = 0xc0 | (code >> 6);
    } else if (code < 0x10000) {
      into[n++] = 0xe0 | (code >> 12);
      into[n++] = 0x80 | ((code >> 6) & 63);
    } else {
      into[n++] = 0xf0 | (code >> 18);
      into[n++] = 0x80 | ((code >> 12) & 63);
      into[n++] = 0x80 | ((code >> 6) & 63);
    }
    into[n++] = 0x80 | (code & 63);
  }
  return n;
}

/**
 * HMAC-SHA-256 keyed once, computed over buffers it keeps: `mac(prefix, text, end, out)` writes the MAC of the UTF-8
 * of `prefix + text.slice(0, end)` into `out` (8 big-endian words) without building that string or its bytes, and
 * without allocating (but when a longer message than any before grows the buffer). The key's inner and outer pad
 * blocks are compressed here, once: a call compresses the message's blocks and one outer block. `prefix` and `text` are
 * encoded one after the other, so a surrogate pair split between them counts as two lone surrogates (U+FFFD each):
 * keep the prefix's last character outside the surrogates (the pins' prefix ends with ":").
 */
export function hmacSha256Into(secret: string): (prefix: string, text: string, end: number, out: Int32Array) => void {
  const w = new Int32Array(64);
  let key = utf8(secret);
  if (key.length > 64) key = toBytes(sha256(key, w));
  const pad = new Uint8Array(64);
  const innerState = Int32Array.from(IV);
  const outerState = Int32Array.from(IV);
  pad.fill(0x36);
  for (let i = 0; i < key.length; i++) pad[i] = (pad[i] as number) ^ (key[i] as number);
  compress(innerState, pad, 0, w);
  pad.fill(0x5c);
  for (let i = 0; i < key.length; i++) pad[i] = (pad[i] as number) ^ (key[i] as number);
  compress(outerState, pad, 0, w);
  // The outer message is the inner digest (32 bytes) after the 64-byte pad: one block whose second half never changes.
  const outer = new Uint8Array(64);
  outer[32] = 0x80;
  outer[62] = ((64 + 32) * 8) >>> 8;
  outer[63] = ((64 + 32) * 8) & 0xff;
  let message = new Uint8Array(256);
  return (prefix, text, end, out) => {
    const room = (prefix.length + end) * 4 + 72;
    if (message.length < room) message = new Uint8Array(Math.ceil(room / 64) * 64);
    let n = encodeInto(prefix, 0, prefix.length, message, 0);
    n = encodeInto(text, 0, end, message, n);
    const blocks = ((n + 8) >> 6) + 1;
    const last = blocks * 64;
    message.fill(0, n, last);
    message[n] = 0x80;
    const bits = (n + 64) * 8;
    message[last - 5] = Math.floor(bits / 0x100000000) & 0xff;
    message[last - 4] = (bits >>> 24) & 0xff;
    message[last - 3] = (bits >>> 16) & 0xff;
    message[last - 2] = (bits >>> 8) & 0xff;
    message[last - 1] = bits & 0xff;
    out.set(innerState);
    for (let offset = 0; offset < last; offset += 64) compress(out, message, offset, w);
    for (let i = 0; i < 8; i++) {
      const v = out[i] as number;
      outer[i * 4] = v >>> 24;
      outer[i * 4 + 1] = (v >>> 16) & 0xff;
      outer[i * 4 + 2] = (v >>> 8) & 0xff;
      outer[i * 4 + 3] = v & 0xff;
    }
    out.set(outerState);
    compress(out, outer, 0, w);
  };
}

const HEX = "0123456789abcdef";

/**
 * HMAC-SHA-256 keyed by `secret`, as lower-case hex: the default {@link PinSigner}. Pure JavaScript, synchronous, in
 * every runtime.
 *
 * @example
 * ```ts
 * const sign = hmacSha256("Jefe");
 * sign("what do ya want for nothing?"); // "5bdcc146bf60754e6a042426089575c7…" (RFC 4231, case 2)
 * ```
 */
export const hmacSha256: PinSigner = (secret: string) => {
  const mac = hmacSha256Into(secret);
  const state = new Int32Array(8);
  return (data: string): string => {
    mac("", data, data.length, state);
    let hex = "";
    for (let i = 0; i < 8; i++) {
      const v = state[i] as number;
      for (let shift = 28; shift >= 0; shift -= 4) hex += HEX[(v >>> shift) & 15] as string;
    }
    return hex;
  };
};

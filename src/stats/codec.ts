// Compact, dependency-free encodings for the raw state in snapshots: base64 (RFC 4648, with padding) and unsigned
// LEB128 varints. The core has no `Buffer` and no `btoa`, so both are written out here.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as standard base64 with `=` padding. */
export function toBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  const parts: string[] = [];
  let chunk = "";
  for (let i = 0; i < n; i += 3) {
    const b0 = bytes[i] as number;
    const b1 = i + 1 < n ? (bytes[i + 1] as number) : 0;
    const b2 = i + 2 < n ? (bytes[i + 2] as number) : 0;
    const triple = (b0 << 16) | (b1 << 8) | b2;
    chunk +=
      ALPHABET[(triple >> 18) & 63]! +
      ALPHABET[(triple >> 12) & 63]! +
      (i + 1 < n ? ALPHABET[(triple >> 6) & 63]! : "=") +
      (i + 2 < n ? ALPHABET[triple & 63]! : "=");
    if (chunk.length >= 4096) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  return parts.join("");
}

/** Decodes standard base64 (padding optional); `undefined` when the text is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  if (text.length - end > 2 || end % 4 === 1) return undefined;
  if (text.length % 4 !== 0 && text.length !== end) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (DECODE[c] as number) : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.subarray(0, o);
}

/** A growable byte buffer for varint output. */
export class ByteWriter {
  private bytes = new Uint8Array(64);
  private length = 0;

  /** Appends an unsigned integer (0 ≤ value ≤ 2^53) as an LEB128 varint. */
  uint(value: number): void {
    let v = value;
    while (v >= 128) {
      this.push(v % 128 | 128);
      v = Math.floor(v / 128);
    }
    this.push(v);
  }

  private push(byte: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = byte;
  }

  /** The bytes written so far. */
  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Reads LEB128 varints; `uint()` returns -1 on truncated or oversized input. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.bytes.length) return -1;
      const byte = this.bytes[this.offset++] as number;
      value += (byte & 127) * scale;
      if (byte < 128) return value <= Number.MAX_SAFE_INTEGER ? value : -1;
      scale *= 128;
    }
    return -1;
  }
}

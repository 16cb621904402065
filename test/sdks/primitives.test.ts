// The hashing primitives of compatibility bucketing against the libraries the SDKs use, for arbitrary strings (lone
// surrogates included): MurmurHash3 in three encodings (murmurhash3js-revisited over UTF-8, murmurhash3js as in
// unleash-client-node, imurmurhash as in @openfeature/flagd-core), FNV-1a as GrowthBook's JavaScript SDK writes it,
// and SHA-1 against node:crypto.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import fc from "fast-check";
import murmurRevisited from "murmurhash3js-revisited";
import { describe, expect, it } from "vitest";
import { FNV_OFFSET, FnvEncoding, fnvDigits, fnvFeed } from "../../src/router/schemes/fnv.js";
import { MurmurEncoding, murmurAfter, murmurPrefix } from "../../src/router/schemes/murmur.js";
import { sha1Hex, sha1Top60 } from "../../src/router/schemes/sha1.js";

const load = createRequire(import.meta.url);
const murmurhash3js = load("murmurhash3js") as { x86: { hash32(key: string, seed?: number): number } };
const IMurmur = load("imurmurhash") as new (key: string, seed?: number) => { result(): number };

/** GrowthBook's JavaScript FNV-1a, as its source writes it (shifts and adds over UTF-16 code units). */
function growthbookFnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h += (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24);
  }
  return h >>> 0;
}

const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 70 }));
const seed = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

describe("hashing primitives against the SDKs' libraries", () => {
  it("MurmurHash3 of prefix + key, in each encoding", () => {
    fc.assert(
      fc.property(text, text, seed, (prefix, key, s) => {
        const bytes = new TextEncoder().encode(prefix + key);
        expect(murmurAfter(murmurPrefix(prefix, s, MurmurEncoding.Utf8), key) >>> 0).toBe(murmurRevisited.x86.hash32(bytes, s >>> 0));
        expect(murmurAfter(murmurPrefix(prefix, s, MurmurEncoding.Latin1), key) >>> 0).toBe(murmurhash3js.x86.hash32(prefix + key, s));
        expect(murmurAfter(murmurPrefix(prefix, 0, MurmurEncoding.Imurmur), key) >>> 0).toBe(new IMurmur(prefix + key).result() >>> 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('regression: imurmurhash with a non-ASCII prefix (a flag key such as "Ā") before an ASCII key combined the pending bytes with OR, not XOR', () => {
    expect(murmurAfter(murmurPrefix("Ā", 0, MurmurEncoding.Imurmur), "-") >>> 0).toBe(new IMurmur("Ā-").result() >>> 0);
    expect(murmurAfter(murmurPrefix("ĀĀĀ", 0, MurmurEncoding.Imurmur), "abcdefg") >>> 0).toBe(new IMurmur("ĀĀĀabcdefg").result() >>> 0);
  });

  it("FNV-1a over UTF-16 code units, streamed, and over decimal digits", () => {
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a, b, n) => {
        expect(fnvFeed(fnvFeed(FNV_OFFSET, a, FnvEncoding.Utf16), b, FnvEncoding.Utf16) >>> 0).toBe(growthbookFnv(a + b));
        expect(fnvDigits(FNV_OFFSET, n) >>> 0).toBe(growthbookFnv(String(n)));
      }),
      { numRuns: 2000 },
    );
  });

  it("SHA-1 of prefix + key against node:crypto, and its first 60 bits as LaunchDarkly parses them", () => {
    fc.assert(
      fc.property(text, fc.oneof(text, fc.string({ minLength: 50, maxLength: 300 })), (prefix, key) => {
        const hex = createHash("sha1")
          .update(prefix + key)
          .digest("hex");
        expect(sha1Hex(prefix + key)).toBe(hex);
        expect(sha1Top60(prefix, key)).toBe(Number.parseInt(hex.slice(0, 15), 16));
      }),
      { numRuns: 1000 },
    );
  });
});

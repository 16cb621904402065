// The bucketing hash must stay byte-for-byte MurmurHash3 x86 32-bit over UTF-8, as murmurhash3js-revisited computes it.
import fc from "fast-check";
import murmur from "murmurhash3js-revisited";
import { describe, expect, it } from "vitest";
import { bucketOf, murmur3, seedOf } from "../../src/index.js";

const encoder = new TextEncoder();
const reference = (text: string, seed: number) => murmur.x86.hash32(encoder.encode(text), seed);

describe("hash identity with murmurhash3js-revisited over TextEncoder bytes", () => {
  it("for arbitrary UTF-16 strings, lone surrogates included, and any seed", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), fc.nat({ max: 0xffffffff }), (text, seed) => {
        expect(murmur3(text, seed)).toBe(reference(text, seed));
      }),
      { numRuns: 20_000 },
    );
  });

  it("for grapheme clusters (emoji, combining marks) and long strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (text) => {
        expect(murmur3(text, 0)).toBe(reference(text, 0));
      }),
      { numRuns: 3_000 },
    );
  });

  it("for every length around the 4-byte block boundaries, mixing 1- to 4-byte characters", () => {
    const pieces = ["a", "é", "€", "😀", "\ud800", "\udc00"];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 24 }), (parts) => {
        const text = parts.join("");
        expect(murmur3(text, 42)).toBe(reference(text, 42));
      }),
      { numRuns: 5_000 },
    );
  });

  it("for keys whose character codes OR to exactly 0x80 (U+0080 among NULs), which are not ASCII", () => {
    for (const key of ["\u0080", "\u0080\u0000", "\u0000\u0080\u0000\u0000", "a\u0080\u0000\u0000", "a\u0080\u0080\u0000é", "\u0080\u0080\u0080\u0080\u0080"]) {
      expect(murmur3(key, 7), JSON.stringify(key)).toBe(reference(key, 7));
    }
  });

  it("for every two or three characters around the surrogate block (pairs, lone halves in either order, neighbours)", () => {
    const edges = ["a", "\u0080", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff", "\ue000", "\uffff"];
    for (const x of edges) {
      for (const y of edges) {
        for (const key of [x + y, `é${x}${y}`, `${x}${y}z`]) expect(murmur3(key, 3), JSON.stringify(key)).toBe(reference(key, 3));
      }
    }
  });

  it("bucket = floor(hash × 10 000 / 2^32) and seed = hash of the salt", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 20 }), (key, salt) => {
        const seed = reference(salt, 0);
        expect(seedOf(salt) >>> 0).toBe(seed);
        const bucket = bucketOf(key, seed);
        expect(bucket).toBe(Math.floor((reference(key, seed) * 10_000) / 2 ** 32));
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(10_000);
      }),
      { numRuns: 5_000 },
    );
  });
});

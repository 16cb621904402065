// The hash's ASCII fast path (four characters per block while every character is < 0x80) must hand over to the
// UTF-8 loop whenever any character is ≥ 0x80, wherever it sits: in a block, in the 1–3 trailing characters, first or
// last. Mostly-ASCII keys are exactly what the generic identity property (arbitrary UTF-16) rarely produces.
import fc from "fast-check";
import murmur from "murmurhash3js-revisited";
import { describe, expect, it } from "vitest";
import { bucketOf, murmur3 } from "../../src/index.js";
import { hashBound } from "../../src/router/hash.js";

const encoder = new TextEncoder();
const reference = (text: string, seed: number) => murmur.x86.hash32(encoder.encode(text), seed);

/** ASCII text, then one character from the edges of each UTF-8 width put at a random position. */
const mostlyAscii = fc
  .tuple(
    fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
    fc.constantFrom(0x7f, 0x80, 0xbf, 0xc0, 0xff, 0x100, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff),
    fc.nat(),
    fc.boolean(),
  )
  .map(([ascii, code, at, pair]) => {
    const index = at % (ascii.length + 1);
    const inserted = pair && code >= 0xd800 && code <= 0xdbff ? String.fromCharCode(code, 0xdc00 + (at % 0x400)) : String.fromCharCode(code);
    return ascii.slice(0, index) + inserted + ascii.slice(index);
  });

describe("the ASCII fast path of the hash", () => {
  it("hands over to the UTF-8 loop for a character ≥ 0x80 at any position, and agrees with murmurhash3js-revisited", () => {
    fc.assert(
      fc.property(mostlyAscii, fc.nat({ max: 0xffffffff }), (text, seed) => {
        expect(murmur3(text, seed)).toBe(reference(text, seed));
      }),
      { numRuns: 20_000 },
    );
  });

  it("agrees on pure ASCII keys of every length, for any seed", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 70 }),
        fc.nat({ max: 0xffffffff }),
        (text, seed) => {
          expect(murmur3(text, seed)).toBe(reference(text, seed));
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

describe("hashBound", () => {
  it("is the first hash of every bucket: bucketOf < b exactly when hash < hashBound(b), for all 10,001 bounds", () => {
    const bucketOfHash = (hash: number) => Math.floor((hash * 10_000) / 2 ** 32);
    for (let bucket = 0; bucket <= 10_000; bucket++) {
      const bound = hashBound(bucket);
      expect(Number.isInteger(bound)).toBe(true);
      if (bound > 0) expect(bucketOfHash(bound - 1)).toBeLessThan(bucket);
      if (bound < 2 ** 32) expect(bucketOfHash(bound)).toBeGreaterThanOrEqual(bucket);
    }
    expect(hashBound(0)).toBe(0);
    expect(hashBound(10_000)).toBe(2 ** 32);
  });

  it("agrees with bucketOf on real keys", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 10_000 }), fc.nat({ max: 0xffffffff }), (key, bucket, seed) => {
        expect(bucketOf(key, seed) < bucket).toBe(murmur3(key, seed) < hashBound(bucket));
      }),
      { numRuns: 5_000 },
    );
  });
});

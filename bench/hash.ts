/**
 * The floor: what hashing a sticky key costs, by four routes, on short keys and on UUIDs.
 *
 *   tsx bench/hash.ts            (re-launches itself with --expose-gc; one process per key set)
 *
 * Every case returns the key's bucket (0–9999) under the same seed, so all do the same job; the figures are the
 * reference for bench/decide.ts ("decide at the speed of its hash").
 */
import murmur from "murmurhash3js-revisited";
import { bucketOf, murmur3 } from "../src/router/hash.js";
import { bucketOfAsciiFirst, bucketOfOptimistic, checkCandidateHash } from "./lib/candidates.js";
import { floorBucket, floorHash } from "./lib/floor.js";
import { type BenchGroup, runSuite, type ScenarioPlan } from "./lib/harness.js";
import { cycle, KEY_SETS, type KeySetName, splitmix32 } from "./lib/keys.js";

const SPACE = 4294967296;
const toBucket = (hash: number) => Math.floor((hash * 10_000) / SPACE);

/** Fails loudly if any route disagrees with murmurhash3js-revisited on any key: a fast wrong hash is no floor. */
function checkAgreement(keys: readonly string[]): void {
  const encoder = new TextEncoder();
  for (const key of keys) {
    const reference = murmur.x86.hash32(encoder.encode(key), 0);
    if (floorHash(key, 0) >>> 0 !== reference) throw new Error(`floor hash disagrees on ${key}`);
    if (murmur3(key, 0) !== reference) throw new Error(`turnout's murmur3 disagrees on ${key}`);
    const bucket = toBucket(reference);
    const all = [bucketOf(key, 0), floorBucket(key, 0), bucketOfAsciiFirst(key, 0), bucketOfOptimistic(key, 0)];
    if (all.some((b) => b !== bucket)) {
      throw new Error(`bucket disagrees on ${key}`);
    }
  }
}

function hashGroup(set: KeySetName): BenchGroup {
  const keys = KEY_SETS[set]();
  checkAgreement(keys);
  const encoder = new TextEncoder();
  const buffer = new Uint8Array(1024);
  const salt = "checkout-v2-2024";
  const nextFloor = cycle(keys);
  const nextBucketOf = cycle(keys);
  const nextInto = cycle(keys);
  const nextEncode = cycle(keys);
  const nextSalted = cycle(keys);
  const nextCandidate = cycle(keys);
  const nextOptimistic = cycle(keys);
  const nextCycle = cycle(keys);
  return {
    name: `hash → bucket · ${set === "short" ? "short keys (user-123)" : "UUIDs"}`,
    cases: [
      {
        name: "floor: murmur3 over charCodeAt",
        baseline: true,
        fn: () => floorBucket(nextFloor(), 0),
        note: "a minimal hand-written MurmurHash3 x86_32 for ASCII keys (bench/lib/floor.ts)",
      },
      {
        name: "turnout bucketOf",
        fn: () => bucketOf(nextBucketOf(), 0),
        note: "src/router/hash.ts: UTF-8 from charCodeAt, byte-identical to murmurhash3js-revisited for any string",
      },
      {
        name: "candidate: ASCII-first bucketOf",
        fn: () => bucketOfAsciiFirst(nextCandidate(), 0),
        note: "bench/lib/candidates.ts: hash.ts restructured so ASCII keys take the floor's loop (proposed patch)",
      },
      {
        name: "candidate: optimistic bucketOf",
        fn: () => bucketOfOptimistic(nextOptimistic(), 0),
        note: "bench/lib/candidates.ts: the floor's loop OR-ing the characters; a non-ASCII key is re-hashed by hash.ts's UTF-8 loop (proposed patch)",
      },
      {
        name: "mm3js + encodeInto (reused)",
        fn: () => {
          const { written } = encoder.encodeInto(nextInto(), buffer);
          return toBucket(murmur.x86.hash32(buffer.subarray(0, written), 0));
        },
        note: "murmurhash3js-revisited over TextEncoder.encodeInto a reused buffer + subarray",
      },
      {
        name: "mm3js + encode per call",
        fn: () => toBucket(murmur.x86.hash32(encoder.encode(nextEncode()), 0)),
        note: "murmurhash3js-revisited over a fresh TextEncoder.encode per call",
      },
      {
        name: "bucketOf(salt + key)",
        fn: () => bucketOf(salt + nextSalted(), 0),
        note: "the salt concatenated onto the key instead of used as the seed: what turnout avoids",
      },
      {
        name: "harness: key cycling only",
        fn: () => nextCycle().length,
        note: "the cost every case pays to pick its next key",
      },
    ],
  };
}

/**
 * Random two-byte strings (characters U+0100 and up, surrogates included), built by concatenation (cons-strings), as
 * application code may pass as `key` or an attribute. Node's HTTP parser gives header values as flat one-byte
 * latin-1 strings, and flat two-byte strings (from JSON.parse) do not have the effect measured here either.
 */
function unicodeStrings(count: number): string[] {
  const next = splitmix32(0xfeed);
  const out: string[] = [];
  for (let t = 0; t < count; t++) {
    let s = "";
    const length = 1 + (next() % 30);
    for (let j = 0; j < length; j++) s += String.fromCharCode(next() % 3 === 0 ? 0x20 + (next() % 0x5f) : 0x100 + (next() % 0xfe00));
    out.push(s);
  }
  return out;
}

function plan(set: KeySetName, mixed = false): ScenarioPlan {
  // The candidate's own check runs on random non-ASCII strings; run it only where they are seen anyway.
  if (mixed) checkCandidateHash();
  const group = hashGroup(set);
  if (!mixed) return { groups: [group] };
  // Every function first sees non-ASCII (two-byte) strings, then is measured on ASCII keys again.
  const strings = unicodeStrings(50_000);
  let acc = 0;
  for (const s of strings) acc ^= floorBucket(s, 0);
  for (const s of strings) acc ^= bucketOf(s, 0);
  for (const s of strings) acc ^= bucketOfAsciiFirst(s, 0);
  for (const s of strings) acc ^= bucketOfOptimistic(s, 0);
  return {
    groups: [
      {
        ...group,
        name: `${group.name}, after 50,000 concatenated two-byte keys`,
        note: `every function first hashed 50,000 random cons-strings with characters ≥ U+0100 (checksum ${acc & 0xff}), then the ASCII keys`,
      },
    ],
  };
}

await runSuite({
  name: "hash",
  title: "turnout · the floor: hashing a sticky key to its bucket",
  scenarios: {
    short: () => plan("short"),
    uuid: () => plan("uuid"),
    "short-after-two-byte": () => plan("short", true),
  },
  notes: ["Keys: 1,024 deterministic keys per set (bench/lib/keys.ts), cycled; every route is checked against murmurhash3js-revisited first."],
});

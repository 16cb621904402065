// Regenerates test/cases/bucketing.json from the *reference* MurmurHash3 (murmurhash3js-revisited over TextEncoder
// bytes) and the documented bucketing contract, independently of turnout's own code:
//   seed    = murmur3_x86_32(utf8(salt), 0)
//   hash    = murmur3_x86_32(utf8(key), seed)
//   bucket  = floor(hash * 10000 / 2^32)
//   layout  = [other versions in `versions` order][canary][stable]; boundary_k = round(10000 * cum_k / total), last = 10000
//   version = the first version in layout order whose boundary is above the bucket
// Run: node test/cases/generate-bucketing.mjs
import { writeFileSync } from "node:fs";
import murmur from "murmurhash3js-revisited";

const encoder = new TextEncoder();
const hash32 = (text, seed) => murmur.x86.hash32(encoder.encode(text), seed >>> 0);

const configs = [
  { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } },
  { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 50, v2: 50 } },
  { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 99.99, v2: 0.01 } },
  { versions: ["v1", "v2"], stable: "v1", split: { v1: 3, v2: 1 } },
  { versions: ["v1", "v2", "v3"], stable: "v1", canary: "v3", split: { v1: 70, v2: 20, v3: 10 } },
  { versions: ["a", "b", "c", "d"], stable: "d", split: { a: 1, b: 2, c: 3, d: 4 } },
  { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 0, v2: 100 } },
  { versions: ["blue", "green"], stable: "blue", canary: "green", split: { blue: 33.33, green: 66.67 } },
];
const salts = ["", "checkout-v2-2024", "é-salt", "🚀", "a very long salt ".repeat(8)];

function versionFor(config, bucket) {
  const { versions, stable, canary, split } = config;
  const order = versions.filter((v) => v !== stable && v !== canary);
  if (canary !== undefined) order.push(canary);
  order.push(stable);
  const weights = order.map((v) => split[v] ?? 0);
  const total = weights.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  const bounds = weights.map((w) => Math.round((10000 * (cumulative += w)) / total));
  bounds[bounds.length - 1] = 10000;
  return order[bounds.findIndex((bound) => bucket < bound)];
}

// Deterministic key families.
let state = 0x9e3779b9;
const random = () => ((state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), state / 2 ** 32);
const hex = (n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
const keys = [
  "user123",
  "user-123",
  "user-1",
  "a",
  "ab",
  "abc",
  "abcd",
  "abcde",
  "0",
  " ",
  "user 42",
  "USER-123",
  ...Array.from({ length: 40 }, (_, i) => `user-${i * 7919}`),
  ...Array.from({ length: 20 }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`),
  "ü",
  "café",
  "naïve-user",
  "Ωmega",
  "ключ",
  "用户-123",
  "ユーザー",
  "사용자",
  "עברית",
  "مستخدم",
  "😀",
  "👩‍👩‍👧‍👦",
  "🇯🇵",
  "a😀b",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "x".repeat(1000),
  "long-".repeat(2000),
  "é".repeat(513),
  "😀".repeat(300),
];

const cases = [];
keys.forEach((key, k) => {
  // Every key under four salt and config combinations, rotating, so every salt and config is well represented.
  for (const offset of [0, 1, 2, 3]) {
    const salt = salts[(k + offset) % salts.length];
    const configIndex = (k * 3 + offset) % configs.length;
    const seed = hash32(salt, 0);
    const hash = hash32(key, seed);
    const bucket = Math.floor((hash * 10000) / 2 ** 32);
    cases.push({ key, salt, seed, hash, bucket, config: configIndex, version: versionFor(configs[configIndex], bucket) });
  }
});

const file = {
  description: "turnout bucketing golden cases: key → hash → bucket → version. Language-neutral; see README 'Bucketing contract'.",
  contract: {
    hash: "MurmurHash3 x86 32-bit over the UTF-8 bytes of the key (lone surrogates encode as U+FFFD)",
    seed: "murmur3_x86_32(utf8(salt), 0); the salt is never concatenated with the key",
    bucket: "floor(hash * 10000 / 2^32), an integer 0..9999",
    layout: "versions other than stable and canary in `versions` order, then the canary, then the stable",
    boundaries: "boundary_k = round(10000 * (w_1 + ... + w_k) / total) in layout order; the last boundary is 10000",
    version: "the first version in layout order whose boundary is greater than the bucket",
  },
  configs,
  cases,
};
writeFileSync(new URL("./bucketing.json", import.meta.url), `${JSON.stringify(file, null, 1)}\n`);
console.log(`${cases.length} cases written`);

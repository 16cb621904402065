// Properties of the router that must always hold (fast-check). Each could fail: see the comments for what breaks them.
import { createRequire } from "node:module";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as source from "../../src/index.js";
import { type RouterConfig, TurnoutConfigError, createRouter, isTurnoutConfigError } from "../../src/index.js";

const root = join(import.meta.dirname, "..", "..");
const cjs = createRequire(import.meta.url)(join(root, "dist/index.cjs")) as typeof source;
const esm = (await import(join(root, "dist/index.js"))) as typeof source;

/** Deterministic keys from a seed: half `user-<n>`, half UUID-shaped. */
function keys(seed: number, count: number): string[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? `user-${next() % 10_000_000}`
      : `${next().toString(16).padStart(8, "0")}-${(next() & 0xffff).toString(16)}-4${next().toString(16).slice(0, 3)}-${next().toString(16)}`,
  );
}

/** Upper critical value of chi-square with k degrees of freedom (Wilson–Hilferty), for a z-score. */
function chiSquareCritical(k: number, z: number): number {
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}

const versionNames = ["v1", "v2", "v3", "v4", "v5"];
/** A split over 2–5 versions with weights at 0.01 % resolution, every version at least 1 %. */
const splitArb = fc.integer({ min: 2, max: 5 }).chain((n) =>
  fc.array(fc.integer({ min: 100, max: 10_000 }), { minLength: n, maxLength: n }).map((raw) => {
    const versions = versionNames.slice(0, n);
    return { versions, split: Object.fromEntries(versions.map((v, i) => [v, raw[i]! / 100])) };
  }),
);

describe("determinism", () => {
  it("same config and request → same decision, across router instances and the source, ESM and CJS builds", () => {
    fc.assert(
      fc.property(
        splitArb,
        fc.string({ maxLength: 12 }),
        fc.array(fc.string({ unit: "binary", minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 50 }),
        ({ versions, split }, salt, keyList) => {
          const config: RouterConfig = { versions, stable: "v1", canary: "v2", split, salt };
          const a = createRouter(config);
          const b = createRouter(config);
          const c = cjs.createRouter(config);
          const e = esm.createRouter(config);
          for (const key of keyList) {
            const request = { headers: { "x-user-id": key }, key };
            const decision = a.decide(request);
            expect(b.decide(request)).toEqual(decision);
            expect(c.decide(request)).toEqual(decision);
            expect(e.decide(request)).toEqual(decision);
            expect(a.decide(request)).toBe(decision);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("distribution", () => {
  it("every version's share of 200,000 keys is within 4 standard deviations of its weight", () => {
    fc.assert(
      fc.property(splitArb, fc.string({ maxLength: 10 }), fc.integer(), ({ versions, split }, salt, seed) => {
        const router = createRouter({ versions, stable: "v1", split, salt });
        const n = 200_000;
        const counts = new Map<string, number>();
        for (const key of keys(seed, n)) {
          const version = router.decide({ key }).version;
          counts.set(version, (counts.get(version) ?? 0) + 1);
        }
        const total = Object.values(split).reduce((a, b) => a + b, 0);
        for (const version of versions) {
          const p = split[version]! / total;
          const sigma = Math.sqrt((p * (1 - p)) / n);
          expect(Math.abs((counts.get(version) ?? 0) / n - p)).toBeLessThan(4 * sigma);
        }
      }),
      { numRuns: 12 },
    );
  });

  it("a chi-square test does not reject uniformity of buckets (10,000 buckets and 100 groups)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.integer(), (salt, seed) => {
        const n = 200_000;
        const buckets = new Uint32Array(10_000);
        const seedValue = source.seedOf(salt);
        for (const key of keys(seed, n)) buckets[source.bucketOf(key, seedValue)]!++;
        const expectedFine = n / 10_000;
        let fine = 0;
        for (const count of buckets) fine += (count - expectedFine) ** 2 / expectedFine;
        expect(fine).toBeLessThan(chiSquareCritical(9_999, 4.265)); // α ≈ 1e-5
        const groups = new Float64Array(100);
        buckets.forEach((count, bucket) => (groups[Math.floor(bucket / 100)]! += count));
        let coarse = 0;
        for (const count of groups) coarse += (count - n / 100) ** 2 / (n / 100);
        expect(coarse).toBeLessThan(chiSquareCritical(99, 4.265));
      }),
      { numRuns: 8 },
    );
  });
});

describe("monotone ramp", () => {
  const percent = fc.integer({ min: 0, max: 10_000 }).map((basisPoints) => basisPoints / 100);

  it("raising the canary never moves a key from canary to stable; lowering never the other way; the moved share equals the change", () => {
    fc.assert(
      fc.property(percent, percent, fc.string({ maxLength: 8 }), fc.integer(), (p1, p2, salt, seed) => {
        const [low, high] = p1 <= p2 ? [p1, p2] : [p2, p1];
        const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", salt });
        router.setCanaryPercent(low);
        const keyList = keys(seed, 10_000);
        const before = keyList.map((key) => router.decide({ key }).version);
        router.setCanaryPercent(high);
        let moved = 0;
        keyList.forEach((key, i) => {
          const after = router.decide({ key }).version;
          if (before[i] === "v2") expect(after).toBe("v2"); // raising: canary stays canary
          if (after !== before[i]) moved++;
        });
        router.setCanaryPercent(low);
        keyList.forEach((key, i) => {
          if (before[i] === "v1") expect(router.decide({ key }).version).toBe("v1"); // lowering: stable stays stable
        });
        const change = (high - low) / 100;
        const sigma = Math.sqrt(Math.max(change * (1 - change), 1e-9) / keyList.length);
        expect(Math.abs(moved / keyList.length - change)).toBeLessThanOrEqual(4 * sigma + 1e-4);
      }),
      { numRuns: 40 },
    );
  });

  it("holds with other versions present: the canary only trades keys with the stable", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }), fc.integer(), (p1, p2, seed) => {
        const router = createRouter({ versions: ["v1", "v2", "v3"], stable: "v1", canary: "v3", split: { v1: 70, v2: 30, v3: 0 } });
        router.setCanaryPercent(p1);
        const keyList = keys(seed, 5_000);
        const before = keyList.map((key) => router.decide({ key }).version);
        router.setCanaryPercent(p2);
        keyList.forEach((key, i) => {
          const after = router.decide({ key }).version;
          if (before[i] === "v2" || after === "v2") expect(after).toBe(before[i]);
        });
      }),
      { numRuns: 30 },
    );
  });
});

describe("salt independence", () => {
  it("buckets under two different salts are uncorrelated", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), fc.integer(), (s1, s2, seed) => {
        fc.pre(s1 !== s2);
        const n = 20_000;
        const a = source.seedOf(s1);
        const b = source.seedOf(s2);
        let sx = 0,
          sy = 0,
          sxx = 0,
          syy = 0,
          sxy = 0,
          agree = 0;
        for (const key of keys(seed, n)) {
          const x = source.bucketOf(key, a);
          const y = source.bucketOf(key, b);
          sx += x;
          sy += y;
          sxx += x * x;
          syy += y * y;
          sxy += x * y;
          if (x < 5000 === y < 5000) agree++;
        }
        const r = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
        expect(Math.abs(r)).toBeLessThan(4 / Math.sqrt(n));
        expect(Math.abs(agree / n - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / n));
      }),
      { numRuns: 30 },
    );
  });
});

describe("precedence", () => {
  const token = fc.stringMatching(/^[a-z0-9]{1,8}$/);

  it("an explicit version beats everything; a matching override beats pins, segments and weights", () => {
    fc.assert(
      fc.property(
        token,
        token,
        fc.constantFrom("v1", "v2"),
        fc.constantFrom("v1", "v2"),
        fc.constantFrom("v1", "v2"),
        fc.boolean(),
        (key, plan, overrideTo, segmentTo, explicitTo, sendExplicit) => {
          const router = createRouter({
            versions: ["v1", "v2"],
            stable: "v1",
            canary: "v2",
            split: { v1: 50, v2: 50 },
            stickiness: ["header:x-user-id"],
            overrides: [{ header: "x-force", equals: "yes", version: overrideTo }],
            segments: [{ version: segmentTo, include: [{ header: "x-plan", equals: plan }] }],
            explicit: { header: "x-api-version" },
          });
          const pin = router.decide({ headers: { "x-api-version": segmentTo === "v1" ? "v2" : "v1" } }).pin;
          const headers: Record<string, string> = { "x-user-id": key, "x-force": "yes", "x-plan": plan };
          if (sendExplicit) headers["x-api-version"] = explicitTo;
          const decision = router.decide({ headers, pin });
          if (sendExplicit) expect(decision).toMatchObject({ version: explicitTo, reason: "explicit_version" });
          else expect(decision).toMatchObject({ version: overrideTo, reason: "header_match" });
          delete headers["x-force"];
          delete headers["x-api-version"];
          expect(router.decide({ headers, pin }).reason).toBe("pinned");
          expect(router.decide({ headers })).toMatchObject({ version: segmentTo, reason: "segment_match" });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("round-robin", () => {
  it("every run of Σweights consecutive keyless requests gives each version exactly its weight", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 4 }), fc.nat({ max: 50 }), (weights, skip) => {
        const versions = versionNames.slice(0, weights.length);
        const router = createRouter({ versions, stable: "v1", keyless: "round-robin", split: Object.fromEntries(versions.map((v, i) => [v, weights[i]!])) });
        const total = weights.reduce((a, b) => a + b, 0);
        const sequence = Array.from({ length: skip + 3 * total }, () => router.decide({}).version);
        for (let start = skip; start + total <= sequence.length; start++) {
          const window = sequence.slice(start, start + total);
          versions.forEach((version, i) => expect(window.filter((v) => v === version)).toHaveLength(weights[i]!));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("never throws", () => {
  const router = createRouter(
    {
      versions: ["v1", "v2"],
      stable: "v1",
      canary: "v2",
      split: { v1: 60, v2: 40 },
      stickiness: ["header:x-user-id", "cookie:uid", "attr:user", "query:u", "key"],
      overrides: [{ header: "x-canary", matches: "^(yes|true)$", version: "v2" }],
      explicit: { path: { prefix: "/api" }, header: "x-api-version", accept: "api", query: "version" },
      segments: [{ version: "v2", include: [{ attr: "plan", values: ["pro"] }], exclude: [{ cookie: "beta", present: false }] }],
      experiments: [
        {
          name: "e",
          paths: ["/api"],
          variants: [
            { name: "A", weight: 1 },
            { name: "B", weight: 1, version: "v2" },
          ],
        },
      ],
      mirror: { version: "v2", percent: 30 },
    },
    { rng: () => 0.3 },
  );
  const field = fc.oneof(
    fc.anything(),
    fc.dictionary(fc.string(), fc.anything()),
    fc.dictionary(fc.constantFrom("x-user-id", "x-canary", "x-api-version", "accept", "cookie", "__proto__", "constructor", "get"), fc.anything()),
  );

  it("for arbitrary values as requests", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            { key: fc.anything(), headers: field, cookies: field, path: fc.anything(), query: field, attributes: field, pin: fc.anything() },
            { requiredKeys: [] },
          ),
        ),
        (request) => {
          const decision = router.decide(request as never);
          expect(["v1", "v2"]).toContain(decision.version);
          expect(router.explain(request as never).decision.version).toBe(decision.version);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("arbitrary JSON as config either builds a router or throws TurnoutConfigError", () => {
    const nearlyValid = fc.record(
      {
        versions: fc.oneof(fc.constant(["v1", "v2"]), fc.jsonValue()),
        stable: fc.oneof(fc.constant("v1"), fc.jsonValue()),
        canary: fc.oneof(fc.constant("v2"), fc.jsonValue()),
        split: fc.oneof(fc.constant({ v1: 1, v2: 1 }), fc.dictionary(fc.constantFrom("v1", "v2", "v3", "__proto__"), fc.jsonValue())),
        salt: fc.jsonValue(),
        stickiness: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        keyless: fc.oneof(fc.constantFrom("random", "round-robin", "stable"), fc.jsonValue()),
        overrides: fc.oneof(
          fc.array(fc.record({ header: fc.jsonValue(), equals: fc.jsonValue(), version: fc.jsonValue() }, { requiredKeys: [] })),
          fc.jsonValue(),
        ),
        explicit: fc.jsonValue(),
        segments: fc.jsonValue(),
        experiments: fc.jsonValue(),
        mirror: fc.jsonValue(),
        lifecycle: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearlyValid), (config) => {
        try {
          const built = createRouter(config as RouterConfig);
          expect(built.decide({ key: "k" }).version).toBeTypeOf("string");
        } catch (error) {
          expect(error).toBeInstanceOf(TurnoutConfigError);
          expect(isTurnoutConfigError(error)).toBe(true);
          expect((error as TurnoutConfigError).problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

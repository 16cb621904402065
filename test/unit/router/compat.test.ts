// Compatibility bucketing through the public API: validation (codes and paths, weights the scheme cannot express,
// also on setSplit and setCanaryPercent), the generated decide against the generic one, what requests without a key
// get, explain and assign.
import { describe, expect, it } from "vitest";
import { type Bucketing, type RouterConfig, TurnoutConfigError, createRollout, createRouter, createStats } from "../../../src/index.js";

function problemsOf(run: () => unknown): { code: string; path: string }[] {
  try {
    run();
  } catch (error) {
    if (error instanceof TurnoutConfigError) return error.problems.map(({ code, path }) => ({ code, path }));
    throw error;
  }
  return [];
}

const base: RouterConfig = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } };

describe("bucketing: validation", () => {
  it("reports the scheme's fields with codes and paths", () => {
    expect(problemsOf(() => createRouter({ ...base, bucketing: { scheme: "optimizely" } as unknown as Bucketing }))).toEqual([
      { code: "invalid_value", path: "bucketing.scheme" },
    ]);
    expect(problemsOf(() => createRouter({ ...base, bucketing: { scheme: "unleash", encoding: "ucs2", colour: 1 } as unknown as Bucketing }))).toEqual([
      { code: "unknown_field", path: "bucketing.colour" },
      { code: "required", path: "bucketing.groupId" },
      { code: "invalid_value", path: "bucketing.encoding" },
    ]);
    expect(
      problemsOf(() =>
        createRouter({
          ...base,
          bucketing: { scheme: "growthbook", seed: "s", hashVersion: 3, coverage: 2, namespace: ["n", 0.5, 0.2] } as unknown as Bucketing,
        }),
      ),
    ).toEqual([
      { code: "invalid_value", path: "bucketing.hashVersion" },
      { code: "out_of_range", path: "bucketing.coverage" },
      { code: "invalid_value", path: "bucketing.namespace" },
    ]);
    expect(problemsOf(() => createRouter({ ...base, bucketing: { scheme: "launchdarkly", flagKey: "f", salt: "s", seed: 1.5, order: ["v2", "v9"] } }))).toEqual(
      [
        { code: "type", path: "bucketing.seed" },
        { code: "unknown_version", path: "bucketing.order[1]" },
      ],
    );
  });

  it("refuses a weight the scheme cannot express (not_expressible), at the weight's path, never rounding it", () => {
    expect(problemsOf(() => createRouter({ ...base, split: { v1: 99.5, v2: 0.5 }, bucketing: { scheme: "unleash", groupId: "g" } }))).toEqual([
      { code: "not_expressible", path: "split.v1" },
      { code: "not_expressible", path: "split.v2" },
    ]);
    expect(
      problemsOf(() => createRouter({ ...base, split: { v1: 99.9995, v2: 0.0005 }, bucketing: { scheme: "launchdarkly", flagKey: "f", salt: "s" } })),
    ).toHaveLength(2);
    // A thousandth of a percent is LaunchDarkly's unit: expressible there, below turnout's own 0.01 % buckets.
    expect(() => createRouter({ ...base, split: { v1: 99.999, v2: 0.001 }, bucketing: { scheme: "launchdarkly", flagKey: "f", salt: "s" } })).not.toThrow();
    expect(problemsOf(() => createRouter({ ...base, split: { v1: 1, v2: 2 }, bucketing: { scheme: "flagd", flagKey: "f", totalWeight: 100 } }))).toEqual([
      { code: "not_expressible", path: "split.v1" },
      { code: "not_expressible", path: "split.v2" },
    ]);
  });

  it("refuses a rollout step the scheme cannot express on setCanaryPercent and setSplit, and keeps the config in force", () => {
    const router = createRouter({ ...base, bucketing: { scheme: "unleash", groupId: "g" } });
    expect(problemsOf(() => router.setCanaryPercent(0.5))).toContainEqual({ code: "not_expressible", path: "split.v2" });
    expect(problemsOf(() => router.setSplit({ v1: 97.5, v2: 2.5 }))).toContainEqual({ code: "not_expressible", path: "split.v2" });
    expect(router.revision).toBe(1);
    router.setCanaryPercent(5);
    expect(router.canaryPercent).toBe(5);
  });

  it("refuses a rollout plan whose step the scheme cannot express before it starts, at the step's weight", () => {
    const router = createRouter({ ...base, split: { v1: 100, v2: 0 }, bucketing: { scheme: "unleash", groupId: "g" } });
    const plan = {
      steps: [
        { weight: 1, pause: "1m" },
        { weight: 2.5, pause: "1m" },
        { weight: 10, pause: "1m" },
      ],
    };
    expect(problemsOf(() => createRollout(plan, { router, stats: createStats() }))).toEqual([{ code: "not_expressible", path: "plan.steps[1].weight" }]);
    const own = createRouter({ ...base, split: { v1: 100, v2: 0 } });
    expect(problemsOf(() => createRollout(plan, { router: own, stats: createStats() }))).toEqual([]);
  });

  it("needs every version with a weight in the scheme's order, and two entries for a rollout", () => {
    const three: RouterConfig = { versions: ["v1", "v2", "v3"], stable: "v1", canary: "v2", split: { v1: 80, v2: 10, v3: 10 } };
    expect(problemsOf(() => createRouter({ ...three, bucketing: { scheme: "unleash", groupId: "g" } }))).toContainEqual({ code: "conflict", path: "split.v3" });
    expect(problemsOf(() => createRouter({ ...three, bucketing: { scheme: "unleash", groupId: "g", order: ["v1", "v2", "v3"] } }))).toEqual([
      { code: "invalid_value", path: "bucketing.order" },
    ]);
    expect(() => createRouter({ ...three, bucketing: { scheme: "unleash", mode: "variants", groupId: "g" } })).not.toThrow();
  });

  it("accepts bucketing on an experiment, without `order` (the variants' order is the SDK's)", () => {
    const experiment = {
      name: "exp",
      variants: [
        { name: "a", weight: 50 },
        { name: "b", weight: 50 },
      ],
    };
    expect(
      problemsOf(() => createRouter({ ...base, experiments: [{ ...experiment, bucketing: { scheme: "growthbook", seed: "exp", order: ["v1"] } }] })),
    ).toEqual([{ code: "unknown_field", path: "experiments[0].bucketing.order" }]);
    expect(
      problemsOf(() =>
        createRouter({
          ...base,
          experiments: [
            {
              ...experiment,
              variants: [
                { name: "a", weight: 0.5 },
                { name: "b", weight: 99.5 },
              ],
              bucketing: { scheme: "unleash", groupId: "g", mode: "rollout" },
            },
          ],
        }),
      ),
    ).toEqual([
      { code: "not_expressible", path: "experiments[0].variants[0].weight" },
      { code: "not_expressible", path: "experiments[0].variants[1].weight" },
    ]);
  });
});

describe("bucketing: what the SDKs' users rely on", () => {
  const gb = (fields: Record<string, unknown>, split = { v1: 90, v2: 10 }): RouterConfig => ({
    ...base,
    split,
    bucketing: { scheme: "growthbook", seed: "exp", ...fields } as unknown as Bucketing,
  });

  it("refuses GrowthBook's sticky bucketing and a filter on another attribute (not_expressible), naming why", () => {
    const error = (() => {
      try {
        createRouter(
          gb({ fallbackAttribute: "deviceId", bucketVersion: 2, minBucketVersion: 1, filters: [{ seed: "s", ranges: [[0, 1]], attribute: "anonId" }] }),
        );
      } catch (caught) {
        return caught as TurnoutConfigError;
      }
      throw new Error("expected a TurnoutConfigError");
    })();
    expect(error.problems.map(({ code, path }) => ({ code, path }))).toEqual([
      { code: "not_expressible", path: "bucketing.filters[0].attribute" },
      { code: "not_expressible", path: "bucketing.fallbackAttribute" },
      { code: "not_expressible", path: "bucketing.bucketVersion" },
      { code: "not_expressible", path: "bucketing.minBucketVersion" },
    ]);
    expect(error.problems[1]!.message).toMatch(/sticky bucketing/);
  });

  it("checks explicit ranges: one per entry, within 0–1, the split's weights as their widths, not beside coverage", () => {
    expect(
      problemsOf(() =>
        createRouter(
          gb({
            ranges: [
              [0, 0.45],
              [0.5, 0.55],
            ],
          }),
        ),
      ),
    ).toEqual([]);
    expect(
      problemsOf(() =>
        createRouter(
          gb({
            ranges: [
              [0, 0.5],
              [0.5, 0.55],
            ],
          }),
        ),
      ),
    ).toEqual([
      { code: "not_expressible", path: "split.v1" },
      { code: "not_expressible", path: "split.v2" },
    ]);
    expect(problemsOf(() => createRouter(gb({ ranges: [[0, 0.5]] })))).toEqual([{ code: "invalid_value", path: "bucketing.ranges" }]);
    expect(
      problemsOf(() =>
        createRouter(
          gb({
            ranges: [
              [0.5, 0.2],
              [0, 1.5],
            ],
          }),
        ),
      ),
    ).toEqual([
      { code: "invalid_value", path: "bucketing.ranges[0]" },
      { code: "invalid_value", path: "bucketing.ranges[1]" },
    ]);
    expect(
      problemsOf(() =>
        createRouter(
          gb({
            ranges: [
              [0, 0.45],
              [0.5, 0.55],
            ],
            coverage: 0.5,
          }),
        ),
      ),
    ).toEqual([{ code: "conflict", path: "bucketing.coverage" }]);
    expect(problemsOf(() => createRouter(gb({ mode: "rollout", range: [0.3, 0.4] })))).toEqual([]);
  });

  it("takes a range only within 0 ≤ start ≤ end ≤ 1: a start below 0 is refused, an empty range (start = end) is a variant nobody gets", () => {
    expect(
      problemsOf(() =>
        createRouter(
          gb({
            ranges: [
              [-0.1, 0.8],
              [0.8, 0.9],
            ],
          }),
        ),
      ),
    ).toEqual([{ code: "invalid_value", path: "bucketing.ranges[0]" }]);
    const router = createRouter(
      gb(
        {
          ranges: [
            [0, 0.9],
            [0.9, 0.9],
          ],
        },
        { v1: 100, v2: 0 },
      ),
    );
    for (let i = 0; i < 200; i++) expect(router.decide({ key: `user-${i}` }).version).toBe("v1");
    expect(problemsOf(() => createRouter(gb({ mode: "rollout", range: [0.3, 0.5] })))).toContainEqual({ code: "not_expressible", path: "split.v2" });
    expect(problemsOf(() => createRouter(gb({ filters: [{ seed: "s", ranges: [[0, 1]] }], namespace: ["ns", 0, 1] })))).toEqual([
      { code: "conflict", path: "bucketing.namespace" },
    ]);
  });

  it("checks Unleash's rollout in front of variants: whole percents, variants mode only", () => {
    const unleash = (fields: Record<string, unknown>): RouterConfig => ({
      ...base,
      bucketing: { scheme: "unleash", groupId: "g", ...fields } as unknown as Bucketing,
    });
    expect(problemsOf(() => createRouter(unleash({ mode: "variants", rollout: 40, rolloutGroupId: "r" })))).toEqual([]);
    expect(problemsOf(() => createRouter(unleash({ mode: "variants", rollout: 40.5 })))).toEqual([{ code: "not_expressible", path: "bucketing.rollout" }]);
    expect(problemsOf(() => createRouter(unleash({ rollout: 40 })))).toEqual([{ code: "conflict", path: "bucketing.rollout" }]);
    expect(problemsOf(() => createRouter(unleash({ mode: "variants", rolloutGroupId: "r" })))).toEqual([
      { code: "conflict", path: "bucketing.rolloutGroupId" },
    ]);
  });

  it("a key outside Unleash's rollout gets the stable version; inside, the variant Unleash picks", () => {
    const gated = createRouter({ ...base, split: { v1: 50, v2: 50 }, bucketing: { scheme: "unleash", mode: "variants", groupId: "g", rollout: 30 } });
    const open = createRouter({ ...base, split: { v1: 50, v2: 50 }, bucketing: { scheme: "unleash", mode: "variants", groupId: "g" } });
    const keys = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const onV2 = (router: typeof gated) => keys.filter((key) => router.decide({ key }).version === "v2");
    const gatedV2 = onV2(gated);
    expect(gatedV2.every((key) => open.decide({ key }).version === "v2")).toBe(true);
    expect(gatedV2.length / keys.length).toBeGreaterThan(0.12);
    expect(gatedV2.length / keys.length).toBeLessThan(0.18);
  });
});

const SCHEMES: Bucketing[] = [
  { scheme: "unleash", groupId: "checkout" },
  { scheme: "unleash", mode: "variants", groupId: "checkout", rollout: 60, rolloutGroupId: "gate" },
  { scheme: "growthbook", seed: "exp", hashVersion: 2, filters: [{ seed: "f", ranges: [[0.1, 0.9]] }] },
  { scheme: "growthbook", mode: "rollout", seed: "feature", filters: [{ seed: "f", hashVersion: 1, ranges: [[0, 0.5]] }] },
  { scheme: "unleash", mode: "variants", groupId: "checkout", encoding: "latin1" },
  { scheme: "growthbook", seed: "exp", hashVersion: 2, coverage: 0.7, namespace: ["ns", 0.1, 0.9] },
  { scheme: "growthbook", mode: "rollout", seed: "feature", encoding: "codepoint" },
  { scheme: "flagd", flagKey: "flag" },
  { scheme: "flagd", flagKey: "flag", bucketing: "v1", implementation: "js" },
  { scheme: "launchdarkly", flagKey: "flag", salt: "salt", seed: 7 },
];
const KEYS = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `ü-${i}-日本` : `${i}😀`));

describe("bucketing: decide", () => {
  for (const bucketing of SCHEMES) {
    it(`${JSON.stringify(bucketing)}: the generated decide and the generic one agree, with and without a mirror`, () => {
      for (const mirror of [undefined, { version: "v2", percent: 50 }]) {
        const config: RouterConfig = { ...base, split: { v1: 70, v2: 30 }, stickiness: ["header:x-user-id"], bucketing, ...(mirror ? { mirror } : {}) };
        const fast = createRouter(config);
        const generic = createRouter(config, { codegen: false });
        const seen = new Set<string>();
        for (const key of KEYS) {
          const request = { headers: { "x-user-id": key } };
          const decision = fast.decide(request);
          expect(decision).toEqual(generic.decide(request));
          expect(fast.explain(request).decision).toEqual(decision);
          seen.add(decision.version);
        }
        expect([...seen].sort()).toEqual(["v1", "v2"]);
      }
    });
  }

  it("never throws: odd keys and odd requests get a version", () => {
    for (const bucketing of SCHEMES) {
      const router = createRouter({ ...base, bucketing });
      for (const request of [{ key: "\ud800" }, { key: "x".repeat(100_000) }, { key: 42 }, null, "text", { headers: 7 }] as unknown[]) {
        expect(["v1", "v2"]).toContain(router.decide(request as never).version);
      }
    }
  });

  it("requests without a key: the router's keyless mode by default; with keyless: sdk, what the SDK does", () => {
    const draws = [0.001, 0.5, 0.999];
    let i = 0;
    const rng = () => draws[i++ % draws.length]!;
    const unleash = createRouter(
      { ...base, split: { v1: 50, v2: 50 }, keyless: "stable", bucketing: { scheme: "unleash", groupId: "g", keyless: "sdk" } },
      { rng },
    );
    expect([0, 1, 2].map(() => unleash.decide({}).version)).toEqual(["v2", "v1", "v1"]); // a random draw of 1–100 (here 1, 51, 100) against 50
    expect(unleash.decide({}).reason).toBe("keyless");
    const growthbook = createRouter({ ...base, split: { v1: 0, v2: 100 }, keyless: "random", bucketing: { scheme: "growthbook", seed: "s", keyless: "sdk" } });
    expect(growthbook.decide({}).version).toBe("v1"); // not enrolled: the stable version
    const launchdarkly = createRouter({ ...base, split: { v1: 0, v2: 100 }, bucketing: { scheme: "launchdarkly", flagKey: "f", salt: "s", keyless: "sdk" } });
    expect(launchdarkly.decide({}).version).toBe("v2"); // bucket 0: the first variation with a weight
    const router = createRouter({ ...base, split: { v1: 0, v2: 100 }, keyless: "stable", bucketing: { scheme: "launchdarkly", flagKey: "f", salt: "s" } });
    expect(router.decide({}).version).toBe("v1");
  });

  it("explain names the scheme and its position; assign gives the SDK's variant or nothing when not enrolled", () => {
    const router = createRouter({
      ...base,
      bucketing: { scheme: "growthbook", seed: "exp", coverage: 0.5 },
      experiments: [
        {
          name: "exp",
          variants: [
            { name: "a", weight: 1 },
            { name: "b", weight: 1 },
          ],
          bucketing: { scheme: "growthbook", seed: "exp", coverage: 0.5 },
        },
      ],
    });
    const explained = router.explain({ key: "user-1" });
    expect(explained.steps.find((step) => step.kind === "split")?.detail).toMatch(/^growthbook position 0\.\d+/);
    const assignments = KEYS.slice(0, 400).map((key) => router.assign("exp", key)?.variant);
    expect(new Set(assignments)).toEqual(new Set(["a", "b", undefined]));
  });
});

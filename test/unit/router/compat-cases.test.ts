// The feature-flag SDKs' own published cross-language test data (test/cases/<sdk>/, sources and licences in
// test/cases/README.md), replayed through turnout's compatibility bucketing. Every case of every copied file is
// counted: used, or left out with the reason; the counts are asserted, so a case cannot disappear silently.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bucketing, type RouterConfig, createRouter } from "../../../src/index.js";
import { bucketRanges, compileScheme, fractions, rangeIndex } from "../../../src/router/schemes/scheme.js";
import { sha1Top60 } from "../../../src/router/schemes/sha1.js";

const casesDir = join(import.meta.dirname, "..", "..", "cases");
const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(casesDir, path), "utf8")) as T;

/** Tally of used and left-out cases per reason. */
class Tally {
  used = 0;
  readonly leftOut = new Map<string, number>();
  leave(reason: string): void {
    this.leftOut.set(reason, (this.leftOut.get(reason) ?? 0) + 1);
  }
  get total(): number {
    return this.used + [...this.leftOut.values()].reduce((a, b) => a + b, 0);
  }
}

/** Tries to build a router; a configuration turnout refuses is a left-out case (with the problem codes). */
function tryRouter(config: RouterConfig, tally: Tally): ReturnType<typeof createRouter> | undefined {
  try {
    return createRouter(config);
  } catch (error) {
    const codes = (error as { problems?: { code: string }[] }).problems?.map((problem) => problem.code).join(", ");
    tally.leave(`turnout refuses the configuration (${codes ?? String(error)})`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Unleash client specification
// ---------------------------------------------------------------------------------------------------------------

interface UnleashStrategy {
  name: string;
  parameters?: Record<string, string> | null;
  constraints?: unknown[];
  segments?: unknown[];
  variants?: UnleashVariant[];
}
interface UnleashVariant {
  name: string;
  weight: number;
  stickiness?: string;
  overrides?: unknown[];
}
interface UnleashFeature {
  name: string;
  enabled: boolean;
  strategies: UnleashStrategy[];
  variants?: UnleashVariant[] | null;
  dependencies?: unknown[];
}
interface UnleashTest {
  description: string;
  context: Record<string, unknown> & { properties?: Record<string, string> };
  toggleName: string;
  expectedResult: boolean | { name: string };
}
interface UnleashSpec {
  state: { features: UnleashFeature[] };
  tests?: UnleashTest[];
  variantTests?: UnleashTest[];
}

const ROLLOUTS: Record<string, { percent: string; stickiness: (params: Record<string, string>) => string }> = {
  flexibleRollout: { percent: "rollout", stickiness: (params) => params.stickiness ?? "default" },
  gradualRolloutUserId: { percent: "percentage", stickiness: () => "userId" },
  gradualRolloutSessionId: { percent: "percentage", stickiness: () => "sessionId" },
  gradualRolloutRandom: { percent: "percentage", stickiness: () => "random" },
};

/** Unleash stickiness → turnout key sources and keyless behaviour. */
function unleashStickiness(stickiness: string, variants: boolean): { stickiness: RouterConfig["stickiness"]; keyless: "sdk" | "router" } {
  if (stickiness === "default") {
    return { stickiness: variants ? ["attr:userId", "attr:sessionId", "attr:remoteAddress"] : ["attr:userId", "attr:sessionId"], keyless: "sdk" };
  }
  if (stickiness === "random") return { stickiness: ["attr:never-present"], keyless: "sdk" };
  return { stickiness: [`attr:${stickiness}`], keyless: variants ? "sdk" : "router" }; // a custom field: off (rollout) or random (variants) when missing
}

function unleashAttributes(context: UnleashTest["context"]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(context)) if (typeof value === "string") attributes[name] = value;
  for (const [name, value] of Object.entries(context.properties ?? {})) attributes[name] = value;
  return attributes;
}

function replayUnleash(file: string, tally: Tally): void {
  const spec = readJson<UnleashSpec>(`unleash/${file}`);
  const features = new Map(spec.state.features.map((feature) => [feature.name, feature]));
  for (const test of [...(spec.tests ?? []), ...(spec.variantTests ?? [])]) {
    const feature = features.get(test.toggleName);
    if (feature === undefined) {
      tally.leave("unknown flag (not bucketing)");
      continue;
    }
    if (!feature.enabled) {
      tally.leave("flag switched off (not bucketing)");
      continue;
    }
    if (feature.strategies.length > 1) {
      tally.leave("several strategies (strategy evaluation, not bucketing)");
      continue;
    }
    const strategy = feature.strategies[0];
    if (strategy !== undefined && ((strategy.constraints?.length ?? 0) > 0 || (strategy.segments?.length ?? 0) > 0)) {
      tally.leave("strategy constraints or segments (targeting, not bucketing)");
      continue;
    }
    const params = strategy?.parameters ?? {};
    const attributes = unleashAttributes(test.context);
    if (typeof test.expectedResult === "boolean") {
      const rollout = strategy === undefined ? undefined : ROLLOUTS[strategy.name];
      if (rollout === undefined) {
        tally.leave("the default strategy: on for everyone (no bucketing)");
        continue;
      }
      const percent = Number(params[rollout.percent]);
      const { stickiness, keyless } = unleashStickiness(rollout.stickiness(params), false);
      const router = tryRouter(
        {
          versions: ["off", "on"],
          stable: "off",
          canary: "on",
          split: { off: 100 - percent, on: percent },
          stickiness,
          keyless: "stable",
          bucketing: { scheme: "unleash", groupId: params.groupId ?? feature.name, keyless },
        },
        tally,
      );
      if (router === undefined) continue;
      expect(router.decide({ attributes }).version, `${file}: ${test.description}`).toBe(test.expectedResult ? "on" : "off");
      tally.used++;
      continue;
    }
    // Variant tests.
    const expected = test.expectedResult.name;
    const strategyVariants = strategy?.variants ?? [];
    const variants = strategyVariants.length > 0 ? strategyVariants : (feature.variants ?? []);
    if (variants.length === 0) {
      tally.leave("no variants (the disabled variant, not bucketing)");
      continue;
    }
    if (variants.some((variant) => (variant.overrides?.length ?? 0) > 0)) {
      tally.leave("variant overrides (targeting, not bucketing)");
      continue;
    }
    const groupId = strategyVariants.length > 0 ? (params.groupId ?? feature.name) : feature.name;
    const sticky = strategyVariants.length > 0 ? (variants[0]!.stickiness ?? params.stickiness ?? "default") : (variants[0]!.stickiness ?? "default");
    // A partial rollout in front of the variants: the rollout gate, hashing the same key (else two keys: left out).
    const rollout = strategy === undefined ? undefined : ROLLOUTS[strategy.name];
    const percent = rollout === undefined ? 100 : Number(params[rollout.percent]);
    if (percent !== 100 && rollout!.stickiness(params) !== sticky) {
      tally.leave("a rollout and its variants sticking to different fields (one key per request)");
      continue;
    }
    const gate = percent === 100 ? {} : { rollout: percent, rolloutGroupId: params.groupId ?? feature.name };
    const { stickiness, keyless } = unleashStickiness(sticky, true);
    const names = variants.map((variant) => variant.name);
    const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
    const router = tryRouter(
      {
        versions: [...names, "disabled"],
        stable: percent === 100 ? names[0]! : "disabled",
        split: Object.fromEntries(variants.map((variant) => [variant.name, variant.weight])),
        stickiness,
        bucketing: { scheme: "unleash", mode: "variants", groupId, totalWeight: total, keyless, order: names, ...gate },
      },
      tally,
    );
    if (router === undefined) continue;
    expect(router.decide({ attributes }).version, `${file}: ${test.description}`).toBe(expected);
    tally.used++;
  }
}

describe("Unleash client specification", () => {
  const files = readdirSync(join(casesDir, "unleash"))
    .filter((name) => name.endsWith(".json"))
    .sort();
  it("replays the gradual-rollout, flexible-rollout, variant and custom-stickiness files: 49 of 63 cases used", () => {
    const tally = new Tally();
    for (const file of files) replayUnleash(file, tally);
    expect(files).toHaveLength(7);
    expect(Object.fromEntries(tally.leftOut)).toEqual({
      "flag switched off (not bucketing)": expect.any(Number),
      "several strategies (strategy evaluation, not bucketing)": expect.any(Number),
      "unknown flag (not bucketing)": 1,
      "no variants (the disabled variant, not bucketing)": expect.any(Number),
      "variant overrides (targeting, not bucketing)": 3,
      "strategy constraints or segments (targeting, not bucketing)": expect.any(Number),
    });
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 49, total: 63 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// GrowthBook cases.json
// ---------------------------------------------------------------------------------------------------------------

type Range = [number, number];
interface GrowthBookCases {
  hash: [string, string, number, number | null][];
  getBucketRange: [string, [number, number, number[] | null], Range[]][];
  chooseVariation: [string, number, Range[], number][];
  inNamespace: [string, string, [string, number, number], boolean][];
  run: [
    string,
    Record<string, unknown> & { attributes?: Record<string, unknown> },
    Record<string, unknown> & { key: string; variations: unknown[] },
    unknown,
    boolean,
    boolean,
  ][];
  feature: [
    string,
    Record<string, unknown> & {
      attributes?: Record<string, unknown>;
      features?: Record<string, { defaultValue?: unknown; rules?: Record<string, unknown>[] }>;
    },
    string,
    { value: unknown; source: string },
  ][];
  leftOutSections: Record<string, number>;
}

const gb = readJson<GrowthBookCases>("growthbook/cases.json");

/** GrowthBook reads the hash attribute when it is truthy, and hashes its string form. */
function gbAttributes(attributes: Record<string, unknown> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if ((typeof value === "string" || typeof value === "number") && value) result[name] = String(value);
  }
  return result;
}

describe("GrowthBook cases.json", () => {
  it("hash: 14 of 15 cases (the other asks for an unknown hash version, which turnout refuses)", () => {
    const tally = new Tally();
    for (const [seed, value, version, expected] of gb.hash) {
      if (version !== 1 && version !== 2) {
        tally.leave("unknown hash version");
        continue;
      }
      const position = compileScheme({ scheme: "growthbook", seed, hashVersion: version }, [1]).position(value);
      expect(position, `hash(${JSON.stringify(seed)}, ${JSON.stringify(value)}, ${version})`).toBe(expected);
      tally.used++;
    }
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 14, total: gb.hash.length });
  });

  it("an experiment under the GrowthBook scheme reports the key's bucket as floor(hash × 10 000), from the same hash cases", () => {
    for (const [seed, value, version, expected] of gb.hash) {
      // An empty seed is refused in a configuration (GrowthBook falls back to the experiment key); an empty key is not assigned.
      if ((version !== 1 && version !== 2) || expected === null || seed === "" || value === "") continue;
      const router = createRouter({
        versions: ["v1"],
        stable: "v1",
        experiments: [
          {
            name: "e",
            variants: [
              { name: "a", weight: 1 },
              { name: "b", weight: 1 },
            ],
            bucketing: { scheme: "growthbook", seed, hashVersion: version },
          },
        ],
      });
      expect(router.assign("e", value)?.bucket, `hash(${JSON.stringify(seed)}, ${JSON.stringify(value)}, ${version})`).toBe(
        Math.min(9_999, Math.floor(expected * 10_000)),
      );
    }
  });

  it("getBucketRange: 8 of 13 cases, those with valid inputs", () => {
    const tally = new Tally();
    for (const [name, [count, coverage, weights], expected] of gb.getBucketRange) {
      if (coverage < 0 || coverage > 1) {
        tally.leave("coverage outside 0–1: GrowthBook clamps, turnout refuses");
        continue;
      }
      if (weights !== null && weights.length !== count) {
        tally.leave("weights for a different number of variations: GrowthBook ignores them, turnout refuses");
        continue;
      }
      const sum = (weights ?? []).reduce((a, b) => a + b, 0);
      if (weights !== null && (sum < 0.99 || sum > 1.01)) {
        tally.leave("weights not summing to 1: GrowthBook falls back to equal weights, turnout normalises");
        continue;
      }
      const ranges = bucketRanges(coverage, fractions(weights ?? Array.from({ length: count }, () => 1)));
      expect(ranges.length, name).toBe(expected.length);
      ranges.forEach(([start, end], i) => {
        expect(start, name).toBeCloseTo(expected[i]![0], 6);
        expect(end, name).toBeCloseTo(expected[i]![1], 6);
      });
      tally.used++;
    }
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 8, total: 13 });
  });

  it("chooseVariation: all 13 cases", () => {
    for (const [name, n, ranges, expected] of gb.chooseVariation) expect(rangeIndex(n, ranges), name).toBe(expected);
    expect(gb.chooseVariation).toHaveLength(13);
  });

  it("inNamespace: all 16 cases, through a compiled experiment", () => {
    for (const [name, id, namespace, expected] of gb.inNamespace) {
      const chooser = compileScheme({ scheme: "growthbook", seed: "any", namespace }, [1]);
      expect(chooser.choose(id) >= 0, name).toBe(expected);
    }
    expect(gb.inNamespace).toHaveLength(16);
  });

  const RUN_FIELDS = new Set(["key", "variations", "weights", "coverage", "namespace", "seed", "hashVersion", "hashAttribute", "ranges", "filters"]);
  it("run: 53 of 73 cases, every experiment case about bucketing, through router.assign", () => {
    const tally = new Tally();
    for (const [name, context, experiment, value, inExperiment] of gb.run) {
      const extraContext = Object.keys(context).find((field) => field !== "attributes");
      if (extraContext !== undefined) {
        tally.leave(`context.${extraContext} (not bucketing)`);
        continue;
      }
      const extra = Object.keys(experiment).find((field) => !RUN_FIELDS.has(field));
      if (extra !== undefined) {
        tally.leave(`experiment.${extra} (not bucketing)`);
        continue;
      }
      const ranges = experiment.ranges as [number, number][] | undefined;
      // Explicit ranges replace coverage and weights (GrowthBook ignores those), and filters replace the namespace: the
      // user copies the ranges' widths as weights, and leaves out what GrowthBook ignores.
      const weights = ranges?.map(([start, end]) => end - start) ?? (experiment.weights as number[] | undefined);
      const count = experiment.variations.length;
      const coverage = ranges === undefined ? (experiment.coverage as number | undefined) : undefined;
      const hashAttribute = (experiment.hashAttribute as string | undefined) ?? "id";
      const filters = (experiment.filters as { attribute?: string }[] | undefined)?.map(({ attribute, ...filter }) =>
        attribute === undefined || attribute === hashAttribute ? filter : { attribute, ...filter },
      );
      const namespace = filters === undefined ? experiment.namespace : undefined;
      if (coverage !== undefined && (coverage < 0 || coverage > 1)) {
        tally.leave("coverage outside 0–1: GrowthBook clamps, turnout refuses");
        continue;
      }
      const sum = (weights ?? []).reduce((a, b) => a + b, 0);
      if (weights !== undefined && ranges === undefined && (weights.length !== count || sum < 0.99 || sum > 1.01)) {
        tally.leave("invalid weights: GrowthBook falls back to equal weights, turnout refuses or normalises");
        continue;
      }
      if (count < 2) {
        tally.leave("fewer than two variations: GrowthBook does not run the experiment");
        continue;
      }
      if (new Set(experiment.variations.map((variation) => JSON.stringify(variation))).size !== count) {
        tally.leave("repeated variation values (the expected index is ambiguous)");
        continue;
      }
      const bucketing = {
        scheme: "growthbook",
        seed: (experiment.seed as string | undefined) || experiment.key,
        ...(experiment.hashVersion === undefined ? {} : { hashVersion: experiment.hashVersion as 1 | 2 }),
        ...(coverage === undefined ? {} : { coverage }),
        ...(namespace === undefined ? {} : { namespace: namespace as [string, number, number] }),
        ...(ranges === undefined ? {} : { ranges }),
        ...(filters === undefined ? {} : { filters }),
      } as Bucketing;
      const router = tryRouter(
        {
          versions: ["v1"],
          stable: "v1",
          experiments: [
            {
              name: experiment.key,
              variants: experiment.variations.map((_, i) => ({ name: `variation-${i}`, weight: weights?.[i] ?? 1 })),
              stickiness: [`attr:${hashAttribute}`],
              bucketing,
            },
          ],
        },
        tally,
      );
      if (router === undefined) continue;
      const key = gbAttributes(context.attributes)[hashAttribute];
      const assigned = key === undefined ? undefined : router.assign(experiment.key, key);
      const expectedIndex = experiment.variations.findIndex((variation) => JSON.stringify(variation) === JSON.stringify(value));
      expect(assigned?.variant, name).toBe(inExperiment ? `variation-${expectedIndex}` : undefined);
      tally.used++;
    }
    expect(Object.fromEntries(tally.leftOut)).toEqual({
      "context.enabled (not bucketing)": 1,
      "context.url (not bucketing)": 2,
      "context.forcedVariations (not bucketing)": 1,
      "context.qaMode (not bucketing)": 3,
      "context.features (not bucketing)": 2,
      "context.savedGroups (not bucketing)": 1,
      "experiment.force (not bucketing)": 3,
      "experiment.condition (not bucketing)": 2,
      "experiment.active (not bucketing)": 2,
      "fewer than two variations: GrowthBook does not run the experiment": 1,
      "turnout refuses the configuration (not_expressible)": 2,
    });
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 53, total: 73 });
  });

  const RULE_FIELDS = new Set(["force", "coverage", "hashVersion", "seed", "hashAttribute", "id", "range", "filters"]);
  it("feature: 12 of 55 cases, every percentage-rollout rule, through router.decide", () => {
    const tally = new Tally();
    for (const [name, context, featureKey, expected] of gb.feature) {
      const extraContext = Object.keys(context).find((field) => field !== "attributes" && field !== "features");
      if (extraContext !== undefined) {
        tally.leave(`context.${extraContext} (not bucketing)`);
        continue;
      }
      const rules = context.features?.[featureKey]?.rules ?? [];
      if (rules.length !== 1) {
        tally.leave(rules.length === 0 ? "no rule (default value)" : "several rules (rule evaluation, not bucketing)");
        continue;
      }
      const rule = rules[0]!;
      const extra = Object.keys(rule).find((field) => !RULE_FIELDS.has(field));
      if (extra !== undefined) {
        tally.leave(`rule.${extra} (an experiment rule, a condition or a range: not a percentage rollout)`);
        continue;
      }
      const range = rule.range as [number, number] | undefined;
      if (rule.coverage === undefined && range === undefined && rule.filters === undefined) {
        tally.leave("a force rule without coverage (no bucketing)");
        continue;
      }
      // An explicit range replaces the coverage (GrowthBook ignores it); without either, filters alone decide.
      const coverage = range !== undefined ? range[1] - range[0] : ((rule.coverage as number | undefined) ?? 1);
      const hashAttribute = (rule.hashAttribute as string | undefined) ?? "id";
      const router = tryRouter(
        {
          versions: ["off", "on"],
          stable: "off",
          canary: "on",
          split: { off: 1 - coverage, on: coverage },
          stickiness: [`attr:${hashAttribute}`],
          bucketing: {
            scheme: "growthbook",
            mode: "rollout",
            seed: (rule.seed as string | undefined) || featureKey,
            keyless: "sdk",
            ...(rule.hashVersion === undefined ? {} : { hashVersion: rule.hashVersion as 1 | 2 }),
            ...(range === undefined ? {} : { range }),
            ...(rule.filters === undefined ? {} : { filters: rule.filters as { seed: string; ranges: [number, number][] }[] }),
          },
        },
        tally,
      );
      if (router === undefined) continue;
      expect(router.decide({ attributes: gbAttributes(context.attributes) }).version, name).toBe(expected.source === "force" ? "on" : "off");
      tally.used++;
    }
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 12, total: 55 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// flagd test kit: fractional
// ---------------------------------------------------------------------------------------------------------------

interface FlagdCase {
  scenario: string;
  flag: string;
  tags: string[];
  targeting: { fractional?: unknown[] } | null;
  variants: Record<string, string> | null;
  defaultVariant: string | null;
  context: string[];
  row: Record<string, string>;
  expected: string;
}

describe("flagd test kit: fractional", () => {
  const kit = readJson<{ cases: FlagdCase[] }>("flagd/fractional.json");
  it("replays every case whose buckets are plain names and weights: 37 of 54 cases used", () => {
    const tally = new Tally();
    for (const test of kit.cases) {
      const label = `${test.scenario} ${JSON.stringify(test.row)}`;
      if (test.tags.includes("@fractional-nested")) {
        tally.leave("variants or weights computed by nested JSON Logic (not bucketing)");
        continue;
      }
      const args = test.targeting?.fractional;
      if (args === undefined || test.variants === null || test.defaultVariant === null) {
        tally.leave("fractional inside another operation");
        continue;
      }
      // The bucketing value: the shorthand (flag key + targeting key), a `cat` of a literal and an attribute, or a `var`.
      let prefix = test.flag;
      let source = "key";
      let buckets = args;
      const first = args[0];
      if (!Array.isArray(first)) {
        buckets = args.slice(1);
        const expression = first as { cat?: unknown[]; var?: string };
        if (expression.var !== undefined) {
          prefix = "";
          source = expression.var === "targetingKey" ? "key" : `attr:${expression.var}`;
        } else {
          const [head, tail] = expression.cat as [unknown, { var: string }];
          prefix = typeof head === "string" ? head : test.flag;
          source = tail.var === "targetingKey" ? "key" : `attr:${tail.var}`;
        }
      }
      const names = (buckets as [string, number?][]).map(([name]) => name);
      const weights = (buckets as [string, number?][]).map(([, weight]) => weight ?? 1);
      const versions = [...new Set([...names, test.defaultVariant])];
      const total = weights.reduce((a, b) => a + Math.max(0, b), 0);
      const router = tryRouter(
        {
          versions,
          stable: test.defaultVariant,
          stickiness: [source as "key"],
          split: Object.fromEntries(versions.map((name) => [name, weights[names.indexOf(name)] ?? 0])),
          bucketing: {
            scheme: "flagd",
            flagKey: prefix,
            order: names,
            totalWeight: Math.max(1, total),
            keyless: "sdk",
            bucketing: test.tags.includes("@fractional-v1") ? "v1" : "v2",
          },
        },
        tally,
      );
      if (router === undefined) continue;
      const request: { key?: string; attributes: Record<string, string> } = { attributes: {} };
      for (const line of test.context) {
        const nested = /outer key "([^"]+)" and inner key "([^"]+)", with value "<([^>]+)>"/.exec(line);
        if (nested !== null) request.attributes[`${nested[1]}.${nested[2]}`] = test.row[nested[3]!]!;
        const target = /targeting key with value "([^"]*)"/.exec(line);
        if (target !== null) request.key = target[1]!.startsWith("<") ? test.row[target[1]!.slice(1, -1)]! : target[1]!;
      }
      const version = router.decide(request).version;
      expect(test.variants[version], label).toBe(test.expected);
      tally.used++;
    }
    expect(Object.fromEntries(tally.leftOut)).toEqual({
      "variants or weights computed by nested JSON Logic (not bucketing)": 15,
      "turnout refuses the configuration (zero_total)": 1,
      "turnout refuses the configuration (negative)": 1,
    });
    expect({ used: tally.used, total: tally.total }).toEqual({ used: 37, total: 54 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// LaunchDarkly published bucket values
// ---------------------------------------------------------------------------------------------------------------

describe("LaunchDarkly published bucket values", () => {
  const published = readJson<{ cases: { flagKey: string; salt: string; seed?: number; contextValue: string; expected: number }[] }>(
    "launchdarkly/bucketing.json",
  );
  it("hashes a flag key, salt and key that fill more than one SHA-1 block as node:crypto does (the first 60 bits)", () => {
    for (const length of [40, 55, 56, 64, 119, 120, 300]) {
      const key = Array.from({ length }, (_, i) => "abcdefghijklmnopqrstuvwxyz0123456789-é😀"[i % 39]).join("");
      const prefix = "flag-key.salt.";
      const hex = createHash("sha1")
        .update(prefix + key)
        .digest("hex");
      expect(sha1Top60(prefix, key), `${length} characters`).toBe(parseInt(hex.slice(0, 15), 16));
    }
  });

  it("reproduces all 14 values (within the SDKs' 1e-7)", () => {
    for (const c of published.cases) {
      const position = compileScheme({ scheme: "launchdarkly", flagKey: c.flagKey, salt: c.salt, ...(c.seed === undefined ? {} : { seed: c.seed }) }, [
        1,
      ]).position(c.contextValue);
      expect(Math.abs(position - c.expected) / c.expected, JSON.stringify(c)).toBeLessThan(1e-7);
    }
    expect(published.cases).toHaveLength(14);
  });

  it("routes them as a 60/40 rollout does (the Go and C++ SDKs' variation tests): A → v1, B → v2, C → v1", () => {
    const router = createRouter({
      versions: ["v1", "v2"],
      stable: "v1",
      split: { v1: 60, v2: 40 },
      bucketing: { scheme: "launchdarkly", flagKey: "hashKey", salt: "saltyA" },
    });
    expect(["userKeyA", "userKeyB", "userKeyC"].map((key) => router.decide({ key }).version)).toEqual(["v1", "v2", "v1"]);
  });
});

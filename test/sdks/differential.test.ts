// Differential tests: for 10,000 keys (ASCII and non-ASCII) at several splits, turnout under each compatibility
// scheme assigns exactly the version the real SDK assigns, offline. The SDKs live in test/sdks/node_modules
// (`npm ci --prefix test/sdks`, done by .ci/run); a missing SDK fails these tests, it never skips them.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { type Bucketing, type RouterConfig, createRouter } from "../../src/index.js";

const load = createRequire(import.meta.url);

/** 10,000 keys: ids, UUID-like hex, Latin-1 and CJK text, astral characters (emoji), and a lone surrogate now and then. */
function sampleKeys(count = 10_000): string[] {
  let state = 0x2545f491;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const hex = next().toString(16).padStart(8, "0") + next().toString(16).padStart(8, "0");
    switch (i % 6) {
      case 0:
        keys.push(`user-${i}`);
        break;
      case 1:
        keys.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(1, 4)}-${hex}`.slice(0, 36));
        break;
      case 2:
        keys.push(`ünïcødé-${i}-ß`);
        break;
      case 3:
        keys.push(`用户${i}日本語`);
        break;
      case 4:
        keys.push(`😀${i}é🚀`);
        break;
      default:
        keys.push(i % 60 === 5 ? `bad\ud800${i}` : `${i}`);
    }
  }
  return keys;
}

const KEYS = sampleKeys();
const NON_ASCII = KEYS.filter((key) => /[^\x00-\x7f]/.test(key)).length;

interface Split {
  readonly name: string;
  readonly weights: readonly number[];
}
const TWO_WAY: readonly Split[] = [
  { name: "50/50", weights: [50, 50] },
  { name: "90/10", weights: [90, 10] },
  { name: "1/99", weights: [1, 99] },
  { name: "0/100", weights: [0, 100] },
];
const THREE_WAY: readonly Split[] = [
  { name: "20/30/50", weights: [20, 30, 50] },
  { name: "34/33/33", weights: [34, 33, 33] },
];

/** A router whose split is `weights` over v1, v2 (, v3) under `bucketing`, the key from `request.key`. */
function routerFor(weights: readonly number[], bucketing: Bucketing) {
  const versions = ["v1", "v2", "v3"].slice(0, weights.length);
  const split = Object.fromEntries(versions.map((version, i) => [version, weights[i]!]));
  const config: RouterConfig = { versions, stable: "v1", ...(versions.length === 2 ? { canary: "v2" } : {}), split, bucketing };
  return createRouter(config);
}

/** How many keys turnout and the SDK assign differently (listing the first few for the failure message). */
function disagreements(route: (key: string) => string, sdk: (key: string) => string): { count: number; examples: string[] } {
  const examples: string[] = [];
  let count = 0;
  for (const key of KEYS) {
    const ours = route(key);
    const theirs = sdk(key);
    if (ours !== theirs) {
      count++;
      if (examples.length < 5) examples.push(`${JSON.stringify(key)}: turnout ${ours}, SDK ${theirs}`);
    }
  }
  return { count, examples };
}

function expectAgreement(route: (key: string) => string, sdk: (key: string) => string): void {
  const result = disagreements(route, sdk);
  expect(result, result.examples.join("\n")).toEqual({ count: 0, examples: [] });
}

describe("the key sample", () => {
  it("has 10,000 keys, a third of them or more outside ASCII", () => {
    expect(KEYS).toHaveLength(10_000);
    expect(NON_ASCII).toBeGreaterThan(3_000);
  });

  it("tells schemes apart: turnout's own bucketing disagrees with each SDK's on about half of the keys at 50/50", () => {
    const own = routerFor([50, 50], { scheme: "turnout" });
    for (const bucketing of [
      { scheme: "unleash", groupId: "g" },
      { scheme: "growthbook", seed: "s" },
      { scheme: "flagd", flagKey: "f" },
      { scheme: "launchdarkly", flagKey: "f", salt: "s" },
    ] as Bucketing[]) {
      const other = routerFor([50, 50], bucketing);
      const { count } = disagreements(
        (key) => own.decide({ key }).version,
        (key) => other.decide({ key }).version,
      );
      expect(count / KEYS.length).toBeGreaterThan(0.45);
      expect(count / KEYS.length).toBeLessThan(0.55);
    }
  });

  it("tells encodings apart: the other encoding of the same scheme disagrees on non-ASCII keys only", () => {
    const pairs: [Bucketing, Bucketing][] = [
      [
        { scheme: "unleash", groupId: "g", encoding: "latin1" },
        { scheme: "unleash", groupId: "g", encoding: "utf8" },
      ],
      [
        { scheme: "growthbook", seed: "s", encoding: "utf16" },
        { scheme: "growthbook", seed: "s", encoding: "utf8" },
      ],
      [
        { scheme: "flagd", flagKey: "f", implementation: "js" },
        { scheme: "flagd", flagKey: "f", implementation: "go" },
      ],
    ];
    for (const [a, b] of pairs) {
      const first = routerFor([50, 50], a);
      const second = routerFor([50, 50], b);
      const differing = KEYS.filter((key) => first.decide({ key }).version !== second.decide({ key }).version);
      expect(differing.length).toBeGreaterThan(NON_ASCII / 4);
      expect(differing.every((key) => /[^\x00-\x7f]/.test(key))).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// GrowthBook (JavaScript SDK)
// ---------------------------------------------------------------------------------------------------------------

interface GrowthBookModule {
  GrowthBookClient: new (options: object) => {
    initSync(options: { payload: { features: Record<string, unknown> } }): GrowthBookClientInstance;
  };
}
interface GrowthBookClientInstance {
  runInlineExperiment(experiment: object, user: { attributes: Record<string, string> }): { inExperiment: boolean; variationId: number };
  evalFeature(key: string, user: { attributes: Record<string, string> }): { value: unknown };
}

describe("GrowthBook: identical to @growthbook/growthbook on 10,000 keys", () => {
  const { GrowthBookClient } = load("@growthbook/growthbook") as GrowthBookModule;
  const cases: { name: string; hashVersion: 1 | 2; coverage?: number; namespace?: [string, number, number] }[] = [
    { name: "hash version 1", hashVersion: 1 },
    { name: "hash version 2", hashVersion: 2 },
    { name: "hash version 2, coverage 0.6", hashVersion: 2, coverage: 0.6 },
    { name: "hash version 1, namespace [ns, 0.25, 0.75]", hashVersion: 1, namespace: ["ns", 0.25, 0.75] },
  ];
  for (const split of [...TWO_WAY, ...THREE_WAY]) {
    for (const variant of cases) {
      it(`experiment, ${variant.name}, ${split.name}`, () => {
        const client = new GrowthBookClient({}).initSync({ payload: { features: {} } });
        const weights = split.weights.map((weight) => weight / 100);
        const experiment = {
          key: "checkout-exp",
          variations: split.weights.map((_, i) => i),
          weights,
          hashAttribute: "id",
          hashVersion: variant.hashVersion,
          ...(variant.coverage === undefined ? {} : { coverage: variant.coverage }),
          ...(variant.namespace === undefined ? {} : { namespace: variant.namespace }),
        };
        const router = routerFor(split.weights, {
          scheme: "growthbook",
          seed: "checkout-exp",
          hashVersion: variant.hashVersion,
          ...(variant.coverage === undefined ? {} : { coverage: variant.coverage }),
          ...(variant.namespace === undefined ? {} : { namespace: variant.namespace }),
        });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => {
            const result = client.runInlineExperiment(experiment, { attributes: { id: key } });
            return `v${result.inExperiment ? result.variationId + 1 : 1}`; // not in the experiment: the stable version
          },
        );
      });
    }
  }
  for (const hashVersion of [1, 2] as const) {
    it(`experiment with explicit ranges and two filters, hash version ${hashVersion}`, () => {
      const client = new GrowthBookClient({}).initSync({ payload: { features: {} } });
      const ranges: [number, number][] = [
        [0, 0.1],
        [0.5, 0.8],
        [0.8, 0.85],
      ];
      const filters = [
        { seed: "holdout", ranges: [[0, 0.6]] as [number, number][] },
        { seed: "pricing", hashVersion: 1 as const, ranges: [[0.1, 0.3] as [number, number], [0.5, 1] as [number, number]] },
      ];
      const experiment = { key: "checkout-exp", variations: [0, 1, 2], hashAttribute: "id", hashVersion, ranges, filters };
      const router = routerFor([10, 30, 5], { scheme: "growthbook", seed: "checkout-exp", hashVersion, ranges, filters });
      expectAgreement(
        (key) => router.decide({ key }).version,
        (key) => {
          const result = client.runInlineExperiment(experiment, { attributes: { id: key } });
          return `v${result.inExperiment ? result.variationId + 1 : 1}`;
        },
      );
    });
    it(`rollout rule with an explicit range and a filter, hash version ${hashVersion}`, () => {
      const range: [number, number] = [0.25, 0.65];
      const filters = [{ seed: "holdout", ranges: [[0, 0.7]] as [number, number][] }];
      const client = new GrowthBookClient({}).initSync({
        payload: { features: { "new-checkout": { defaultValue: "v1", rules: [{ force: "v2", range, filters, hashAttribute: "id", hashVersion }] } } },
      });
      const router = routerFor([60, 40], { scheme: "growthbook", mode: "rollout", seed: "new-checkout", hashVersion, range, filters });
      expectAgreement(
        (key) => router.decide({ key }).version,
        (key) => String(client.evalFeature("new-checkout", { attributes: { id: key } }).value),
      );
    });
  }
  for (const split of TWO_WAY) {
    for (const hashVersion of [1, 2] as const) {
      it(`percentage rollout rule, hash version ${hashVersion}, ${split.name}`, () => {
        const coverage = split.weights[1]! / 100;
        const client = new GrowthBookClient({}).initSync({
          payload: { features: { "new-checkout": { defaultValue: "v1", rules: [{ force: "v2", coverage, hashAttribute: "id", hashVersion }] } } },
        });
        const router = routerFor(split.weights, { scheme: "growthbook", mode: "rollout", seed: "new-checkout", hashVersion });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => String(client.evalFeature("new-checkout", { attributes: { id: key } }).value),
        );
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Unleash (unleash-client, Node)
// ---------------------------------------------------------------------------------------------------------------

interface UnleashModule {
  Unleash: new (options: object) => UnleashClient;
  InMemStorageProvider: new () => object;
}
interface UnleashClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  once(event: string, listener: () => void): void;
  isSynchronized(): boolean;
  isEnabled(name: string, context: Record<string, string>): boolean;
  getVariant(name: string, context: Record<string, string>): { name: string; enabled: boolean };
  destroy(): void;
}

async function unleashWith(features: object[]): Promise<UnleashClient> {
  const { Unleash, InMemStorageProvider } = load("unleash-client") as UnleashModule;
  const client = new Unleash({
    appName: "turnout-differential",
    url: "http://127.0.0.1:9/api/", // never contacted: refreshInterval 0 disables polling, the data is bootstrapped
    refreshInterval: 0,
    disableMetrics: true,
    skipInstanceCountWarning: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: features },
  });
  client.on("error", () => {});
  client.on("warn", () => {});
  await new Promise<void>((resolve) => (client.isSynchronized() ? resolve() : client.once("ready", () => resolve())));
  return client;
}

/** Variants v1, v2 (, v3) in that order behind a rollout; keys outside it get "disabled", the stable version. */
function rolloutThenVariants(weights: readonly number[], bucketing: Bucketing) {
  const variants = ["v1", "v2", "v3"].slice(0, weights.length);
  const split = Object.fromEntries(variants.map((version, i) => [version, weights[i]!]));
  return createRouter({ versions: [...variants, "disabled"], stable: "disabled", split, bucketing: { ...bucketing, order: variants } as Bucketing });
}

describe("Unleash: identical to unleash-client on 10,000 keys", () => {
  const feature = (name: string, strategies: object[], variants: object[] = []) => ({
    name,
    type: "release",
    project: "default",
    enabled: true,
    stale: false,
    impressionData: false,
    strategies,
    variants,
  });
  for (const split of TWO_WAY) {
    it(`flexible rollout (stickiness userId, groupId), ${split.name}`, async () => {
      const rollout = feature("new-checkout", [
        { name: "flexibleRollout", constraints: [], parameters: { rollout: String(split.weights[1]), stickiness: "userId", groupId: "checkout-group" } },
      ]);
      const client = await unleashWith([rollout]);
      const router = routerFor(split.weights, { scheme: "unleash", groupId: "checkout-group", encoding: "latin1" });
      expectAgreement(
        (key) => router.decide({ key }).version,
        (key) => (client.isEnabled("new-checkout", { userId: key }) ? "v2" : "v1"),
      );
      client.destroy();
    });
  }
  for (const split of [{ name: "50/50", weights: [50, 50] }, ...THREE_WAY]) {
    for (const percent of [40, 95]) {
      it(`flexible rollout ${percent} % then its strategy variants, ${split.name}`, async () => {
        const variants = split.weights.map((weight, i) => ({ name: `v${i + 1}`, weight: weight * 10, weightType: "variable", stickiness: "userId" }));
        const client = await unleashWith([
          feature("new-checkout", [
            { name: "flexibleRollout", constraints: [], parameters: { rollout: String(percent), stickiness: "userId", groupId: "checkout-group" }, variants },
          ]),
        ]);
        const router = rolloutThenVariants(split.weights, {
          scheme: "unleash",
          mode: "variants",
          groupId: "checkout-group",
          rollout: percent,
          encoding: "latin1",
        });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => client.getVariant("new-checkout", { userId: key }).name,
        );
        client.destroy();
      });
      it(`flexible rollout ${percent} % then the feature's variants, ${split.name}`, async () => {
        const variants = split.weights.map((weight, i) => ({ name: `v${i + 1}`, weight: weight * 10, weightType: "variable", stickiness: "default" }));
        const client = await unleashWith([
          feature(
            "new-checkout",
            [{ name: "flexibleRollout", constraints: [], parameters: { rollout: String(percent), stickiness: "userId", groupId: "checkout-group" } }],
            variants,
          ),
        ]);
        const router = rolloutThenVariants(split.weights, {
          scheme: "unleash",
          mode: "variants",
          groupId: "new-checkout",
          rollout: percent,
          rolloutGroupId: "checkout-group",
          encoding: "latin1",
        });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => client.getVariant("new-checkout", { userId: key }).name,
        );
        client.destroy();
      });
    }
  }
  for (const split of [...TWO_WAY.filter((s) => s.weights[0]! > 0), ...THREE_WAY]) {
    it(`feature variants (weights out of 1000), ${split.name}`, async () => {
      const variants = split.weights.map((weight, i) => ({ name: `v${i + 1}`, weight: weight * 10, weightType: "variable", stickiness: "default" }));
      const client = await unleashWith([feature("checkout-variants", [{ name: "default", constraints: [], parameters: {} }], variants)]);
      const router = routerFor(split.weights, { scheme: "unleash", mode: "variants", groupId: "checkout-variants", encoding: "latin1" });
      expectAgreement(
        (key) => router.decide({ key }).version,
        (key) => client.getVariant("checkout-variants", { userId: key }).name,
      );
      client.destroy();
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// flagd (@openfeature/flagd-core: v2 bucketing in 4.x, v1 in 1.3)
// ---------------------------------------------------------------------------------------------------------------

interface FlagdModule {
  FlagdCore: new () => {
    setConfigurations(flags: string): void;
    resolveStringEvaluation(flagKey: string, defaultValue: string, context: Record<string, string>): { value: string };
  };
}

describe("flagd: identical to @openfeature/flagd-core on 10,000 keys", () => {
  const packages = [
    { name: "@openfeature/flagd-core 4.0.1 (v2 bucketing)", module: "@openfeature/flagd-core", bucketing: "v2" as const },
    { name: "@openfeature/flagd-core 1.3.0 (v1 bucketing)", module: "flagd-core-v1", bucketing: "v1" as const },
  ];
  for (const pkg of packages) {
    for (const split of [...TWO_WAY, ...THREE_WAY]) {
      it(`${pkg.name}, fractional shorthand (flag key + targeting key), ${split.name}`, () => {
        const { FlagdCore } = load(pkg.module) as FlagdModule;
        const core = new FlagdCore();
        const variants = split.weights.map((_, i) => `v${i + 1}`);
        core.setConfigurations(
          JSON.stringify({
            flags: {
              "checkout-flag": {
                state: "ENABLED",
                variants: Object.fromEntries(variants.map((name) => [name, name])),
                defaultVariant: "v1",
                targeting: { fractional: variants.map((name, i) => [name, split.weights[i]]) },
              },
            },
          }),
        );
        const router = routerFor(split.weights, { scheme: "flagd", flagKey: "checkout-flag", bucketing: pkg.bucketing, implementation: "js" });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => core.resolveStringEvaluation("checkout-flag", "v1", { targetingKey: key }).value,
        );
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// LaunchDarkly (@launchdarkly/node-server-sdk, TestData)
// ---------------------------------------------------------------------------------------------------------------

interface LaunchDarklyModule {
  init(
    key: string,
    options: object,
  ): { waitForInitialization(options: object): Promise<unknown>; variation(flag: string, context: object, fallback: string): Promise<string>; close(): void };
  basicLogger(options: object): object;
}
interface TestDataModule {
  TestData: new () => { usePreconfiguredFlag(flag: object): Promise<unknown>; getFactory(): unknown };
}

/** An offline LaunchDarkly client serving one flag whose fallthrough is `rollout` over v1, v2 (, v3). */
async function launchDarklyWith(weights: readonly number[], rollout: object) {
  const ld = load("@launchdarkly/node-server-sdk") as LaunchDarklyModule;
  const { TestData } = load("@launchdarkly/node-server-sdk/integrations") as TestDataModule;
  const td = new TestData();
  await td.usePreconfiguredFlag({
    key: "new-checkout",
    version: 1,
    on: true,
    salt: "f3a1c2",
    variations: weights.map((_, i) => `v${i + 1}`),
    offVariation: 0,
    fallthrough: { rollout: { ...rollout, variations: weights.map((weight, i) => ({ variation: i, weight: Math.round(weight * 1000) })) } },
    targets: [],
    rules: [],
    prerequisites: [],
  });
  const client = ld.init("sdk-differential-offline", {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: ld.basicLogger({ level: "error", destination: () => {} }),
  });
  await client.waitForInitialization({ timeout: 10 });
  return client;
}

describe("LaunchDarkly: multi-kind contexts and integer attributes, identical to @launchdarkly/node-server-sdk", () => {
  const weights = [20, 30, 50];
  const bucketing: Bucketing = { scheme: "launchdarkly", flagKey: "new-checkout", salt: "f3a1c2", keyless: "sdk" };

  it("a rollout by the org kind of a multi-kind context buckets the org's key (10,000 keys); without an org, bucket 0", async () => {
    const client = await launchDarklyWith(weights, { contextKind: "org" });
    const theirs = new Map<string, string>();
    for (const key of KEYS)
      theirs.set(key, await client.variation("new-checkout", { kind: "multi", user: { key: `user-of-${key}` }, org: { key } }, "fallback"));
    const noOrg = await client.variation("new-checkout", { kind: "user", key: "someone" }, "fallback");
    client.close();
    const router = routerFor(weights, bucketing);
    expectAgreement(
      (key) => router.decide({ key }).version,
      (key) => theirs.get(key)!,
    );
    expect(router.decide({}).version).toBe(noOrg);
    expect(noOrg).toBe("v1");
  });

  it("a rollout by an integer attribute buckets its decimal text, as turnout reads a number attribute (10,000 values)", async () => {
    const client = await launchDarklyWith(weights, { bucketBy: "employeeNo" });
    const values = Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? -i * 7919 : i * 104729));
    const router = createRouter({
      versions: ["v1", "v2", "v3"],
      stable: "v1",
      split: { v1: 20, v2: 30, v3: 50 },
      stickiness: ["attr:employeeNo"],
      bucketing,
    });
    let differing = 0;
    for (const value of values) {
      const theirs = await client.variation("new-checkout", { kind: "user", key: "same-user", employeeNo: value }, "fallback");
      if (router.decide({ attributes: { employeeNo: value } }).version !== theirs) differing++;
    }
    client.close();
    expect(differing).toBe(0);
  });
});

describe("LaunchDarkly: identical to @launchdarkly/node-server-sdk on 10,000 keys", () => {
  const rollouts: { name: string; seed?: number }[] = [{ name: "percentage rollout (flag key, salt)" }, { name: "experiment (seed 61)", seed: 61 }];
  for (const split of [...TWO_WAY, ...THREE_WAY, { name: "33.333/33.333/33.334", weights: [33.333, 33.333, 33.334] }]) {
    for (const rollout of rollouts) {
      it(`${rollout.name}, ${split.name}`, async () => {
        const ld = load("@launchdarkly/node-server-sdk") as LaunchDarklyModule;
        const { TestData } = load("@launchdarkly/node-server-sdk/integrations") as TestDataModule;
        const td = new TestData();
        const variations = split.weights.map((_, i) => `v${i + 1}`);
        await td.usePreconfiguredFlag({
          key: "new-checkout",
          version: 1,
          on: true,
          salt: "f3a1c2",
          variations,
          offVariation: 0,
          fallthrough: {
            rollout: {
              ...(rollout.seed === undefined ? {} : { kind: "experiment", seed: rollout.seed }),
              variations: split.weights.map((weight, i) => ({ variation: i, weight: Math.round(weight * 1000) })),
            },
          },
          targets: [],
          rules: [],
          prerequisites: [],
        });
        const client = ld.init("sdk-differential-offline", {
          updateProcessor: td.getFactory(),
          sendEvents: false,
          diagnosticOptOut: true,
          logger: ld.basicLogger({ level: "error", destination: () => {} }),
        });
        await client.waitForInitialization({ timeout: 10 });
        const theirs = new Map<string, string>();
        for (const key of KEYS) theirs.set(key, await client.variation("new-checkout", { kind: "user", key }, "fallback"));
        client.close();
        const router = routerFor(split.weights, {
          scheme: "launchdarkly",
          flagKey: "new-checkout",
          salt: "f3a1c2",
          ...(rollout.seed === undefined ? {} : { seed: rollout.seed }),
        });
        expectAgreement(
          (key) => router.decide({ key }).version,
          (key) => theirs.get(key)!,
        );
      });
    }
  }
});

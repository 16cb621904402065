/**
 * turnout's decide() side by side with the feature-flag SDKs people would otherwise use for the same job: a sticky
 * two-variant assignment (50/50 and 90/10) of the same keys, through each one's public evaluation call, offline.
 *
 *   npm run bench:peers      (installs bench/peers/ with `npm ci`, then runs this file)
 *
 * Each peer runs in its own process, interleaved with turnout's decide in that process; the headline is the ratio
 * peer / turnout. No peer may touch the network: ./guard.ts blocks and counts every attempt, and the report says
 * whether any SDK tried. Before measuring, each peer's assignments over the keys are checked: both variants appear,
 * in the configured proportions, and the same key gets the same variant twice (it really evaluates).
 *
 * Inputs are built once per key for every contender (turnout's request, GrowthBook's user context, Unleash's and
 * LaunchDarkly's contexts, flagd's evaluation context), so none pays for building them in the loop.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { installNetworkGuard, networkAttempts } from "./guard.js";
import { createRouter } from "../../src/router/index.js";
import type { BenchGroup, GroupResult, ScenarioPlan } from "../lib/harness.js";
import { runSuite } from "../lib/harness.js";
import { cycle, KEY_SETS, type KeySetName } from "../lib/keys.js";

installNetworkGuard();

const SPLITS = { "50/50": [50, 50], "90/10": [90, 10] } as const;
type Split = keyof typeof SPLITS;
const WORKLOADS: readonly (readonly [Split, KeySetName])[] = [
  ["50/50", "short"],
  ["50/50", "uuid"],
  ["90/10", "short"],
];
const PEERS_DIR = path.dirname(new URL(import.meta.url).pathname);

function versionOf(pkg: string): string {
  const file = path.join(PEERS_DIR, "node_modules", ...pkg.split("/"), "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** One contender's evaluation of a split over pre-built inputs for `keys`. */
interface Evaluator {
  /** One evaluation of the next key (cycled). */
  readonly fn: () => unknown;
  /** The variant ("v1" / "v2") a result of `fn` stands for. */
  readonly variant: (result: unknown) => string;
}

interface Contender {
  readonly name: string;
  readonly call: string;
  evaluator(split: Split, keys: readonly string[]): Evaluator;
}

const flagName = (split: Split) => (split === "50/50" ? "split-50-50" : "split-90-10");

// ---------------------------------------------------------------------------------------------------------------
// The contenders
// ---------------------------------------------------------------------------------------------------------------

function turnout(): Contender {
  const routers = {
    "50/50": createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 50, v2: 50 }, stickiness: ["header:x-user-id"] }),
    "90/10": createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 }, stickiness: ["header:x-user-id"] }),
  };
  return {
    name: "turnout",
    call: "router.decide",
    evaluator(split, keys) {
      const router = routers[split];
      const next = cycle(keys.map((key) => ({ headers: { "x-user-id": key } })));
      return { fn: () => router.decide(next()), variant: (d) => (d as { version: string }).version };
    },
  };
}

async function growthbook(): Promise<Contender> {
  const { GrowthBookClient } = await import("@growthbook/growthbook");
  const client = new GrowthBookClient({}).initSync({ payload: { features: {} } });
  return {
    name: `GrowthBook ${versionOf("@growthbook/growthbook")}`,
    call: "GrowthBookClient.runInlineExperiment",
    evaluator(split, keys) {
      const [a, b] = SPLITS[split];
      const experiment = {
        key: flagName(split),
        variations: ["v1", "v2"] as [string, string],
        weights: [a / 100, b / 100],
        hashAttribute: "id",
        hashVersion: 2,
      };
      const next = cycle(keys.map((key) => ({ attributes: { id: key } })));
      return { fn: () => client.runInlineExperiment(experiment, next()), variant: (r) => (r as { value: string }).value };
    },
  };
}

async function unleash(): Promise<Contender> {
  const { Unleash, InMemStorageProvider } = await import("unleash-client");
  const feature = (split: Split) => ({
    name: flagName(split),
    type: "release",
    project: "default",
    enabled: true,
    stale: false,
    impressionData: false,
    strategies: [
      {
        name: "flexibleRollout",
        constraints: [],
        parameters: { rollout: String(SPLITS[split][1]), stickiness: "userId", groupId: flagName(split) },
      },
    ],
    variants: [],
  });
  const client = new Unleash({
    appName: "turnout-bench",
    url: "http://127.0.0.1:9/api/", // never used: refreshInterval 0 disables polling, and the guard would catch it
    refreshInterval: 0,
    disableMetrics: true,
    skipInstanceCountWarning: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: [feature("50/50"), feature("90/10")] as never },
  });
  client.on("error", () => {});
  client.on("warn", () => {});
  await new Promise<void>((resolve) => (client.isSynchronized() ? resolve() : client.once("ready", () => resolve())));
  return {
    name: `Unleash ${versionOf("unleash-client")}`,
    call: "Unleash.isEnabled (flexibleRollout)",
    evaluator(split, keys) {
      const name = flagName(split);
      const next = cycle(keys.map((userId) => ({ userId })));
      return { fn: () => client.isEnabled(name, next()), variant: (on) => (on === true ? "v2" : "v1") };
    },
  };
}

async function flagd(): Promise<Contender> {
  const { FlagdCore } = await import("@openfeature/flagd-core");
  const core = new FlagdCore();
  const flag = (split: Split) => ({
    state: "ENABLED",
    variants: { v1: "v1", v2: "v2" },
    defaultVariant: "v1",
    targeting: {
      fractional: [
        ["v1", SPLITS[split][0]],
        ["v2", SPLITS[split][1]],
      ],
    },
  });
  core.setConfigurations(JSON.stringify({ flags: { [flagName("50/50")]: flag("50/50"), [flagName("90/10")]: flag("90/10") } }));
  return {
    name: `flagd-core ${versionOf("@openfeature/flagd-core")}`,
    call: "FlagdCore.resolveStringEvaluation (fractional)",
    evaluator(split, keys) {
      const name = flagName(split);
      const next = cycle(keys.map((targetingKey) => ({ targetingKey })));
      return { fn: () => core.resolveStringEvaluation(name, "v1", next()), variant: (r) => (r as { value: string }).value };
    },
  };
}

async function launchdarkly(): Promise<Contender> {
  const ld = await import("@launchdarkly/node-server-sdk");
  const { TestData } = await import("@launchdarkly/node-server-sdk/integrations");
  const td = new TestData();
  for (const split of Object.keys(SPLITS) as Split[]) {
    const [a, b] = SPLITS[split];
    // The TestData builder has no percentage rollouts, so the flag is given in LaunchDarkly's own data model.
    await td.usePreconfiguredFlag({
      key: flagName(split),
      version: 1,
      on: true,
      salt: flagName(split),
      variations: ["v1", "v2"],
      offVariation: 0,
      fallthrough: {
        rollout: {
          variations: [
            { variation: 0, weight: a * 1000 },
            { variation: 1, weight: b * 1000 },
          ],
        },
      },
      targets: [],
      rules: [],
      prerequisites: [],
    });
  }
  const client = ld.init("sdk-bench-offline", {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: ld.basicLogger({ level: "error", destination: () => {} }),
  });
  await client.waitForInitialization({ timeout: 10 });
  return {
    name: `LaunchDarkly ${versionOf("@launchdarkly/node-server-sdk")}`,
    call: "LDClient.variation (TestData, rollout)",
    evaluator(split, keys) {
      const name = flagName(split);
      const next = cycle(keys.map((key) => ({ kind: "user", key })));
      return { fn: () => client.variation(name, next(), "v1"), variant: (v) => String(v) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks and plan
// ---------------------------------------------------------------------------------------------------------------

/** Evaluates every key twice: both variants must appear in about the configured shares, each key the same twice. */
async function check(contender: Contender, split: Split, keys: readonly string[]): Promise<string> {
  const { fn, variant } = contender.evaluator(split, keys);
  const pass = async () => {
    const out: string[] = [];
    for (let i = 0; i < keys.length; i++) out.push(variant(await fn()));
    return out;
  };
  const first = await pass();
  const second = await pass();
  const moved = first.filter((v, i) => v !== second[i]).length;
  const share = first.filter((v) => v === "v2").length / keys.length;
  const expected = SPLITS[split][1] / 100;
  const tolerance = split === "50/50" ? 0.06 : 0.04; // about 4 standard deviations over 1,024 keys
  const line = `${contender.name} ${split}: v2 on ${(share * 100).toFixed(1)} % of ${keys.length} keys (expected ${expected * 100} %), ${moved} moved on re-evaluation`;
  if (moved > 0 || Math.abs(share - expected) > tolerance || !first.includes("v1") || !first.includes("v2")) {
    throw new Error(`implausible assignments — ${line}`);
  }
  return line;
}

async function plan(make: () => Contender | Promise<Contender>): Promise<ScenarioPlan> {
  const peer = await make();
  const ours = turnout();
  const checks: string[] = [];
  const groups: BenchGroup[] = [];
  for (const [split, set] of WORKLOADS) {
    const keys = KEY_SETS[set]();
    if (set === "short") {
      checks.push(await check(peer, split, keys));
      checks.push(await check(ours, split, keys));
    }
    const mine = ours.evaluator(split, keys);
    const theirs = peer.evaluator(split, keys);
    groups.push({
      name: `${peer.name} · ${split} · ${set === "short" ? "short keys" : "UUIDs"}`,
      cases: [
        { name: `turnout ${ours.call}`, baseline: true, fn: mine.fn },
        { name: `${peer.name.split(" ")[0]} ${peer.call}`, fn: theirs.fn },
      ],
    });
  }
  return {
    groups,
    finish: () => {
      const attempts = networkAttempts();
      const network =
        attempts.length === 0
          ? `${peer.name}: no network attempt (guard: fetch, http(s), net, tls, dns)`
          : `${peer.name}: ${attempts.length} network attempt(s) blocked: ${[...new Set(attempts.map((a) => `${a.api} ${a.target}`))].join(", ")}`;
      return [network, ...checks];
    },
  };
}

function summary(groups: readonly GroupResult[]): string[] {
  const lines = ["Headline — peer ÷ turnout, ns per assignment, same process (higher is better for turnout):"];
  for (const g of groups) {
    const peer = g.cases.find((c) => !c.baseline);
    const ours = g.cases.find((c) => c.baseline);
    if (peer === undefined || ours === undefined) continue;
    lines.push(
      `  ${g.name.padEnd(48)} ${peer.ratio.toFixed(1).padStart(6)}×   (${Math.round(peer.nsPerOp)} ns, ${Math.round(peer.bytesPerOp ?? NaN)} B  vs  ${ours.nsPerOp} ns, ${Math.round(ours.bytesPerOp ?? NaN)} B)`,
    );
  }
  return lines;
}

await runSuite({
  name: "peers",
  title: "turnout · decide() beside GrowthBook, Unleash, flagd-core and LaunchDarkly (offline, same keys, same process)",
  scenarios: {
    growthbook: () => plan(growthbook),
    unleash: () => plan(unleash),
    flagd: () => plan(flagd),
    launchdarkly: () => plan(launchdarkly),
  },
  summary,
  notes: [
    "Workload: a sticky 2-variant assignment (50/50, 90/10) keyed by a user id; inputs pre-built per key for every contender.",
    "× = ns of the row ÷ ns of turnout's decide in the same group; the target is ≥ 20× for every peer.",
  ],
});

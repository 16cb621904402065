/**
 * `decide` under each compatibility bucketing scheme against `decide` under turnout's own, in one run.
 *
 *   tsx bench/compat.ts [--only=turnout-uuid,unleash-uuid] [--quick]
 *
 * Each scheme runs in its own process with one router (as in bench/decide.ts: the JIT sees one config), beside the
 * floor, the bare MurmurHash3 of the same keys, measured in the same process. The summary compares the schemes with
 * turnout's own through that floor: (scheme ÷ floor) ÷ (turnout ÷ floor), so a process that ran on a busier core
 * does not skew the comparison.
 *
 * Goal: ≤ 2× turnout's own for the MurmurHash3- and FNV-based schemes (Unleash, flagd, GrowthBook).
 */
import { createRouter } from "../src/router/index.js";
import type { Bucketing, RouteRequest, Router, RouterConfig } from "../src/types.js";
import { floorBucket } from "./lib/floor.js";
import { type BenchCase, type GroupResult, runSuite, type ScenarioPlan } from "./lib/harness.js";
import { cycle, KEY_SETS, type KeySetName } from "./lib/keys.js";

const SCHEMES: Readonly<Record<string, Bucketing>> = {
  turnout: { scheme: "turnout" },
  unleash: { scheme: "unleash", groupId: "new-checkout" },
  "unleash-variants": { scheme: "unleash", mode: "variants", groupId: "new-checkout" },
  growthbook: { scheme: "growthbook", seed: "checkout-exp", hashVersion: 2 },
  "growthbook-v1": { scheme: "growthbook", seed: "checkout-exp", hashVersion: 1 },
  flagd: { scheme: "flagd", flagKey: "new-checkout" },
  launchdarkly: { scheme: "launchdarkly", flagKey: "new-checkout", salt: "f3a1c2" },
};

/** bench/decide.ts's workload: 2 versions at 90/10, 2 header overrides that do not match, the key from a header. */
function configFor(bucketing: Bucketing): RouterConfig {
  return {
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 90, v2: 10 },
    stickiness: ["header:x-user-id"],
    overrides: [
      { header: "x-canary", equals: "true", version: "v2" },
      { header: "x-force-version", values: ["v1", "stable"], version: "v1" },
    ],
    bucketing,
  };
}

function headersFor(key: string): Record<string, string> {
  return {
    host: "api.example.com",
    "user-agent": "turnout-bench/1.0",
    accept: "application/json",
    "accept-encoding": "gzip, deflate, br",
    connection: "keep-alive",
    "x-request-id": "5d0a1c6e-bench",
    "x-user-id": key,
  };
}

function share(router: Router, requests: readonly RouteRequest[]): string {
  let canary = 0;
  for (const request of requests) if (router.decide(request).version === "v2") canary++;
  return `${((100 * canary) / requests.length).toFixed(1)} % v2`;
}

function scenario(name: string, set: KeySetName): ScenarioPlan {
  const keys = KEY_SETS[set]();
  const router = createRouter(configFor(SCHEMES[name]!));
  const requests = keys.map((key) => ({ headers: headersFor(key) }));
  const nextKey = cycle(keys);
  const nextRequest = cycle(requests);
  const cases: BenchCase[] = [
    { name: "floor: murmur3 of the key", baseline: true, fn: () => floorBucket(nextKey(), 0) },
    { name: `decide · ${name}`, fn: () => router.decide(nextRequest()) },
  ];
  return {
    groups: [{ name: `${name} · ${set === "short" ? "short keys" : "UUIDs"}`, cases }],
    finish: () => [`${name} ${set}: ${share(router, requests)} over ${keys.length} keys`],
  };
}

/** (scheme ÷ floor) ÷ (turnout ÷ floor), per key set. */
function summary(groups: readonly GroupResult[]): string[] {
  const ratio = (group: GroupResult | undefined): number | undefined => group?.cases.find((c) => !c.baseline)?.ratio;
  const lines: string[] = [];
  for (const set of ["short", "uuid"] as const) {
    const label = set === "short" ? "short keys" : "UUIDs";
    const own = ratio(groups.find((g) => g.name === `turnout · ${label}`));
    if (own === undefined) continue;
    const parts: string[] = [];
    for (const name of Object.keys(SCHEMES)) {
      if (name === "turnout") continue;
      const group = groups.find((g) => g.name === `${name} · ${label}`);
      const mine = ratio(group);
      const ns = group?.cases.find((c) => !c.baseline)?.nsPerOp;
      if (mine !== undefined && ns !== undefined) parts.push(`${name} ${ns.toFixed(1)} ns = ${(mine / own).toFixed(2)}×`);
    }
    const ownNs = groups.find((g) => g.name === `turnout · ${label}`)?.cases.find((c) => !c.baseline)?.nsPerOp;
    lines.push(`${label}: turnout's own ${ownNs?.toFixed(1)} ns; ${parts.join(", ")} (× turnout's own, through each process's floor)`);
  }
  return lines;
}

const scenarios: Record<string, () => ScenarioPlan> = {};
for (const name of Object.keys(SCHEMES)) {
  scenarios[`${name}-short`] = () => scenario(name, "short");
  scenarios[`${name}-uuid`] = () => scenario(name, "uuid");
}

await runSuite({
  name: "compat",
  title: "turnout · decide() under compatibility bucketing schemes against turnout's own",
  scenarios,
  summary,
  notes: [
    "Goal: ≤ 2× turnout's own bucketing for the MurmurHash3- and FNV-based schemes (Unleash, flagd, GrowthBook); LaunchDarkly's SHA-1 is measured, with no goal.",
    "Workload: bench/decide.ts's (2 versions at 90/10, 2 header overrides that do not match, the key from x-user-id); 1,024 keys per set, cycled.",
  ],
});

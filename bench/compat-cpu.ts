/**
 * A second measure of bench/compat.ts, robust to a busy machine: process CPU time of 1,000,000 `decide` calls per
 * scheme (UUID-like keys from a header), each scheme in its own process, turnout's own first.
 *
 *   tsx bench/compat-cpu.ts
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createRouter } from "../src/router/index.js";
import type { Bucketing } from "../src/types.js";

const SCHEMES: Readonly<Record<string, Bucketing>> = {
  turnout: { scheme: "turnout" },
  unleash: { scheme: "unleash", groupId: "new-checkout" },
  "unleash-variants": { scheme: "unleash", mode: "variants", groupId: "new-checkout" },
  "growthbook-v1": { scheme: "growthbook", seed: "checkout-exp", hashVersion: 1 },
  growthbook: { scheme: "growthbook", seed: "checkout-exp", hashVersion: 2 },
  flagd: { scheme: "flagd", flagKey: "new-checkout" },
  launchdarkly: { scheme: "launchdarkly", flagKey: "new-checkout", salt: "f3a1c2" },
};

function measure(name: string): number {
  const keys = Array.from({ length: 1024 }, (_, i) => `3f2c${i}-aa11-4bcd-9e8f-${(i * 7919).toString(16).padStart(12, "0")}`);
  const router = createRouter({
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 90, v2: 10 },
    stickiness: ["header:x-user-id"],
    bucketing: SCHEMES[name]!,
  });
  const requests = keys.map((key) => ({ headers: { host: "api.example.com", accept: "application/json", "x-user-id": key } }));
  let canary = 0;
  let ns = 0;
  for (let round = 0; round < 3; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < 1_000_000; i++) if (router.decide(requests[i & 1023]!).version === "v2") canary++;
    const used = process.cpuUsage(start);
    ns = (used.user + used.system) / 1000; // µs per 10^6 calls = ns per call
  }
  if (canary === 0) throw new Error("no key reached the canary");
  return ns;
}

const only = process.argv[2];
if (only !== undefined) {
  process.stdout.write(`${measure(only).toFixed(1)}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const results = new Map<string, number>();
  for (const name of Object.keys(SCHEMES)) {
    results.set(name, Number(execFileSync(process.execPath, ["--import", "tsx", self, name], { encoding: "utf8" }).trim()));
  }
  const own = results.get("turnout")!;
  for (const [name, ns] of results) console.log(`${name.padEnd(18)} ${ns.toFixed(1).padStart(7)} ns CPU per decide  ${(ns / own).toFixed(2)}× turnout's own`);
}

/**
 * The OpenFeature provider's evaluation cost against `router.decide`, in one run: the same keys and attributes,
 * decided directly, through the provider's resolveStringEvaluation, and through the OpenFeature SDK's client
 * (hooks, context merging, evaluation details) — and, as the SDK's own floor, its client over the SDK's
 * InMemoryProvider with a static flag. Rounds alternate so that drift hits all three alike; the figure
 * is each one's median ns/op and its ratio to `router.decide` (the baseline) of the same run.
 *
 *   tsx bench/openfeature.ts            (5 rounds of 50,000 evaluations each)
 *   tsx bench/openfeature.ts --quick    (3 rounds of 10,000)
 */
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import { createOpenFeatureProvider } from "../src/integrations/openfeature.js";
import { createRouter } from "../src/router/index.js";

const quick = process.argv.includes("--quick");
const rounds = quick ? 3 : 5;
const n = quick ? 10_000 : 50_000;

const router = createRouter({
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  segments: [{ name: "beta", version: "v2", include: [{ attr: "tier", equals: "beta" }] }],
});
const provider = createOpenFeatureProvider({ flags: { checkout: router } });
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();
await OpenFeature.setProviderAndWait("floor", new InMemoryProvider({ checkout: { variants: { v1: "v1", v2: "v2" }, defaultVariant: "v1", disabled: false } }));
const floor = OpenFeature.getClient("floor");
const contexts = Array.from({ length: 1024 }, (_, i) => ({ targetingKey: `user-${i}`, tier: i % 10 === 0 ? "beta" : "free", country: "de" }));
const requests = contexts.map(({ targetingKey, ...attributes }) => ({ key: targetingKey, attributes }));

let sink = 0;
const cases: Record<string, () => Promise<void>> = {
  "router.decide": async () => {
    for (let i = 0; i < n; i++) sink += router.decide(requests[i & 1023] as (typeof requests)[number]).version.length;
  },
  "provider.resolveStringEvaluation": async () => {
    for (let i = 0; i < n; i++) sink += (await provider.resolveStringEvaluation("checkout", "v1", contexts[i & 1023] ?? {}, console)).value.length;
  },
  "OpenFeature client.getStringValue": async () => {
    for (let i = 0; i < n; i++) sink += (await client.getStringValue("checkout", "v1", contexts[i & 1023])).length;
  },
  "same, InMemoryProvider (the SDK's floor)": async () => {
    for (let i = 0; i < n; i++) sink += (await floor.getStringValue("checkout", "v1", contexts[i & 1023])).length;
  },
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const run of Object.values(cases)) await run(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const started = process.hrtime.bigint();
    await run();
    samples[name]?.push(Number(process.hrtime.bigint() - started) / n);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const base = median(samples["router.decide"] as number[]);
console.log(`${rounds} rounds × ${n.toLocaleString("en")} evaluations, median ns/op (ratio to router.decide)`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`  ${name.padEnd(42)} ${m.toFixed(0).padStart(7)} ns/op  ×${(m / base).toFixed(1)}`);
}
if (sink === 0) console.log("");
await OpenFeature.close();

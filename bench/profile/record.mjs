// Where stats.record's time goes: a CPU profile of 30,000,000 records against the built package.
//
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile/record.mjs latency+uuid
//   node bench/profile/summarize.mjs /tmp/prof
//
// Modes: "none" (version and outcome), "latency", "latency+short" (client user-N), "latency+uuid".
import { randomUUID } from "node:crypto";
import { createStats } from "../../dist/index.js";

const T0 = 1_700_000_000_000;
const mode = process.argv[2] ?? "latency+uuid";
const samples = Array.from({ length: 1024 }, (_, i) => {
  const sample = { version: i % 10 === 0 ? "v2" : "v1", ok: i % 97 !== 0 };
  if (mode.includes("latency")) sample.latencyMs = Math.exp(3 + ((i * 7919) % 1000) / 1000 - 0.5);
  if (mode.includes("uuid")) sample.client = randomUUID();
  if (mode.includes("short")) sample.client = `user-${i}`;
  return sample;
});
const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
const N = 30_000_000;
let recorded = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < N; i++) if (stats.record(samples[i & 1023], T0 + (i >> 4))) recorded++;
console.log(`${mode}: ${(Number(process.hrtime.bigint() - started) / N).toFixed(1)} ns per record (profiler on), ${recorded} recorded`);

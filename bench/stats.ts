// Benchmarks of the stats aggregator (issue 7's targets: record ≤ 50 ns median and 0 bytes per call in steady
// state; heap flat in the number of distinct clients). Timings are printed, never asserted.
//
//   node --expose-gc --import tsx bench/stats.ts            # everything
//   node --expose-gc --import tsx bench/stats.ts --quick    # a smaller heap-growth run
//   node --expose-gc --import tsx bench/stats.ts --only=ns|alloc|heap
//
// Sections: (1) ns/op with mitata for record() variants, the bare hash (the floor), window(), snapshot(), merge;
// (2) bytes allocated per record() over a GC-free loop; (3) heap growth after 10,000,000 records from 1,000,000
// distinct clients over 2 versions.

import { bench, do_not_optimize, group, run, summary } from "mitata";
import { murmur3Signed } from "../src/router/hash.js";
import { createStats, mergeSnapshots, type Stats, type StatsSample } from "../src/stats/index.js";

const quick = process.argv.includes("--quick");
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with: node --expose-gc --import tsx bench/stats.ts");
  process.exit(1);
}

const T0 = 1_700_000_000_000;
const N = 4096; // distinct prepared samples, cycled
const shortKeys = Array.from({ length: N }, (_, i) => `user-${i}`);
const uuids = Array.from({ length: N }, () => crypto.randomUUID());
const latencies = Array.from({ length: N }, () => Math.exp(3 + Math.random()));

function samples(keys: readonly string[] | undefined, withLatency: boolean): StatsSample[] {
  return Array.from({ length: N }, (_, i) => {
    const sample: { version: string; ok: boolean; latencyMs?: number; client?: string } = { version: i % 10 === 0 ? "v2" : "v1", ok: i % 97 !== 0 };
    if (withLatency) sample.latencyMs = latencies[i] as number;
    if (keys !== undefined) sample.client = keys[i] as string;
    return sample;
  });
}

function fresh(): Stats {
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  // Warm every structure (the version states exist from the start; dense sketches after 5,000 clients).
  for (let i = 0; i < 5000; i++) stats.record({ version: "v1", ok: true, latencyMs: 1, client: `warm-${i}` }, T0);
  for (let i = 0; i < 5000; i++) stats.record({ version: "v2", ok: true, latencyMs: 1, client: `warm-${i}` }, T0);
  return stats;
}

const variants: [string, StatsSample[]][] = [
  ["record (no client, no latency)", samples(undefined, false)],
  ["record (latency)", samples(undefined, true)],
  ["record (latency + short client)", samples(shortKeys, true)],
  ["record (latency + UUID client)", samples(uuids, true)],
];

// ---------------------------------------------------------------------------------------------------------------
// 1. ns per operation
// ---------------------------------------------------------------------------------------------------------------
group("record(sample, now): ns per call", () => {
  summary(() => {
    bench("floor: murmur3Signed(short key)", function* () {
      let i = 0;
      yield () => do_not_optimize(murmur3Signed(shortKeys[i++ & (N - 1)] as string, 1));
    });
    bench("floor: murmur3Signed(UUID)", function* () {
      let i = 0;
      yield () => do_not_optimize(murmur3Signed(uuids[i++ & (N - 1)] as string, 1));
    });
    for (const [name, list] of variants) {
      bench(name, function* () {
        const stats = fresh();
        let i = 0;
        yield () => do_not_optimize(stats.record(list[i++ & (N - 1)] as StatsSample, T0 + (i >> 4)));
      });
    }
    bench("record (latency + short client), clock call instead of now", function* () {
      const stats = fresh();
      const list = variants[2]?.[1] as StatsSample[];
      let i = 0;
      yield () => do_not_optimize(stats.record(list[i++ & (N - 1)] as StatsSample));
    });
    bench("record with count: 1000 (the simulator's path)", function* () {
      const stats = fresh();
      const sample = { version: "v2", ok: true, latencyMs: 20, count: 1000 };
      let t = T0;
      yield () => do_not_optimize(stats.record(sample, (t += 1000)));
    });
  });
});

group("reads", () => {
  const stats = fresh();
  const list = variants[3]?.[1] as StatsSample[];
  // 5 minutes of traffic at ~130 req/s in every slice.
  for (let i = 0; i < 40_000; i++) stats.record(list[i & (N - 1)] as StatsSample, T0 + i * 7.5);
  const now = T0 + 300_000;
  bench("window() — 31 slices, 2 versions", () => do_not_optimize(stats.window({ now })));
  bench("window({ since }) — the rollout's query", () => do_not_optimize(stats.window({ now, since: now - 60_000 })));
  bench("snapshot()", () => do_not_optimize(stats.snapshot(now)));
  const a = stats.snapshot(now);
  const b = stats.snapshot(now);
  bench("mergeSnapshots(a, b)", () => do_not_optimize(mergeSnapshots(a, b)));
  bench("JSON.stringify(snapshot).length", () => do_not_optimize(JSON.stringify(a).length));
});

// ---------------------------------------------------------------------------------------------------------------
// 2. bytes allocated per record() in steady state
// ---------------------------------------------------------------------------------------------------------------
const outcomes = Array.from({ length: N }, (_, i) => ({
  decision: { version: i % 10 === 0 ? "v2" : "v1" },
  outcome: { status: i % 97 === 0 ? 503 : 200, durationMs: latencies[i] as number, client: shortKeys[i] as string },
}));

/** Heap used after 50,000 calls minus before: the median of 40 runs (a run during which a GC ran is left out). */
function bytesPerCall(loop: (from: number, calls: number) => void): string {
  loop(0, 300_000);
  gc?.();
  const perCall: number[] = [];
  for (let chunk = 0; chunk < 40; chunk++) {
    const before = process.memoryUsage().heapUsed;
    loop(300_000 + chunk * 50_000, 50_000);
    const after = process.memoryUsage().heapUsed;
    if (after >= before) perCall.push((after - before) / 50_000);
  }
  perCall.sort((a, b) => a - b);
  return `${(perCall[perCall.length >> 1] ?? Number.NaN).toFixed(3)} B/call  (${perCall.length}/40 runs without GC)`;
}

function recordLoop(list: readonly StatsSample[]): (from: number, calls: number) => void {
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  return (from, calls) => {
    for (let i = from; i < from + calls; i++) stats.record(list[i & (N - 1)] as StatsSample, T0 + (i >> 4));
  };
}

function outcomeLoop(): (from: number, calls: number) => void {
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  return (from, calls) => {
    for (let i = from; i < from + calls; i++) {
      const o = outcomes[i & (N - 1)] as (typeof outcomes)[number];
      stats.recordOutcome(o.decision, o.outcome, T0 + (i >> 4));
    }
  };
}

/** One variant, in a process of its own, so that V8 sees one sample shape, as at an application's call site. */
function allocationsOf(k: number): void {
  const variant = variants[k];
  const name = variant?.[0] ?? "recordOutcome (status, duration, client)";
  console.log(`  ${name.padEnd(42)} ${bytesPerCall(variant === undefined ? outcomeLoop() : recordLoop(variant[1]))}`);
}

async function allocations(): Promise<void> {
  const { spawnSync } = await import("node:child_process");
  console.log("\nbytes allocated per call (now passed): heap used after 50,000 calls minus before, median of 40 runs;");
  console.log("each variant in a fresh process (one sample shape); a run during which a GC ran is left out");
  for (let k = 0; k <= variants.length; k++) {
    spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, "--only=alloc-one", `--variant=${k}`], { stdio: "inherit" });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. heap growth: 10,000,000 records from 1,000,000 distinct clients over 2 versions
// ---------------------------------------------------------------------------------------------------------------
/** Heap used plus typed-array memory (which V8 keeps outside the heap). */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function heapGrowth(): void {
  const records = quick ? 2_000_000 : 10_000_000;
  const distinct = quick ? 200_000 : 1_000_000;
  const clients = Array.from({ length: distinct }, (_, i) => `client-${i}`);
  // Template literals of 13+ characters are cons strings, which V8 flattens (allocating) on the first charCodeAt:
  // flatten them now, so that what follows measures the stats, not the benchmark's strings.
  let flat = 0;
  for (const c of clients) flat ^= murmur3Signed(c, 0);
  do_not_optimize(flat);
  gc?.();
  const empty = used();
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  gc?.();
  console.log(`\nfixed size of a stats with 2 versions (5-minute window in 10-second slices): ${((used() - empty) / 1024).toFixed(0)} KiB`);
  // Allocate what is allocated once: both versions' rings and sketches, the scratch used to turn sets into registers.
  for (let i = 0; i < 4000; i++) stats.record({ version: i & 1 ? "v2" : "v1", ok: true, latencyMs: 1, client: `warm-${i}` }, T0);
  gc?.();
  gc?.();
  const before = used();
  const sample = { version: "v1", ok: true, latencyMs: 0, client: "" };
  const started = performance.now();
  const loop = (): void => {
    for (let i = 0; i < records; i++) {
      sample.version = (i & 1) === 0 ? "v1" : "v2";
      sample.latencyMs = 1 + (i % 1000) * 0.37;
      sample.client = clients[i % distinct] as string;
      stats.record(sample, T0 + i / 10); // 10,000 req/s: the 5-minute ring turns over 3 times
    }
  };
  loop();
  const elapsed = performance.now() - started;
  gc?.();
  gc?.();
  const after = used();
  const snap = stats.snapshot(T0 + records / 10);
  console.log(
    `heap growth after ${records.toLocaleString("en")} records from ${distinct.toLocaleString("en")} distinct clients over 2 versions: ` +
      `${((after - before) / 1024).toFixed(1)} KiB (heap + typed arrays) beyond the structures allocated at the first records`,
  );
  console.log(`  ${((elapsed * 1e6) / records).toFixed(1)} ns per record in that loop (4-byte-ish keys, a property write per field)`);
  console.log(`  clients: estimated ${snap.totalClients.toLocaleString("en")} of ${distinct.toLocaleString("en")} (${((snap.totalClients / distinct - 1) * 100).toFixed(2)} %)`);
  console.log(`  snapshot JSON: ${(JSON.stringify(snap).length / 1024).toFixed(1)} KiB`);
  do_not_optimize(stats);
}

const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
async function timings(): Promise<void> {
  const { benchmarks, context } = await run({ format: "quiet" });
  console.log(`ns per call, median (p50) of mitata's samples — ${context.runtime ?? "node"}, ${context.cpu.name ?? "cpu"} ~${context.cpu.freq.toFixed(2)} GHz`);
  const rows = benchmarks.flatMap((trial) => trial.runs.map((r) => ({ name: r.name, stats: r.stats })));
  const floor = rows.find((r) => r.name.startsWith("floor: murmur3Signed(short"))?.stats?.p50;
  for (const { name, stats } of rows) {
    if (stats === undefined) continue;
    const unit = stats.p50 >= 1e6 ? [1e6, "ms"] : stats.p50 >= 1e3 ? [1e3, "µs"] : [1, "ns"];
    const fmt = (x: number) => `${(x / (unit[0] as number)).toFixed(unit[1] === "ns" ? 1 : 2)} ${unit[1]}`;
    const ratio = floor !== undefined && unit[1] === "ns" ? `  (${(stats.p50 / floor).toFixed(2)}× the short-key hash)` : "";
    console.log(`  ${name.padEnd(60)} p50 ${fmt(stats.p50).padStart(10)}   avg ${fmt(stats.avg).padStart(10)}   p99 ${fmt(stats.p99).padStart(10)}${ratio}`);
  }
}

if (only === undefined || only === "ns") await timings();
if (only === undefined || only === "alloc") await allocations();
if (only === "alloc-one") allocationsOf(Number(process.argv.find((a) => a.startsWith("--variant="))?.slice(10)));
if (only === undefined || only === "heap") heapGrowth();

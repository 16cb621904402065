/**
 * The stats aggregator (targets: `record` ≤ 50 ns median and 0 bytes per call in steady state; memory
 * flat in the number of distinct clients). Timings are reported, never asserted.
 *
 *   tsx bench/stats.ts            (re-launches itself with --expose-gc; one process per scenario)
 *   tsx bench/stats.ts --quick    (fewer, shorter rounds; a smaller heap-growth run)
 *   tsx bench/stats.ts --only=record-short,memory
 *   tsx bench/stats.ts --only=precision              (the windowClientPrecision table: memory, snapshot size, error)
 *   tsx bench/stats.ts --only=record-uuid,record-uuid-p12,record-uuid-p14
 *
 * Each record scenario runs in a process of its own with one sample shape, as at an application's call site, and
 * compares `record` with the bare hash of the same keys (the floor: what hashing the client costs on its own).
 * `now` is passed, as a busy caller (or the simulator) does: without it, every call reads the clock.
 * The `memory` scenario records 10,000,000 samples from 1,000,000 distinct clients over 2 versions and reports
 * the growth of heap + typed-array memory beyond what the first records allocate.
 */
import { murmur3Signed } from "../src/router/hash.js";
import { type Stats, type StatsSample, type WindowClientPrecision, createStats, mergeSnapshots, parseSnapshot } from "../src/stats/index.js";
import { VersionState } from "../src/stats/aggregate.js";
import { windowWorkload } from "../test/unit/stats/helpers.js";
import { type BenchGroup, type GroupResult, runSuite } from "./lib/harness.js";
import { cycle, shortKeys, splitmix32, uuidKeys } from "./lib/keys.js";

const T0 = 1_700_000_000_000;
const quick = process.argv.includes("--quick");

/** Latencies of a log-normal around 20 ms, deterministic. */
function latencies(count: number): number[] {
  const next = splitmix32(0x1a7e);
  return Array.from({ length: count }, () => Math.exp(3 + (next() / 4294967296 - 0.5)));
}

/** Samples of one shape: version v1 (90 %) or v2, 1 % failures, optionally a latency and a client. */
function samples(keys: readonly string[], withLatency: boolean, withClient: boolean): StatsSample[] {
  const lat = latencies(keys.length);
  return keys.map((key, i) => {
    const sample: { version: string; ok: boolean; latencyMs?: number; client?: string } = { version: i % 10 === 0 ? "v2" : "v1", ok: i % 97 !== 0 };
    if (withLatency) sample.latencyMs = lat[i] as number;
    if (withClient) sample.client = key;
    return sample;
  });
}

/** A stats warmed with the very samples measured (sketches dense, JIT settled). */
function warmed(list: readonly StatsSample[], precision: WindowClientPrecision = 10): Stats {
  const stats = createStats({ versions: ["v1", "v2"], windowClientPrecision: precision, clock: () => T0 });
  for (let i = 0; i < 20_000; i++) stats.record(list[i % list.length] as StatsSample, T0);
  return stats;
}

/** `record` at an advancing `now` (a slice of 10 s turns every 160,000 calls). */
function recordCase(name: string, stats: Stats, list: readonly StatsSample[]): BenchGroup["cases"][number] {
  const next = cycle(list);
  let i = 0;
  return { name, fn: () => stats.record(next(), T0 + (i++ >> 4)) };
}

/** `record` without `now`: the stats read their clock (here a constant, so no double is made per call). */
function clockCase(name: string, list: readonly StatsSample[], precision: WindowClientPrecision = 10): BenchGroup["cases"][number] {
  const stats = warmed(list, precision);
  const next = cycle(list);
  return { name, fn: () => stats.record(next()) };
}

/** A check that the benchmark measured recording, not rejecting. */
function accepted(stats: Stats): string {
  const rejected = Object.values(stats.rejected()).reduce((a, b) => a + b, 0);
  if (rejected > 0) throw new Error(`the benchmark's samples were rejected: ${JSON.stringify(stats.rejected())}`);
  return `${stats.lifetime().totals.requests.toLocaleString("en-US")} requests recorded, none rejected`;
}

function floorCase(keys: readonly string[]): BenchGroup["cases"][number] {
  const next = cycle(keys);
  return { name: "floor: murmur3Signed(key)", baseline: true, fn: () => murmur3Signed(next(), 0x9e3779b9), note: "the client hash alone" };
}

function recordScenario(title: string, keys: () => readonly string[], withLatency: boolean, withClient: boolean, precision: WindowClientPrecision = 10) {
  return () => {
    const list = samples(keys(), withLatency, withClient);
    const stats = warmed(list, precision);
    return {
      groups: [
        {
          name: title,
          cases: [
            floorCase(keys()),
            recordCase("stats.record(sample, now)", stats, list),
            clockCase("stats.record(sample) — the clock's time", list, precision),
          ],
        },
      ],
      finish: () => [`${title}: ${accepted(stats)}`],
    };
  };
}

function outcomeScenario() {
  const keys = shortKeys();
  const lat = latencies(keys.length);
  const outcomes = keys.map((client, i) => ({
    decision: { version: i % 10 === 0 ? "v2" : "v1" },
    outcome: { status: i % 97 === 0 ? 503 : 200, durationMs: lat[i] as number, client },
  }));
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  for (const o of outcomes) stats.recordOutcome(o.decision, o.outcome, T0);
  const next = cycle(outcomes);
  let i = 0;
  return {
    groups: [
      {
        name: "recordOutcome · status, duration, short client",
        cases: [
          floorCase(keys),
          {
            name: "stats.recordOutcome(decision, outcome, now)",
            fn: () => {
              const o = next();
              return stats.recordOutcome(o.decision, o.outcome, T0 + (i++ >> 4));
            },
          },
        ],
      },
    ],
  };
}

function countScenario() {
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  const sample = { version: "v2", ok: true, latencyMs: 20, count: 1000 };
  let t = T0;
  return {
    groups: [
      {
        name: "record with count: 1,000 identical requests per call (the simulator's path)",
        cases: [{ name: "stats.record({ …, count: 1000 }, now)", baseline: true, fn: () => stats.record(sample, (t += 1000)) }],
      },
    ],
  };
}

function readsScenario() {
  const keys = uuidKeys();
  const list = samples(keys, true, true);
  const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
  for (let i = 0; i < 40_000; i++) stats.record(list[i % list.length] as StatsSample, T0 + i * 7.5); // 5 minutes, ~130 req/s
  const now = T0 + 300_000;
  const a = stats.snapshot(now);
  const b = stats.snapshot(now);
  return {
    groups: [
      {
        name: "reads · 5 minutes of traffic in 31 slices, 2 versions, dense sketches",
        cases: [
          { name: "window({ since }) — the rollout's query (1 minute)", baseline: true, fn: () => stats.window({ now, since: now - 60_000 }).totals.requests },
          { name: "window() — the whole window", fn: () => stats.window({ now }).totals.requests },
          { name: "snapshot()", fn: () => stats.snapshot(now).totalClients, skipBytes: true },
          { name: "mergeSnapshots(a, b)", fn: () => mergeSnapshots(a, b).totalClients, skipBytes: true },
          { name: "JSON.stringify(snapshot)", fn: () => JSON.stringify(a).length, skipBytes: true },
        ],
      },
    ],
    finish: () => [`snapshot JSON of that stats: ${(JSON.stringify(a).length / 1024).toFixed(1)} KiB`],
  };
}

/** Reads with 1,000,000 clients in the window (the tests' workload, seed 1): every slice's sketch is registers. */
function readsAtScale(precision: WindowClientPrecision) {
  return () => {
    const stats = createStats({ versions: ["v1", "v2"], windowClientPrecision: precision, clock: () => T0 - 600_000 });
    const { now } = windowWorkload(1, 1_000_000, T0, (sample, t) => stats.record(sample, t));
    const a = stats.snapshot(now);
    const text = JSON.stringify(a);
    return {
      groups: [
        {
          name: `reads · 1,000,000 clients in the window, 2 versions, windowClientPrecision ${precision}`,
          cases: [
            { name: "window({ since }) — 1 minute", baseline: true, fn: () => stats.window({ now, since: now - 60_000 }).totals.clients },
            { name: "window() — the whole window", fn: () => stats.window({ now }).totals.clients },
            { name: "snapshot()", fn: () => stats.snapshot(now).totalClients, skipBytes: true },
            { name: "parseSnapshot(JSON.parse(text))", fn: () => parseSnapshot(JSON.parse(text)).totalClients, skipBytes: true },
            { name: "mergeSnapshots(a, a)", fn: () => mergeSnapshots(a, a).totalClients, skipBytes: true },
          ],
        },
      ],
      finish: () => [`reads at precision ${precision}: snapshot JSON ${(text.length / 1024).toFixed(0)} KiB`],
    };
  };
}

/** A fleet controller's work: 100 instances' snapshots (as JSON from a store), validated and merged. */
function fleetScenario() {
  return {
    groups: [],
    finish: (): string[] => {
      const texts: string[] = [];
      for (let n = 0; n < 100; n++) {
        const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
        for (let i = 0; i < 20_000; i++) {
          stats.record({ version: i % 10 === 0 ? "v2" : "v1", ok: i % 50 !== 0, latencyMs: 5 + (i % 300), client: `u${n}-${i % 3000}` }, T0 + i * 15);
        }
        texts.push(JSON.stringify(stats.snapshot(T0 + 300_000)));
      }
      const kib = texts.reduce((a, t) => a + t.length, 0) / 1024 / texts.length;
      let started = performance.now();
      const parsed = texts.map((t) => parseSnapshot(JSON.parse(t)));
      const parse = performance.now() - started;
      started = performance.now();
      const merged = mergeSnapshots(...parsed);
      const merge = performance.now() - started;
      started = performance.now();
      mergeSnapshots(...texts.map((t) => JSON.parse(t)));
      const direct = performance.now() - started;
      return [
        `fleet: 100 snapshots of ${kib.toFixed(0)} KiB (5 minutes of 67 req/s, 3,000 clients each): JSON.parse + parseSnapshot each ${parse.toFixed(0)} ms, then mergeSnapshots ${merge.toFixed(0)} ms; mergeSnapshots straight on the parsed JSON (it validates too) ${direct.toFixed(0)} ms`,
        `fleet: merged ${merged.lifetime.totals.requests.toLocaleString("en-US")} requests, ${merged.totalClients.toLocaleString("en-US")} distinct clients (exact 300,000)`,
      ];
    },
  };
}

/** The bytes of every typed array one version's state holds, for a window of `slots` slots at precision p. */
function versionBytes(slots: number, p: number): number {
  const state = new VersionState("v", slots, p);
  const buffers = new Set<ArrayBufferLike>();
  for (const value of [...Object.values(state), state.life.set]) if (ArrayBuffer.isView(value)) buffers.add(value.buffer);
  let bytes = 0;
  for (const buffer of buffers) bytes += buffer.byteLength;
  return bytes;
}

/**
 * The `windowClientPrecision` table: for each precision, the fixed memory per version (its typed arrays, default
 * window: 31 slots),
 * the snapshot JSON with 1,000,000 distinct clients in the window (the tests' workload: 2 versions, no latencies,
 * so the figure is the sketches'), and the window's client-count error against the exact count for seeds 1–3 —
 * the very workload of test/unit/stats/clients.test.ts.
 */
function precisionScenario() {
  return {
    groups: [],
    finish: (): string[] => {
      const n = quick ? 200_000 : 1_000_000;
      const seeds = quick ? [1] : [1, 2, 3];
      const lines: string[] = [];
      const pct = (x: number, exact: number) => `${x >= exact ? "+" : "−"}${(Math.abs(x / exact - 1) * 100).toFixed(2)} %`;
      for (const p of [10, 11, 12, 13, 14] as const) {
        const fixed = versionBytes(31, p);
        const errors: string[] = [];
        let worst = 0;
        let json = 0;
        let elapsed = 0;
        let records = 0;
        for (const seed of seeds) {
          const stats = createStats({ versions: ["v1", "v2"], windowClientPrecision: p, clock: () => T0 - 600_000 });
          const started = performance.now();
          const { exact, now } = windowWorkload(seed, n, T0, (sample, t) => stats.record(sample, t));
          elapsed += performance.now() - started;
          const w = stats.window({ now });
          records += w.totals.requests + 1000;
          const [total, v1, v2] = [w.totals.clients, w.versions.v1?.clients ?? 0, w.versions.v2?.clients ?? 0];
          errors.push(`${pct(total, exact.total)} (v1 ${pct(v1, exact.v1)}, v2 ${pct(v2, exact.v2)})`);
          worst = Math.max(worst, Math.abs(total / exact.total - 1), Math.abs(v1 / exact.v1 - 1), Math.abs(v2 / exact.v2 - 1));
          json = JSON.stringify(stats.snapshot(now)).length;
        }
        lines.push(
          `precision ${p} (standard error ${((1.04 / Math.sqrt(2 ** p)) * 100).toFixed(2)} %): ${(fixed / 1024).toFixed(0)} KiB per version ` +
            `(${(versionBytes(1441, p) / 1024 / 1024).toFixed(1)} MiB with the most slices, 1,440); ` +
            `snapshot JSON at ${n.toLocaleString("en-US")} clients in the window ${(json / 1024).toFixed(0)} KiB; ` +
            `window clients vs exact, seeds ${seeds.join(", ")}: ${errors.join("; ")}; worst ${(worst * 100).toFixed(2)} %; ` +
            `${((elapsed * 1e6) / records).toFixed(0)} ns per record in that loop (building the client strings included)`,
        );
      }
      return lines;
    },
  };
}

/** Heap plus typed-array memory (typed arrays live outside V8's heap). */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function memoryScenario(precision: WindowClientPrecision = 10) {
  return () => ({
    groups: [],
    finish: (): string[] => {
      const gc = globalThis.gc as () => void;
      const records = quick ? 2_000_000 : 10_000_000;
      const distinct = quick ? 200_000 : 1_000_000;
      const clients = Array.from({ length: distinct }, (_, i) => `client-${i}`);
      // Template literals of 13+ characters are cons strings, flattened (allocating) by their first charCodeAt:
      // flatten them now, so that what follows measures the stats, not the benchmark's own strings.
      let flat = 0;
      for (const c of clients) flat ^= murmur3Signed(c, 0);
      if (Number.isNaN(flat)) throw new Error("unreachable: keeps the flattening loop");
      gc();
      const empty = used();
      const stats = createStats({ versions: ["v1", "v2"], windowClientPrecision: precision, clock: () => T0 });
      gc();
      const fixed = used() - empty;
      for (let i = 0; i < 4000; i++) stats.record({ version: i & 1 ? "v2" : "v1", ok: true, latencyMs: 1, client: `warm-${i}` }, T0);
      gc();
      gc();
      const before = used();
      const sample = { version: "v1", ok: true, latencyMs: 0, client: "" };
      const started = performance.now();
      for (let i = 0; i < records; i++) {
        sample.version = (i & 1) === 0 ? "v1" : "v2";
        sample.latencyMs = 1 + (i % 1000) * 0.37;
        sample.client = clients[i % distinct] as string;
        stats.record(sample, T0 + i / 10); // 10,000 req/s: the 5-minute ring turns over several times
      }
      const elapsed = performance.now() - started;
      gc();
      gc();
      const growth = used() - before;
      if (clients.length !== distinct) throw new Error("unreachable: keeps the client strings alive until here");
      const snapshot = stats.snapshot(T0 + records / 10);
      const n = (x: number) => x.toLocaleString("en-US");
      const m = `memory (windowClientPrecision ${precision})`;
      return [
        `${m}: a stats with 2 versions (5-minute window, 10-second slices) takes ${(fixed / 1024).toFixed(0)} KiB (heap + typed arrays)`,
        `${m}: after ${n(records)} records from ${n(distinct)} distinct clients over 2 versions, heap + typed arrays grew by ${(growth / 1024).toFixed(1)} KiB beyond that (target: under 1 MiB)`,
        `${m}: that loop ran at ${((elapsed * 1e6) / records).toFixed(0)} ns per record (cache misses over 1,000,000 client strings)`,
        `${m}: distinct clients estimated ${n(snapshot.totalClients)} of ${n(distinct)} (${((snapshot.totalClients / distinct - 1) * 100).toFixed(2)} %); ` +
          `snapshot JSON ${(JSON.stringify(snapshot).length / 1024).toFixed(0)} KiB`,
      ];
    },
  });
}

function summary(groups: readonly GroupResult[]): string[] {
  const lines: string[] = [];
  for (const g of groups) {
    const c = g.cases.find((x) => x.name.startsWith("stats.record(") || x.name.startsWith("stats.recordOutcome"));
    if (c === undefined) continue;
    const floor = g.cases.find((x) => x.baseline);
    lines.push(`  ${g.name.padEnd(62)} ${String(c.nsPerOp).padStart(6)} ns   ${c.bytesPerOp ?? "?"} B/call   (hash alone ${floor?.nsPerOp} ns)`);
  }
  return lines.length === 0 ? [] : ["stats.record (target ≤ 50 ns, 0 B/call):", ...lines];
}

await runSuite({
  name: "stats",
  title: "Stats: record, reads, memory",
  scenarios: {
    "record-bare": recordScenario("record · no latency, no client", shortKeys, false, false),
    "record-latency": recordScenario("record · latency", shortKeys, true, false),
    "record-short": recordScenario("record · latency + short client (user-123)", shortKeys, true, true),
    "record-uuid": recordScenario("record · latency + UUID client", uuidKeys, true, true),
    "record-uuid-p12": recordScenario("record · latency + UUID client, windowClientPrecision 12", uuidKeys, true, true, 12),
    "record-uuid-p14": recordScenario("record · latency + UUID client, windowClientPrecision 14", uuidKeys, true, true, 14),
    outcome: outcomeScenario,
    count: countScenario,
    reads: readsScenario,
    "reads-1m": readsAtScale(10),
    "reads-1m-p14": readsAtScale(14),
    fleet: fleetScenario,
    memory: memoryScenario(),
    "memory-p14": memoryScenario(14),
    precision: precisionScenario,
  },
  notes: ["ns: median of the rounds' medians; bytes: per call, in a window with no garbage collection"],
  summary,
});

/**
 * turnout's benchmark harness: mitata for the timing, a GC-free heap window for the allocations, ratios against a
 * baseline measured in the same process as the headline.
 *
 * How a figure is made
 * - Time: each case is first run for `warmupMs` (JIT tier-up), then measured by mitata in `rounds` rounds of
 *   `timeMs` each, the cases of a group interleaved
 *   (round r starts at case r mod k) so that a slow moment of a shared machine hits every case alike. A round's
 *   figure is mitata's median ns per call; the case's figure is the median of its rounds, and the spread of the
 *   rounds is reported beside it. Every case runs through its own generated wrapper (`new Function`), so call
 *   sites stay monomorphic and one case's type feedback never slows another.
 * - Bytes: after the timing (the code is hot), the case runs N and 2N times in a row in a window with no garbage
 *   collection: `gc()` first, then `v8.GCProfiler` around the window proves no collection happened inside it
 *   (a window with one is thrown away; after two such, N is divided by 4). Heap growth is read from
 *   `v8.getHeapSpaceStatistics()` (code space excluded: the JIT installs code concurrently); bytes per call =
 *   (min growth over 2N − min growth over N) / N, which cancels the window's fixed cost. The minimum is right
 *   because anything else that allocates in the window (the runtime, a compiler job) can only add.
 *   Each call's result is stored where the optimiser cannot drop it, so the allocation of a returned object is
 *   counted, as a caller keeping the result would see it.
 * - The process runs with `--expose-gc` and a 64 MiB young generation (so that N calls fit between two
 *   scavenges); `runSuite` re-launches itself with those flags when they are missing. A larger young generation
 *   makes scavenges rarer, which only helps the cases that allocate (the peers), never turnout's claims.
 * - Each scenario of a suite runs in its own child process, so a router built for one scenario cannot make the
 *   JIT's view of `decide` polymorphic for another; the baseline of a ratio is always measured in the same
 *   process, interleaved with what it is compared to.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { measure } from "mitata";

// ---------------------------------------------------------------------------------------------------------------
// Public shapes
// ---------------------------------------------------------------------------------------------------------------

/**
 * One thing to measure: `fn` performs one operation and returns its result (kept, so it cannot be optimised
 * away). A returned promise is awaited, and the await is part of the cost.
 *
 * @example
 * ```ts
 * const next = cycle(shortKeys());
 * const c: BenchCase = { name: "bucketOf", fn: () => bucketOf(next(), 0) };
 * ```
 */
export interface BenchCase {
  readonly name: string;
  readonly fn: () => unknown;
  /** The case the group's ratios are computed against (one per group; default: the first case). */
  readonly baseline?: boolean;
  /** A short remark printed under the table. */
  readonly note?: string;
  /** Skip the allocation measurement (e.g. setup benchmarks that allocate by design, measured elsewhere). */
  readonly skipBytes?: boolean;
}

/**
 * Cases compared with each other: every ratio in a group is `case / baseline`.
 *
 * @example
 * ```ts
 * const group: BenchGroup = { name: "hash · short keys", cases: [floor, bucketOf] };
 * ```
 */
export interface BenchGroup {
  readonly name: string;
  readonly cases: readonly BenchCase[];
  readonly note?: string;
}

/**
 * What a scenario sets up: its groups, and optionally a `finish` step run after measuring that returns remarks
 * for the report (e.g. "no network attempt", a distribution check).
 *
 * @example
 * ```ts
 * const plan: ScenarioPlan = { groups: [group], finish: () => ["0 network attempts"] };
 * ```
 */
export interface ScenarioPlan {
  readonly groups: readonly BenchGroup[];
  readonly finish?: () => readonly string[] | Promise<readonly string[]>;
}

/**
 * A benchmark suite: named scenarios, each run in its own process (unless `--no-isolate`).
 *
 * @example
 * ```ts
 * await runSuite({ name: "hash", title: "Hashing: the floor", scenarios: { short: () => plan("short") } });
 * ```
 */
export interface Suite {
  readonly name: string;
  readonly title: string;
  readonly scenarios: Readonly<Record<string, () => ScenarioPlan | Promise<ScenarioPlan>>>;
  /** Remarks printed under every run of the suite. */
  readonly notes?: readonly string[];
  /** Headline lines computed from all scenarios' figures, printed last. */
  readonly summary?: (groups: readonly GroupResult[]) => readonly string[];
}

/** One case's figures. */
export interface CaseResult {
  readonly name: string;
  readonly baseline: boolean;
  /** Median over rounds of mitata's median ns per call. */
  readonly nsPerOp: number;
  /** Smallest and largest round median. */
  readonly nsRounds: readonly number[];
  readonly opsPerSec: number;
  /** Bytes allocated per call, or `null` when not measured. */
  readonly bytesPerOp: number | null;
  /** Calls per allocation window (N). */
  readonly allocCalls: number | null;
  /** Windows thrown away because a GC happened inside them. */
  readonly allocWindowsWithGc: number | null;
  /** nsPerOp / baseline's nsPerOp. */
  readonly ratio: number;
  readonly note?: string;
}

/** One group's figures. */
export interface GroupResult {
  readonly name: string;
  readonly scenario: string;
  readonly baseline: string;
  readonly cases: readonly CaseResult[];
  readonly note?: string;
}

/** A suite run: what the table shows, and what `bench/results/<suite>.json` holds. */
export interface SuiteResult {
  readonly suite: string;
  readonly title: string;
  readonly startedAt: string;
  readonly durationSec: number;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly settings: Settings;
  readonly groups: readonly GroupResult[];
  readonly notes: readonly string[];
  readonly summary: readonly string[];
}

/** Where the figures were made. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  readonly loadAverage: readonly number[];
}

/** How the figures were made. */
export interface Settings {
  readonly rounds: number;
  readonly timeMs: number;
  readonly allocCalls: number;
  readonly warmupMs: number;
  readonly nodeFlags: readonly string[];
  readonly isolated: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Process set-up
// ---------------------------------------------------------------------------------------------------------------

/** The V8 flags every measuring process runs with. */
export const NODE_FLAGS = ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64"] as const;

const CHILD_ENV = "TURNOUT_BENCH_CHILD";

/**
 * Re-runs the current script with {@link NODE_FLAGS} when they are missing (e.g. under plain `tsx bench/x.ts`),
 * forwarding the exit code. Returns only in a process that has them.
 */
export function ensureNodeFlags(): void {
  if (typeof globalThis.gc === "function" && process.env[CHILD_ENV] === "1") return;
  const script = process.argv[1];
  if (script === undefined) throw new Error("cannot find the benchmark script to re-launch");
  const child = spawnSync(process.execPath, [...NODE_FLAGS, ...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, [CHILD_ENV]: "1" },
  });
  process.exit(child.status ?? 1);
}

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  const hit = process.argv.find((a) => a.startsWith(prefix));
  return hit === undefined ? undefined : hit.slice(prefix.length);
}

function hasArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Settings from the environment: BENCH_ROUNDS, BENCH_TIME_MS, BENCH_WARMUP_MS, BENCH_ALLOC_CALLS (and `--quick`). */
export function settingsFromEnv(): Omit<Settings, "isolated"> {
  const quick = hasArg("quick") || process.env["BENCH_QUICK"] === "1";
  return {
    rounds: envNumber("BENCH_ROUNDS", quick ? 3 : 5),
    timeMs: envNumber("BENCH_TIME_MS", quick ? 60 : 150),
    allocCalls: envNumber("BENCH_ALLOC_CALLS", 20_000),
    warmupMs: envNumber("BENCH_WARMUP_MS", quick ? 50 : 150),
    nodeFlags: process.execArgv.filter((f) => (NODE_FLAGS as readonly string[]).includes(f)),
  };
}

/** The machine, for the report. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------------------------

interface Sink {
  v: unknown;
}

type Runner = () => unknown;
type Loop = (n: number) => unknown;

/** A fresh function per case: its own feedback, so every call site in it stays monomorphic. */
function compile(fn: () => unknown, isAsync: boolean): { run: Runner; loop: Loop } {
  const sink: Sink = { v: undefined };
  const run = isAsync
    ? (new Function("fn", "sink", "return async function bench() { sink.v = await fn(); }")(fn, sink) as Runner)
    : (new Function("fn", "sink", "return function bench() { sink.v = fn(); }")(fn, sink) as Runner);
  const loop = isAsync
    ? (new Function("fn", "sink", "return async function loop(n) { for (let i = 0; i < n; i++) sink.v = await fn(); }")(fn, sink) as Loop)
    : (new Function("fn", "sink", "return function loop(n) { for (let i = 0; i < n; i++) sink.v = fn(); }")(fn, sink) as Loop);
  return { run, loop };
}

const CODE_SPACES = new Set(["code_space", "code_large_object_space"]);

/** Bytes in use in every heap space but code. */
function heapUsed(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!CODE_SPACES.has(space.space_name)) used += space.space_used_size;
  return used;
}

function forceGc(): void {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  gc();
  gc();
}

/** Heap growth over `n` calls, or `undefined` if a garbage collection happened in the window. */
async function allocWindow(loop: Loop, n: number, isAsync: boolean): Promise<number | undefined> {
  forceGc();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = heapUsed();
  if (isAsync) await loop(n);
  else loop(n);
  const after = heapUsed();
  const collections = profiler.stop().statistics.length;
  return collections === 0 ? after - before : undefined;
}

interface AllocFigure {
  readonly bytesPerOp: number;
  readonly calls: number;
  readonly windowsWithGc: number;
}

async function bytesPerOp(loop: Loop, isAsync: boolean, calls: number): Promise<AllocFigure | null> {
  if (typeof globalThis.gc !== "function") return null;
  let n = calls;
  let windowsWithGc = 0;
  for (let i = 0; i < 3; i++) await loop(2 * n); // hot, and past any lazy first-call work
  while (n >= 4) {
    const single: number[] = [];
    const double: number[] = [];
    let dirty = 0;
    for (let attempt = 0; attempt < 12 && single.length < 5; attempt++) {
      const a = await allocWindow(loop, n, isAsync);
      const b = await allocWindow(loop, 2 * n, isAsync);
      if (a === undefined || b === undefined) {
        windowsWithGc++;
        if (++dirty >= 2) break;
        continue;
      }
      single.push(a);
      double.push(b);
    }
    if (single.length >= 3) {
      const bytes = (Math.min(...double) - Math.min(...single)) / n;
      return { bytesPerOp: Math.round(bytes * 10) / 10, calls: n, windowsWithGc };
    }
    n = Math.floor(n / 4);
  }
  return { bytesPerOp: NaN, calls: n, windowsWithGc };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function progress(line: string): void {
  if (!hasArg("silent")) process.stderr.write(`  · ${line}\n`);
}

/**
 * Measures every case of `groups` (interleaved rounds, then allocations) and returns their figures.
 *
 * @example
 * ```ts
 * const results = await measureGroups("short", [group], settingsFromEnv());
 * ```
 */
export async function measureGroups(scenario: string, groups: readonly BenchGroup[], settings: Omit<Settings, "isolated">): Promise<GroupResult[]> {
  const out: GroupResult[] = [];
  for (const group of groups) {
    const compiled = [];
    for (const c of group.cases) {
      const probe = c.fn(); // one call up front: tells sync from async, and fails early on a broken case
      const isAsync = probe instanceof Promise;
      if (isAsync) await probe;
      compiled.push({ c, isAsync, ...compile(c.fn, isAsync) });
    }
    // Warm every case first (tier-up, inline caches, a first GC of its garbage), so that no round of the first
    // case measured pays for the JIT.
    for (const entry of compiled) await measure(entry.run, { min_cpu_time: settings.warmupMs * 1e6 });
    const rounds: number[][] = compiled.map(() => []);
    for (let r = 0; r < settings.rounds; r++) {
      for (let j = 0; j < compiled.length; j++) {
        const idx = (r + j) % compiled.length;
        const entry = compiled[idx]!;
        const stats = await measure(entry.run, { min_cpu_time: settings.timeMs * 1e6 });
        rounds[idx]!.push(stats.p50);
      }
    }
    const baselineIndex = Math.max(
      0,
      group.cases.findIndex((c) => c.baseline === true),
    );
    const figures = [];
    for (let j = 0; j < compiled.length; j++) {
      const entry = compiled[j]!;
      const ns = median(rounds[j]!);
      // N calls per window: the configured number, fewer for slow operations (a window of ~40 ms at most).
      const calls = Math.max(16, Math.min(settings.allocCalls, Math.floor(40e6 / ns)));
      const alloc = entry.c.skipBytes === true ? null : await bytesPerOp(entry.loop, entry.isAsync, calls);
      figures.push({ entry, ns, rounds: rounds[j]!, alloc });
      progress(`${group.name} › ${entry.c.name}: ${fmtNs(median(rounds[j]!))} ns/op, ${fmtBytes(alloc?.bytesPerOp ?? null)} B/op`);
    }
    const baseNs = figures[baselineIndex]!.ns;
    out.push({
      name: group.name,
      scenario,
      baseline: group.cases[baselineIndex]!.name,
      ...(group.note === undefined ? {} : { note: group.note }),
      cases: figures.map(({ entry, ns, rounds: rs, alloc }, j) => ({
        name: entry.c.name,
        baseline: j === baselineIndex,
        nsPerOp: round(ns),
        nsRounds: [round(Math.min(...rs)), round(Math.max(...rs))],
        opsPerSec: Math.round(1e9 / ns),
        bytesPerOp: alloc?.bytesPerOp ?? null,
        allocCalls: alloc?.calls ?? null,
        allocWindowsWithGc: alloc?.windowsWithGc ?? null,
        ratio: Math.round((ns / baseNs) * 100) / 100,
        ...(entry.c.note === undefined ? {} : { note: entry.c.note }),
      })),
    });
  }
  return out;
}

function round(ns: number): number {
  return ns < 100 ? Math.round(ns * 10) / 10 : Math.round(ns);
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------------------------

function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return "—";
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`.replace(" ms", "e6");
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString("en-US");
}

function fmtOps(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(1)} M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`;
  return String(ops);
}

function fmtBytes(b: number | null): string {
  if (b === null) return "—";
  if (Number.isNaN(b)) return "n/a";
  return Math.abs(b) < 1 ? b.toFixed(1) : Math.round(b).toLocaleString("en-US");
}

function fmtRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

function pad(s: string, width: number, right = false): string {
  return right ? s.padStart(width) : s.padEnd(width);
}

/**
 * The suite's figures as text tables, one per group.
 *
 * @example
 * ```ts
 * console.log(formatSuite(result));
 * ```
 */
export function formatSuite(result: SuiteResult): string {
  const lines: string[] = [];
  const m = result.machine;
  lines.push(`\n${result.title}`);
  lines.push(`${m.cpu} · ${m.cores} cores · ${m.os} · node ${m.node} (V8 ${m.v8}) · load ${m.loadAverage.join(" ")} · ${result.startedAt}`);
  lines.push(
    `${result.settings.rounds} rounds × ${result.settings.timeMs} ms per case, interleaved; ns/op = median of round medians [min–max of rounds]; ` +
      `B/op = heap growth per call in a GC-free window`,
  );
  for (const g of result.groups) {
    const nameW = Math.max(26, ...g.cases.map((c) => c.name.length + 2));
    lines.push("");
    lines.push(`── ${g.name}  (× = ns / ${g.baseline})`);
    lines.push(`${pad("case", nameW)}${pad("ns/op", 10, true)}  ${pad("[rounds]", 17)}${pad("ops/s", 9, true)}${pad("B/op", 9, true)}${pad("×", 10, true)}`);
    for (const c of g.cases) {
      const spread = `[${fmtNs(c.nsRounds[0] ?? NaN)}–${fmtNs(c.nsRounds[1] ?? NaN)}]`;
      lines.push(
        `${pad((c.baseline ? "* " : "  ") + c.name, nameW)}${pad(fmtNs(c.nsPerOp), 10, true)}  ${pad(spread, 17)}${pad(fmtOps(c.opsPerSec), 9, true)}${pad(fmtBytes(c.bytesPerOp), 9, true)}${pad(fmtRatio(c.ratio), 10, true)}`,
      );
    }
    if (g.note !== undefined) lines.push(`   ${g.note}`);
  }
  const legend = new Map<string, string>();
  for (const g of result.groups) for (const c of g.cases) if (c.note !== undefined && !legend.has(c.name)) legend.set(c.name, c.note);
  if (legend.size > 0) {
    lines.push("");
    for (const [name, note] of legend) lines.push(`  ${name}: ${note}`);
  }
  if (result.notes.length > 0) {
    lines.push("");
    for (const n of result.notes) lines.push(`• ${n}`);
  }
  if (result.summary.length > 0) lines.push("", ...result.summary);
  lines.push(`\n${result.command} — ${result.durationSec.toFixed(1)} s`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Running a suite
// ---------------------------------------------------------------------------------------------------------------

interface ChildOutput {
  readonly groups: readonly GroupResult[];
  readonly notes: readonly string[];
}

async function runScenarioHere(suite: Suite, name: string, settings: Omit<Settings, "isolated">): Promise<ChildOutput> {
  const make = suite.scenarios[name];
  if (make === undefined) throw new Error(`no scenario "${name}" in suite ${suite.name}`);
  const plan = await make();
  const groups = await measureGroups(name, plan.groups, settings);
  const notes = plan.finish === undefined ? [] : await plan.finish();
  return { groups, notes: [...notes] };
}

/** The repository root (bench/lib/ is two levels down). */
export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

/**
 * Runs a suite: re-launches with the right V8 flags if needed, runs each scenario in its own process
 * (`--no-isolate` runs them all here; `--only=a,b` picks scenarios), prints the tables and writes
 * `bench/results/<suite>.json` (or `--json=path`). Returns the result in the top-level process.
 *
 * @example
 * ```ts
 * await runSuite({ name: "hash", title: "Hashing", scenarios: { short: () => ({ groups: [group] }) } });
 * ```
 */
export async function runSuite(suite: Suite): Promise<SuiteResult | undefined> {
  ensureNodeFlags();
  const base = settingsFromEnv();
  const scenarioArg = argValue("scenario");
  if (scenarioArg !== undefined) {
    // A child: one scenario, figures to the file the parent named.
    const output = await runScenarioHere(suite, scenarioArg, base);
    const out = argValue("out");
    if (out === undefined) throw new Error("--scenario needs --out");
    writeFileSync(out, JSON.stringify(output));
    return undefined;
  }

  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const only = argValue("only")?.split(",");
  const names = Object.keys(suite.scenarios).filter((n) => only === undefined || only.includes(n));
  const isolated = !hasArg("no-isolate");
  const groups: GroupResult[] = [];
  const notes: string[] = [...(suite.notes ?? [])];
  process.stderr.write(`${suite.title}: ${names.length} scenario(s)${isolated ? ", one process each" : ""}\n`);
  for (const name of names) {
    process.stderr.write(`- ${name}\n`);
    let output: ChildOutput;
    if (isolated) {
      const tmp = path.join(os.tmpdir(), `turnout-bench-${process.pid}-${name.replace(/[^\w-]/g, "_")}.json`);
      const script = process.argv[1]!;
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, script, `--scenario=${name}`, `--out=${tmp}`, ...process.argv.slice(2).filter((a) => !a.startsWith("--json="))],
        { stdio: "inherit", env: process.env },
      );
      if (child.status !== 0) throw new Error(`scenario ${name} failed (exit ${child.status ?? child.signal})`);
      output = JSON.parse(readFileSync(tmp, "utf8")) as ChildOutput;
      rmSync(tmp, { force: true });
    } else {
      output = await runScenarioHere(suite, name, base);
    }
    groups.push(...output.groups);
    notes.push(...output.notes);
  }

  const result: SuiteResult = {
    suite: suite.name,
    title: suite.title,
    startedAt,
    durationSec: (Date.now() - started) / 1000,
    command: commandLine(),
    machine: machineInfo(),
    settings: { ...base, isolated },
    groups,
    notes,
    summary: suite.summary === undefined ? [] : [...suite.summary(groups)],
  };
  console.log(formatSuite(result));
  const jsonPath = argValue("json") ?? path.join(REPO_ROOT, "bench", "results", `${suite.name}.json`);
  mkdirSync(path.dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`figures written to ${path.relative(process.cwd(), jsonPath)}\n`);
  return result;
}

function commandLine(): string {
  const script = process.argv[1] === undefined ? "?" : path.relative(REPO_ROOT, process.argv[1]);
  const npmScript = process.env["npm_lifecycle_event"];
  const args = process.argv.slice(2).join(" ");
  return npmScript?.startsWith("bench") === true ? `npm run ${npmScript}` : `tsx ${script}${args ? ` ${args}` : ""}`;
}

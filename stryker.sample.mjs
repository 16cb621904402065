// Sampled mutation scores for turnout's core folders (see docs/mutation-testing.md, "Sampled scores").
//
// As a module: `sampleLines(folder, lines, seed)` lists every mutant StrykerJS would make in src/<folder>/ (and its
// subfolders, without its index.ts), keeps the source lines that carry at least one mutant lying on that line alone, and draws `lines` of them
// at random from a fixed seed: the same folder, size and seed give the same lines as long as the sources do not change.
// stryker.config.mjs turns them into `file.ts:L-L` ranges (MUTATE_SAMPLE=lines, MUTATE_SEED=seed).
//
// As a command: `node stryker.sample.mjs reports/mutation/<scope>.json [...]` prints each report's score and, for a
// sampled run, a 95 % confidence interval that treats the lines as the sampled units (a ratio estimator over
// clusters: the mutants of one line are not independent of each other).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { Instrumenter } from "@stryker-mutator/instrumenter";

const quiet = { isDebugEnabled: () => false, debug() {}, info() {}, warn() {}, error() {}, trace() {}, fatal() {}, isTraceEnabled: () => false };

/** Every mutant of src/<folder>/ as { file, line (1-based), lines (how many lines it spans) }. */
export async function listMutants(folder) {
  // The files stryker.config.mjs mutates for the whole folder: src/<folder>/**/*.ts but its index.ts.
  const files = readdirSync(`src/${folder}`, { recursive: true })
    .filter((name) => name.endsWith(".ts") && name !== "index.ts")
    .sort()
    .map((name) => ({ name: `src/${folder}/${name}`, content: readFileSync(`src/${folder}/${name}`, "utf8"), mutate: true }));
  const { mutants } = await new Instrumenter(quiet).instrument(files, { plugins: null, excludedMutations: [], ignorers: [] });
  return mutants.map((mutant) => ({
    file: mutant.fileName.slice(`src/${folder}/`.length),
    line: mutant.location.start.line + 1,
    lines: mutant.location.end.line - mutant.location.start.line + 1,
  }));
}

// mulberry32: a small seeded generator, so that a sample can be drawn again.
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `lines` source lines of src/<folder>/ drawn without replacement among those with a one-line mutant, as "file.ts:L-L". */
export async function sampleLines(folder, lines, seed) {
  const mutants = await listMutants(folder);
  const candidates = [...new Set(mutants.filter((mutant) => mutant.lines === 1).map((mutant) => `${mutant.file}:${mutant.line}`))];
  const next = random(seed);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return {
    population: candidates.length,
    mutants: mutants.length,
    oneLine: mutants.filter((mutant) => mutant.lines === 1).length,
    lines: candidates.slice(0, lines).map((spot) => `${spot}-${spot.split(":")[1]}`),
  };
}

const detected = new Set(["Killed", "Timeout"]);
const valid = new Set(["Killed", "Timeout", "Survived", "NoCoverage"]);

/**
 * Score of one JSON report, with a 95 % interval over its lines when `population` (lines to draw from) is given.
 * `only` (a set of "src/<folder>/file.ts:line") restricts it to those lines.
 */
export function score(report, population, only) {
  const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
  const perLine = new Map();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const mutant of mutants) {
      const key = `${file}:${mutant.location.start.line}`;
      if (only !== undefined && !only.has(key)) continue;
      counts[mutant.status in counts ? mutant.status : "other"] += 1;
      if (!valid.has(mutant.status)) continue;
      const cell = perLine.get(key) ?? { mutants: 0, detected: 0 };
      cell.mutants += 1;
      cell.detected += detected.has(mutant.status) ? 1 : 0;
      perLine.set(key, cell);
    }
  }
  const cells = [...perLine.values()];
  const total = cells.reduce((sum, cell) => sum + cell.mutants, 0);
  const ratio = cells.reduce((sum, cell) => sum + cell.detected, 0) / total;
  let interval;
  if (population !== undefined && cells.length > 1) {
    const n = cells.length;
    const mean = total / n;
    const residuals = cells.reduce((sum, cell) => sum + (cell.detected - ratio * cell.mutants) ** 2, 0) / (n - 1);
    const half = 1.96 * Math.sqrt(((1 - n / population) * residuals) / (n * mean * mean));
    interval = [Math.max(0, ratio - half), Math.min(1, ratio + half)];
  }
  return { counts, lines: cells.length, total, ratio, interval };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const percent = (x) => `${(100 * x).toFixed(1)} %`;
  // --skip=n: score only the lines drawn after the first n, e.g. those no test was written for after a smaller sample
  // of the same seed (a sample of n lines is the first n lines of a larger one).
  const skip = Number(process.argv.find((a) => a.startsWith("--skip="))?.slice("--skip=".length) ?? 0);
  for (const path of process.argv.slice(2).filter((a) => !a.startsWith("--"))) {
    const report = JSON.parse(readFileSync(path, "utf8"));
    const samplePath = path.replace(/\.json$/, ".sample.json");
    const sample = existsSync(samplePath) ? JSON.parse(readFileSync(samplePath, "utf8")) : undefined;
    const population = sample?.population;
    const only =
      skip > 0 && sample !== undefined
        ? new Set(sample.lines.slice(skip).map((range) => `src/${sample.folder}/${range.slice(0, range.lastIndexOf("-"))}`))
        : undefined;
    const { counts, lines, total, ratio, interval } = score(report, population, only);
    const range = interval ? ` (95 % interval ${percent(interval[0])} to ${percent(interval[1])}, ${lines} of ${population} lines)` : ` (${lines} lines)`;
    console.log(
      `${path}: ${total} mutants, ${counts.Killed} killed, ${counts.Timeout} timed out, ${counts.Survived} survived, ${counts.NoCoverage} no coverage, ${counts.Ignored} ignored: ${percent(ratio)}${range}`,
    );
  }
}

/**
 * `npm run bench`: the project's own suites, one after the other, each in its own processes, then the headline.
 *
 *   npm run bench                 all suites (a few minutes on 2 cores)
 *   npm run bench -- --quick      fewer, shorter rounds (a smoke run)
 *   npm run bench -- decide hash  only the named suites
 *
 * Suites are files in bench/: selfcheck.ts (the harness checks its allocation figures), hash.ts, decide.ts,
 * proxy.ts, and stats.ts, rollout.ts when they exist. Each writes bench/results/<suite>.json; the peers
 * (bench/peers, `npm run bench:peers`) are separate because they need their own install.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { SuiteResult } from "./lib/harness.js";
import { NODE_FLAGS, REPO_ROOT } from "./lib/harness.js";

const SUITES = ["selfcheck", "hash", "decide", "stats", "rollout", "proxy"] as const;

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const wanted = args.filter((a) => !a.startsWith("--"));
const selected = SUITES.filter((s) => wanted.length === 0 || wanted.includes(s));
const started = Date.now();
const failed: string[] = [];
const ran: string[] = [];

for (const suite of selected) {
  const file = path.join(REPO_ROOT, "bench", `${suite}.ts`);
  if (!existsSync(file)) {
    process.stderr.write(`(bench/${suite}.ts does not exist yet: skipped)\n`);
    continue;
  }
  // Every suite gets the measuring flags (--expose-gc, a 64 MiB young generation) from the start.
  const child = spawnSync(process.execPath, [...NODE_FLAGS, ...process.execArgv, file, ...flags], {
    stdio: "inherit",
    env: { ...process.env, TURNOUT_BENCH_CHILD: "1" },
  });
  if (child.status === 0) ran.push(suite);
  else failed.push(`${suite} (exit ${child.status ?? child.signal})`);
}

function load(suite: string): SuiteResult | undefined {
  const file = path.join(REPO_ROOT, "bench", "results", `${suite}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SuiteResult) : undefined;
}

const lines: string[] = ["", "═══ headline (ratios from one process each; absolute times vary by machine) ═══"];
const decide = ran.includes("decide") ? load("decide") : undefined;
if (decide !== undefined) {
  for (const g of decide.groups) {
    const floor = g.cases.find((c) => c.baseline);
    for (const c of g.cases) {
      if (c.baseline || !c.name.startsWith("decide")) continue;
      lines.push(
        `  ${`${c.name} — ${g.name.replace(/^decide · /, "").replace(/ \(.*\)$/, "")}`.padEnd(72)} ${c.ratio.toFixed(2).padStart(6)}× floor   ${String(c.nsPerOp).padStart(6)} ns   ${c.bytesPerOp ?? "?"} B/call   (floor ${floor?.nsPerOp} ns)`,
      );
    }
    if (g.name.startsWith("setup")) {
      for (const c of g.cases) {
        lines.push(`  ${c.name.padEnd(72)} ${c.nsPerOp >= 1e5 ? `${(c.nsPerOp / 1e6).toFixed(3)} ms` : `${c.nsPerOp} ns`}   ${c.bytesPerOp ?? "?"} B/call`);
      }
    }
  }
}
for (const suite of ran.filter((s) => s !== "decide")) {
  const result = load(suite);
  if (result !== undefined && result.summary.length > 0) lines.push(...result.summary.map((l) => `  ${l}`));
}
const peers = load("peers");
if (peers !== undefined) lines.push(`  peers: see bench/results/peers.json (npm run bench:peers, ${peers.startedAt})`);
lines.push(`  ran: ${ran.join(", ") || "nothing"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(lines.join("\n"));
if (failed.length > 0) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}

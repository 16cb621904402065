/**
 * A/B of a hot-path patch: `decide` from two copies of src/ in one process, interleaved with the floor, so that a
 * change is judged on the same machine at the same moment (a shared 2-core machine drifts by more than most
 * patches gain between two separate runs).
 *
 *   tsx bench/ab.ts --patch=bench/proposals/router-hot-path.patch [--quick]
 *
 * Copies src/ twice into a temporary directory, applies the patch to the second copy (`git apply`), and measures the
 * issue's keyed workload (2 versions, 2 overrides not matching, key from x-user-id) on short keys, UUIDs, and short
 * keys with 16 header-object shapes. Each copy is its own module graph, so the two never share JIT feedback.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Router, RouterConfig } from "../src/types.js";
import { floorBucket } from "./lib/floor.js";
import { type BenchCase, REPO_ROOT, runSuite, type ScenarioPlan } from "./lib/harness.js";
import { cycle, KEY_SETS, splitmix32 } from "./lib/keys.js";

const patchArg = process.argv.find((a) => a.startsWith("--patch="))?.slice("--patch=".length);
const treesArg = process.argv.find((a) => a.startsWith("--trees="))?.slice("--trees=".length);
let madeRoot: string | undefined;

/** The two src/ copies: given with --trees=a,b, or made once by the top process and handed to the children. */
function trees(): readonly [string, string] {
  if (treesArg !== undefined) {
    const [a, b] = treesArg.split(",");
    if (a === undefined || b === undefined) throw new Error("--trees=dirA,dirB");
    return [a, b];
  }
  if (patchArg === undefined) throw new Error("usage: tsx bench/ab.ts --patch=file.patch (or --trees=dirA,dirB)");
  const root = mkdtempSync(path.join(os.tmpdir(), "turnout-ab-"));
  madeRoot = root;
  const made: string[] = [];
  for (const name of ["base", "patched"]) {
    const dir = path.join(root, name);
    cpSync(path.join(REPO_ROOT, "src"), path.join(dir, "src"), { recursive: true });
    writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
    made.push(dir);
  }
  execFileSync("git", ["apply", path.resolve(patchArg)], { cwd: made[1], stdio: "inherit" });
  process.argv.push(`--trees=${made.join(",")}`); // the children get the same copies
  return [made[0]!, made[1]!];
}

const BASE: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-user-id"],
  overrides: [
    { header: "x-canary", equals: "true", version: "v2" },
    { header: "x-force-version", values: ["v1", "stable"], version: "v1" },
  ],
};

function headers(key: string, shape: number): Record<string, string> {
  const names = ["host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "x-request-id", "cookie", "referer", "x-forwarded-for"];
  const out: Record<string, string> = {};
  for (let j = 0; j < names.length - (shape % 4); j++) out[names[(j + shape) % names.length]!] = `value-${j}`;
  out["x-user-id"] = key;
  return out;
}

/** 50,000 keys with characters ≥ U+0100 (possible from application code; Node's HTTP parser gives latin-1 strings). */
function twoByteKeys(): string[] {
  const next = splitmix32(0xfeed);
  const out: string[] = [];
  for (let t = 0; t < 50_000; t++) {
    let s = "";
    const length = 1 + (next() % 30);
    for (let j = 0; j < length; j++) s += String.fromCharCode(next() % 3 === 0 ? 0x20 + (next() % 0x5f) : 0x100 + (next() % 0xfe00));
    out.push(s);
  }
  return out;
}

async function plan(set: "short" | "uuid" | "varied" | "two-byte"): Promise<ScenarioPlan> {
  const keys = KEY_SETS[set === "uuid" ? "uuid" : "short"]();
  const nextKey = cycle(keys);
  const cases: BenchCase[] = [{ name: "floor: murmur3 of the key", baseline: true, fn: () => floorBucket(nextKey(), 0) }];
  const [base, patched] = trees();
  for (const [label, dir] of [
    ["decide, base", base],
    ["decide, patched", patched],
  ] as const) {
    const index = path.join(dir, "src", "router", "index.ts");
    if (!existsSync(index)) throw new Error(`no src/router/index.ts in ${dir}`);
    const { createRouter } = (await import(index)) as { createRouter: (c: RouterConfig) => Router };
    const router = createRouter(BASE);
    if (set === "two-byte") for (const k of twoByteKeys()) router.decide({ headers: headers(k, 0) });
    const next = cycle(keys.map((k, i) => ({ headers: headers(k, set === "varied" ? i % 16 : 0) })));
    cases.push({ name: label, fn: () => router.decide(next()) });
  }
  const title = { short: "short keys", uuid: "UUIDs", varied: "short keys, 16 header shapes", "two-byte": "short keys, after 50,000 two-byte keys" }[set];
  return { groups: [{ name: `A/B · ${title}`, cases }] };
}

trees(); // in the top process: make the copies before the children start
await runSuite({
  name: "ab",
  title: `turnout · A/B of ${patchArg ?? treesArg}: decide from two copies of src/, same process`,
  scenarios: { short: () => plan("short"), uuid: () => plan("uuid"), varied: () => plan("varied"), "two-byte": () => plan("two-byte") },
});
if (madeRoot !== undefined) rmSync(madeRoot, { recursive: true, force: true });

/**
 * Every example runs, serves real requests and exits on its own with `--smoke` (as `npm run example:* -- --smoke`
 * does in CI). The examples import "turnout" and "turnout/*", which tsconfig `paths` map to src/ for tsx.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");

/** What each example must show: the answers that prove the feature it demonstrates. */
const expectations: Record<string, RegExp[]> = {
  "express.ts": [/GET \/api\/users .* → 200/, /x-api-version: v2/, /deprecation: @\d+/, /POST \/api\/users .* → 400/, /API_VERSION_UNKNOWN/],
  "koa.ts": [/x-ab-test: checkout-flow/, /x-ab-variant: one-page/, /→ 410/, /API_VERSION_SUNSET/],
  "proxy.ts": [/"served":"v1"/, /config revision 2: canary at 100 %/, /"served":"v2"/, /"mirrored":2/],
};

function run(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [tsx, join(root, "examples", file), "--smoke"], { cwd: root, env: { ...process.env, PORT: "" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe("examples", () => {
  const files = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".ts") && f in expectations);
  it("covers every integration example", () => {
    expect(files.sort()).toEqual(Object.keys(expectations).sort());
  });
  it.each(Object.keys(expectations))("%s --smoke runs and exits 0, leaving no temporary directory behind", async (file) => {
    const before = new Set(readdirSync(tmpdir()));
    const { code, output } = await run(file);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith("turnout-example-") && !before.has(name))).toEqual([]);
    expect(output).not.toMatch(/\b(Error|TypeError|RangeError|SyntaxError)\b:|Unhandled|ERR_[A-Z_]+/);
    for (const pattern of expectations[file] ?? []) expect(output).toMatch(pattern);
    expect(code).toBe(0);
  });
});

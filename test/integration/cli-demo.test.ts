/**
 * The README's first command (`npm run demo`) in its short mode, as CI runs it (no terminal: plain lines): real
 * upstreams, turnout's proxy, a load generator and a rollout on a compressed real clock. A healthy v2 is promoted,
 * a failing v2 is rolled back by itself, and everything is closed so the process exits on its own.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./fixtures/cli/run.js";
import { wellFormedSvg } from "./fixtures/cli/svg-check.js";

const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");

function demo(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [tsx, join(root, "examples", "demo.ts"), "--short", ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 55_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe("npm run demo -- --short", () => {
  it("a healthy v2 goes 5 % → 25 % → 50 % → 100 % and is promoted; then every server is closed", async () => {
    const { code, output } = await demo([]);
    expect(output).not.toMatch(/\u001b\[|Error:|Unhandled/);
    expect(output).toMatch(/^turnout demo: a real rollout of v2, live$/m);
    expect(output).toMatch(/^proxy http:\/\/127\.0\.0\.1:\d+ → v1 http:\/\/127\.0\.0\.1:\d+ .* v2 http:\/\/127\.0\.0\.1:\d+/m);
    for (const weight of [5, 25, 50]) expect(output).toMatch(new RegExp(`^\\[ *[\\d.]+s\\] step +${weight} % +step \\d/3`, "m"));
    expect(output).toMatch(/^\[ *[\d.]+s\] promoted +100 %/m);
    expect(output).toMatch(/^\[ *[\d.]+s\] analysing +weight \d+ % · v1 \d+ req\/s .* · v2 \d+ req\/s/m);
    expect(output).toMatch(/^promoted: v2 takes 100 % of the traffic after \d+ passed checks/m);
    const answered = /v1 answered ([\d,]+) · v2 answered ([\d,]+)/.exec(output);
    expect(Number(answered?.[1]?.replaceAll(",", ""))).toBeGreaterThan(100);
    expect(Number(answered?.[2]?.replaceAll(",", ""))).toBeGreaterThan(100);
    expect(output).toMatch(/closed the proxy, both upstreams and the load generator\n$/);
    expect(code).toBe(0);
  });

  it("a failing v2 is rolled back automatically, and the timeline can be saved as SVG", async () => {
    const svg = join(mkdtempSync(join(tmpdir(), "turnout-demo-")), "rollout.svg");
    const { code, output } = await demo(["--v2-error-rate", "30", "--svg", svg]);
    expect(output).toMatch(/^\[ *[\d.]+s\] check +\d+ % +check fail/m);
    expect(output).toMatch(/^\[ *[\d.]+s\] aborted +0 % +aborted: canary error rate/m);
    expect(output).toMatch(/^rolled back automatically at \d+ % after [\d.]+ s: canary error rate/m);
    expect(output).not.toMatch(/^promoted:/m);
    expect(code).toBe(0);
    const drawing = readFileSync(svg, "utf8");
    expect(wellFormedSvg(drawing)).toEqual([]);
    expect(drawing).toContain("✖");
  });
});

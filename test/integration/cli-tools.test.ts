/**
 * `turnout validate` and `turnout simulate`, run as the built binary: exit codes, every problem with its code and
 * path, the split and movement of keys checked against the library's own decisions, rollout plans on the virtual
 * clock, and the SVG written for design reviews.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RouterConfig, createRouter } from "../../src/index.js";
import { wellFormedSvg } from "./fixtures/cli/svg-check.js";
import { fixtures, turnout } from "./fixtures/cli/run.js";

const f = (name: string): string => join(fixtures, name);
const config = (name: string): RouterConfig => JSON.parse(readFileSync(f(name), "utf8")) as RouterConfig;
const ESC = "\u001b[";

describe("turnout validate", () => {
  it("a valid config and plan: exit 0, one summary line each", async () => {
    const { code, lines, stderr } = await turnout(["validate", f("router.json"), f("plan.json")]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✓ .*router\.json: router config, valid — versions v1, v2 · stable v1 · canary v2 · split v1 90 % \/ v2 10 %/);
    expect(lines[1]).toMatch(/^✓ .*plan\.json: rollout plan, valid — canary · 4 steps: 1 % 10m → 5 % 20m → 25 % 30m → 50 % 1h, then promote/);
    expect(lines.join("\n")).not.toContain(ESC);
  });

  it("lists every problem with its code and path, exit 1", async () => {
    const { code, stdout } = await turnout(["validate", f("router-invalid.json"), f("plan-invalid.json"), f("router-syntax.json")]);
    expect(code).toBe(1);
    const problems = stdout
      .split("\n")
      .filter((line) => line.startsWith("    "))
      .map((line) =>
        line
          .trim()
          .split(/\s{2,}/)
          .slice(0, 2)
          .join(" "),
      );
    expect(problems).toEqual([
      "unknown_version split.v3",
      "invalid_source stickiness[0]",
      "invalid_value keyless",
      "required overrides[0].version",
      "invalid_value rollback",
      "out_of_range steps[0].weight",
      "invalid_duration steps[1].pause",
      "unknown_field steps[2].wieght",
      "empty steps[2]",
      "invalid_json 4:34",
    ]);
    expect(stdout).toMatch(/router-invalid\.json: router config, 4 problems/);
    expect(stdout).toMatch(/line 4, column 34: a trailing comma is not allowed in JSON/);
  });

  it("checks a plan against the router it would drive", async () => {
    const { code, stdout } = await turnout(["validate", f("router.json"), f("plan-other-service.json"), "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { valid: boolean; files: { valid: boolean; problems: { code: string; path: string }[] }[] };
    expect(report.valid).toBe(false);
    expect(report.files.map((file) => file.valid)).toEqual([true, false]);
    expect(report.files[1]?.problems.map((p) => `${p.code} ${p.path}`)).toEqual(["conflict plan.stable", "conflict plan.canary"]);
  });

  it("--kind reads a file as the given kind", async () => {
    const { code, stdout } = await turnout(["validate", "--kind", "plan", f("router.json"), "--json"]);
    expect(code).toBe(1);
    const codes = (JSON.parse(stdout) as { files: { problems: { code: string; path: string }[] }[] }).files[0]?.problems.map((p) => `${p.code} ${p.path}`);
    expect(codes).toContain("required steps");
  });

  it("usage errors exit 2 with a pointer to --help", async () => {
    for (const args of [
      ["validate"],
      ["validate", f("missing.json")],
      ["validate", "--kind", "yaml", f("router.json")],
      ["validate", "--bogus", f("router.json")],
    ]) {
      const { code, stderr, stdout } = await turnout(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toMatch(/^turnout validate: .+\nRun 'turnout validate --help' for usage\.\n$/);
    }
  });

  it("--color forces colour; by default a pipe gets none", async () => {
    expect((await turnout(["validate", f("router.json"), "--color"])).stdout).toContain(ESC);
    expect((await turnout(["validate", f("router.json")], "", { FORCE_COLOR: "1" })).stdout).not.toContain(ESC);
  });
});

describe("turnout simulate: keys", () => {
  it("the split of N keys is exactly what the library decides for them", async () => {
    const { code, stdout } = await turnout(["simulate", f("router.json"), "--keys", "20000", "--json"]);
    expect(code).toBe(0);
    const { split } = JSON.parse(stdout) as {
      split: { keys: number; source: string; rows: { version: string; keys: number; expected: number }[]; reasons: Record<string, number> };
    };
    const router = createRouter(config("router.json"));
    let v2 = 0;
    for (let i = 0; i < 20_000; i++) if (router.decide({ headers: { "x-user-id": `user-${i}` } }).version === "v2") v2++;
    expect(split.source).toBe("header:x-user-id");
    expect(split.rows.map((r) => [r.version, r.keys, r.expected])).toEqual([
      ["v1", 20_000 - v2, 0.9],
      ["v2", v2, 0.1],
    ]);
    expect(split.reasons).toEqual({ weighted_routing: 20_000 });
  });

  it("raising the canary moves exactly the keys that must move (the minimum, the total-variation distance)", async () => {
    const { stdout } = await turnout(["simulate", f("router.json"), "--to", f("router-next.json"), "--keys", "20000", "--json"]);
    const { movement } = JSON.parse(stdout) as {
      movement: { matrix: number[][]; moved: number; minimum: number; minimal: boolean; configuredDistance: number };
    };
    const before = createRouter(config("router.json"));
    const after = createRouter(config("router-next.json"));
    let moved = 0;
    for (let i = 0; i < 20_000; i++) {
      const request = { headers: { "x-user-id": `user-${i}` } };
      if (before.decide(request).version !== after.decide(request).version) moved++;
    }
    expect(movement.moved).toBe(moved);
    expect(movement.minimal).toBe(true);
    expect(movement.minimum).toBe(moved);
    expect(movement.matrix[1]?.[0]).toBe(0); // nobody leaves the canary when it grows
    expect(movement.configuredDistance).toBeCloseTo(0.15, 10);
  });

  it("a new salt reshuffles keys: far more than the minimum move", async () => {
    const { code, stdout } = await turnout(["simulate", f("router.json"), "--to", f("router-salted.json"), "--keys", "20000"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/✗ not minimal/);
    const moved = Number(/moved\s+([\d,]+) keys/.exec(stdout)?.[1]?.replaceAll(",", ""));
    const minimum = Number(/minimum\s+([\d,]+) keys/.exec(stdout)?.[1]?.replaceAll(",", ""));
    expect(moved).toBeGreaterThan(minimum * 1.5);
  });

  it("draws a table and bars without colour when piped", async () => {
    const { stdout } = await turnout(["simulate", f("router.json"), "--keys", "5000", "--width", "80"]);
    expect(stdout).not.toContain(ESC);
    expect(stdout).toMatch(/Split of 5,000 keys/);
    expect(stdout).toMatch(/^ {2}v1 {2}█+/m);
    for (const line of stdout.split("\n")) expect([...line].length).toBeLessThanOrEqual(140);
  });
});

describe("turnout simulate: rollout plans on the virtual clock", () => {
  it("a healthy canary is promoted; a bad one is rolled back at the first failed check", async () => {
    const healthy = JSON.parse((await turnout(["simulate", "--plan", f("plan.json"), "--json"])).stdout) as { rollout: Record<string, unknown> };
    expect(healthy.rollout).toMatchObject({ outcome: "promoted", finalWeight: 100, healthChecksPassed: true, durationMs: 8_100_000 });
    const bad = JSON.parse((await turnout(["simulate", "--plan", f("plan.json"), "--canary-error-rate", "5", "--json"])).stdout) as {
      rollout: { outcome: string; finalWeight: number; events: { type: string }[] };
    };
    expect(bad.rollout).toMatchObject({ outcome: "aborted", finalWeight: 0 });
    expect(bad.rollout.events.map((e) => e.type)).toContain("aborted");
  });

  it("simulates a plan judged by a Prometheus provider, modelled by the simulated traffic", async () => {
    const healthy = JSON.parse((await turnout(["simulate", "--plan", f("plan-prometheus.json"), "--json"])).stdout) as { rollout: Record<string, unknown> };
    expect(healthy.rollout).toMatchObject({ outcome: "promoted", finalWeight: 100, healthChecksPassed: true });
    const bad = JSON.parse((await turnout(["simulate", "--plan", f("plan-prometheus.json"), "--canary-error-rate", "5", "--json"])).stdout) as {
      rollout: Record<string, unknown>;
    };
    expect(bad.rollout).toMatchObject({ outcome: "aborted", finalWeight: 0 });
  });

  it("replays exactly with the same seed", async () => {
    const run = async (): Promise<unknown> => {
      const { rollout } = JSON.parse((await turnout(["simulate", "--plan", f("plan-with-traffic.json"), "--json"])).stdout) as {
        rollout: Record<string, unknown>;
      };
      const { wallMs: _wall, ...rest } = rollout;
      return rest;
    };
    const first = await run();
    expect(first).toMatchObject({ outcome: "aborted", traffic: { requestsPerSecond: 500, seed: 7 } });
    expect(await run()).toEqual(first);
  });

  it("draws the timeline in the terminal", async () => {
    const { code, stdout } = await turnout(["simulate", f("router.json"), "--plan", f("plan-with-traffic.json"), "--keys", "1000", "--width", "100"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^weight +100 %┤/m);
    expect(stdout).toMatch(/^errors +v2 [▁▂▃▄▅▆▇█ ]+ max [\d.]+ %$/m);
    expect(stdout).toMatch(/^checks +[·✗? ]*✗/m);
    expect(stdout).toMatch(/^events +1 .*2 .*3 .*✖/m);
    expect(stdout).toMatch(/outcome {3}aborted at 0 %/);
  });

  it("invalid plans and traffic models list their problems, exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "turnout-cli-"));
    const traffic = join(dir, "traffic.json");
    writeFileSync(traffic, JSON.stringify({ requestsPerSecond: -1, canary: { errorPercent: 500 } }));
    const badTraffic = await turnout(["simulate", "--plan", f("plan.json"), "--traffic", traffic, "--json"]);
    expect(badTraffic.code).toBe(1);
    expect((JSON.parse(badTraffic.stdout) as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`)).toEqual([
      "negative requestsPerSecond",
      "out_of_range canary.errorPercent",
    ]);
    const badPlan = await turnout(["simulate", "--plan", f("plan-invalid.json")]);
    expect(badPlan.code).toBe(1);
    expect(badPlan.stdout).toMatch(/out_of_range\s+steps\[0\]\.weight/);
    const otherService = await turnout(["simulate", f("router.json"), "--plan", f("plan-other-service.json"), "--keys", "10"]);
    expect(otherService.code).toBe(1);
    expect(otherService.stdout).toMatch(/conflict/);
  });

  it("usage errors exit 2", async () => {
    for (const args of [
      ["simulate"],
      ["simulate", "--to", f("router.json")],
      ["simulate", f("router.json"), "--keys", "0"],
      ["simulate", f("router.json"), "--keys", "lots"],
      ["simulate", "--plan", f("plan.json"), "--canary-latency", "fast"],
      ["simulate", "--plan", f("plan.json"), "--approve-after", "soon"],
      ["simulate", f("router.json"), f("router-next.json")],
    ]) {
      const { code, stderr } = await turnout(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toMatch(/Run 'turnout simulate --help' for usage/);
    }
  });
});

describe("turnout simulate --svg", () => {
  it("writes one self-contained, well-formed SVG with every chart, axes, labels and a legend", async () => {
    const dir = mkdtempSync(join(tmpdir(), "turnout-cli-"));
    const out = join(dir, "review.svg");
    const { code } = await turnout([
      "simulate",
      f("router.json"),
      "--to",
      f("router-next.json"),
      "--plan",
      f("plan-with-traffic.json"),
      "--keys",
      "5000",
      "--svg",
      out,
    ]);
    expect(code).toBe(0);
    const svg = readFileSync(out, "utf8");
    expect(wellFormedSvg(svg)).toEqual([]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="960" height="\d+" viewBox="0 0 960 \d+"/);
    expect(svg).not.toMatch(/<script|<image|xlink:href|@import|url\(/);
    const labels = [
      "Split of 5,000 keys",
      "configured weight",
      "keys change version",
      "before",
      "after",
      "weight of v2 (canary)",
      "error rate",
      "p99 latency",
      "time since start",
      "check passed",
      "check failed",
      "limit",
      "step 1 · 5 %",
      "step 3 · 50 %",
      "✖",
    ];
    expect(labels.filter((label) => !svg.includes(label))).toEqual([]);
  });
});

describe("turnout --help and --version", () => {
  it("every command has help; the version is the package's", async () => {
    const pkg = JSON.parse(readFileSync(join(fixtures, "..", "..", "..", "..", "package.json"), "utf8")) as { version: string };
    expect((await turnout(["--version"])).stdout).toBe(`${pkg.version}\n`);
    for (const args of [["--help"], ["help"], ["help", "simulate"], ["validate", "--help"], ["simulate", "-h"], ["node", "--help"]]) {
      const { code, stdout } = await turnout(args);
      expect(code, args.join(" ")).toBe(0);
      expect(stdout).toMatch(/Usage: turnout/);
    }
    const none = await turnout([]);
    expect(none.code).toBe(2);
    const unknown = await turnout(["simulte"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/did you mean simulate/);
  });
});

describe("turnout simulate and validate: first-contact mistakes", () => {
  const dir = mkdtempSync(join(tmpdir(), "turnout-cli-first-"));
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  it("a plan given where the router config goes is recognised: use --plan, exit 2 (was: five router-config errors)", async () => {
    for (const plan of [f("plan.json"), f("plan-with-traffic.json")]) {
      const { code, stdout, stderr } = await turnout(["simulate", plan]);
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toContain("is a rollout plan, not a router configuration: pass it with --plan");
      expect(stderr).not.toMatch(/required\s+versions/);
    }
  });

  it("--fail-on-abort exits 3 when the simulated rollout aborts; 0 without the flag or when it is promoted", async () => {
    const aborted = await turnout(["simulate", "--plan", f("plan.json"), "--canary-error-rate", "5", "--fail-on-abort", "--json"]);
    expect(aborted.code).toBe(3);
    expect((JSON.parse(aborted.stdout) as { rollout: { outcome: string } }).rollout.outcome).toBe("aborted");
    expect((await turnout(["simulate", "--plan", f("plan.json"), "--canary-error-rate", "5", "--json"])).code).toBe(0);
    expect((await turnout(["simulate", "--plan", f("plan.json"), "--fail-on-abort", "--json"])).code).toBe(0);
  });

  it("unknown fields suggest what was meant, in validate and simulate, with the codes unchanged", async () => {
    const typo = write("typo.json", { versions: ["v1", "v2"], stable: "v1", spilt: { v1: 90, v2: 10 }, stickyness: ["key"] });
    const { code, stdout } = await turnout(["validate", typo, "--json"]);
    expect(code).toBe(1);
    const problems = (JSON.parse(stdout) as { files: { problems: { code: string; path: string; message: string }[] }[] }).files[0]?.problems ?? [];
    expect(problems.map((p) => `${p.code} ${p.path}`)).toEqual(["unknown_field spilt", "unknown_field stickyness"]);
    expect(problems[0]?.message).toContain('did you mean "split"?');
    expect(problems[1]?.message).toContain('did you mean "stickiness"?');
    expect((await turnout(["simulate", typo, "--keys", "10"])).stdout).toContain('did you mean "split"?');
  });

  it("split weights that do not sum to 100 get a warning saying how they are normalised (90 + 20 → 81.82 % / 18.18 %)", async () => {
    const odd = write("odd.json", { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 20 } });
    const validated = await turnout(["validate", odd]);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toMatch(/! split_not_100\s+split\s+the weights sum to 110, not 100: .*v1 90 → 81\.82 %, v2 20 → 18\.18 %/);
    const json = JSON.parse((await turnout(["validate", odd, "--json"])).stdout) as { files: { warnings: { code: string; path: string }[] }[] };
    expect(json.files[0]?.warnings.map((w) => `${w.code} ${w.path}`)).toEqual(["split_not_100 split"]);
    const simulated = await turnout(["simulate", odd, "--keys", "1000"]);
    expect(simulated.code).toBe(0);
    expect(simulated.stderr).toMatch(/split_not_100.*81\.82 %/);
    const simulatedJson = JSON.parse((await turnout(["simulate", odd, "--keys", "1000", "--json"])).stdout) as { warnings: { code: string }[] };
    expect(simulatedJson.warnings.map((w) => w.code)).toEqual(["split_not_100"]);
    // A split that sums to 100 has none.
    expect((await turnout(["validate", f("router.json")])).stdout).not.toContain("split_not_100");
  });

  it("a conflict between a router config and a plan shows both sides, with their files", async () => {
    const validated = await turnout(["validate", f("router.json"), f("plan-other-service.json"), "--json"]);
    const problems = (JSON.parse(validated.stdout) as { files: { problems: { code: string; path: string; message: string }[] }[] }).files[1]?.problems ?? [];
    expect(problems.map((p) => `${p.code} ${p.path}`)).toEqual(["conflict plan.stable", "conflict plan.canary"]);
    expect(problems[0]?.message).toMatch(/plan-other-service\.json says stable "blue"; .*router\.json says stable "v1"/);
    expect(problems[1]?.message).toMatch(/plan-other-service\.json says canary "green"; .*router\.json says canary "v2"/);
    const simulated = await turnout(["simulate", f("router.json"), "--plan", f("plan-other-service.json"), "--keys", "10", "--json"]);
    expect(simulated.code).toBe(1);
    const simulatedProblems = (JSON.parse(simulated.stdout) as { problems: { code: string; message: string }[] }).problems;
    expect(simulatedProblems.map((p) => p.code)).toEqual(["conflict", "conflict"]);
    expect(simulatedProblems[0]?.message).toMatch(/says stable "blue"; .*router\.json says stable "v1"/);
  });
});

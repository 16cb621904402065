import { describe, expect, it } from "vitest";
import { TurnoutConfigError, isTurnoutConfigError } from "../../../src/errors.js";
import { checkPlan, compilePlan, resolveAnalysisSpec } from "../../../src/rollout/index.js";
import type { RolloutPlan } from "../../../src/rollout/index.js";

/** The (code, path) pairs of a plan's problems. */
function problemsOf(input: unknown): Array<[string, string]> {
  return checkPlan(input).map((p) => [p.code, p.path]);
}

describe("plan validation lists every problem with a code and a path", () => {
  const cases: Array<[string, unknown, [string, string]]> = [
    ["not an object", "steps: 5%", ["type", ""]],
    ["null", null, ["type", ""]],
    ["an array", [{ weight: 5 }], ["type", ""]],
    ["no steps", {}, ["required", "steps"]],
    ["steps not a list", { steps: { weight: 5 } }, ["type", "steps"]],
    ["empty steps", { steps: [] }, ["empty", "steps"]],
    ["too many steps", { steps: Array.from({ length: 101 }, () => ({ pause: "1m" })) }, ["too_long", "steps"]],
    ["a step that is not an object", { steps: [5] }, ["type", "steps[0]"]],
    ["a step with nothing in it", { steps: [{}] }, ["empty", "steps[0]"]],
    ["weight above 100", { steps: [{ weight: 150 }] }, ["out_of_range", "steps[0].weight"]],
    ["negative weight", { steps: [{ weight: -1 }] }, ["negative", "steps[0].weight"]],
    ["NaN weight", { steps: [{ weight: Number.NaN }] }, ["not_finite", "steps[0].weight"]],
    ["Infinity weight", { steps: [{ weight: Number.POSITIVE_INFINITY }] }, ["not_finite", "steps[0].weight"]],
    ["weight as a string", { steps: [{ weight: "10" }] }, ["type", "steps[0].weight"]],
    ["a weight finer than 0.01 %", { steps: [{ weight: 33.333 }] }, ["invalid_value", "steps[0].weight"]],
    ["decreasing weights", { steps: [{ weight: 50 }, { weight: 25 }] }, ["out_of_range", "steps[1].weight"]],
    ["a prose duration", { steps: [{ weight: 5, pause: "5 minutes" }] }, ["invalid_duration", "steps[0].pause"]],
    ["a negative pause", { steps: [{ weight: 5, pause: -5 }] }, ["negative", "steps[0].pause"]],
    ["a pause of the wrong type", { steps: [{ weight: 5, pause: true }] }, ["type", "steps[0].pause"]],
    ["a pause longer than a year", { steps: [{ weight: 5, pause: "400d" }] }, ["out_of_range", "steps[0].pause"]],
    ["a typo in a step", { steps: [{ wieght: 5 }] }, ["unknown_field", "steps[0].wieght"]],
    ["a typo at the top", { steps: [{ weight: 5 }], rollbak: "stepped" }, ["unknown_field", "rollbak"]],
    ["__proto__ in a step", JSON.parse('{"steps":[{"weight":5,"__proto__":{"x":1}}]}'), ["forbidden_key", "steps[0].__proto__"]],
    ["constructor at the top", JSON.parse('{"steps":[{"weight":5}],"constructor":1}'), ["forbidden_key", "constructor"]],
    ["an unknown strategy", { strategy: "linear", steps: [{ weight: 5 }] }, ["invalid_value", "strategy"]],
    ["a strategy of the wrong type", { strategy: 1, steps: [{ weight: 5 }] }, ["type", "strategy"]],
    ["a blue-green weight between 0 and 100", { strategy: "blueGreen", steps: [{ weight: 50 }] }, ["invalid_value", "steps[0].weight"]],
    ["a stepped blue-green rollback", { strategy: "blueGreen", steps: [{ weight: 0, pause: "manual" }], rollback: "stepped" }, ["conflict", "rollback"]],
    ["a blue-green plan that holds", { strategy: "blueGreen", steps: [{ weight: 0, pause: "manual" }], finish: "hold" }, ["conflict", "finish"]],
    ["an unknown rollback mode", { steps: [{ weight: 5 }], rollback: "slowly" }, ["invalid_value", "rollback"]],
    ["an unknown finish", { steps: [{ weight: 5 }], finish: "later" }, ["invalid_value", "finish"]],
    ["an analysis without criteria", { steps: [{ weight: 5, analysis: { window: "5m" } }] }, ["required", "steps[0].analysis"]],
    ["an error rate above 100 %", { steps: [{ weight: 5, analysis: { maxErrorRate: 150 } }] }, ["out_of_range", "steps[0].analysis.maxErrorRate"]],
    ["a failure limit of 0", { steps: [{ weight: 5, analysis: { maxErrorRate: 5, failureLimit: 0 } }] }, ["out_of_range", "steps[0].analysis.failureLimit"]],
    ["a fractional failure limit", { steps: [{ weight: 5, analysis: { maxErrorRate: 5, failureLimit: 1.5 } }] }, ["type", "steps[0].analysis.failureLimit"]],
    ["a negative minRequests", { steps: [{ weight: 5, analysis: { maxErrorRate: 5, minRequests: -1 } }] }, ["negative", "steps[0].analysis.minRequests"]],
    ["a p99 ratio of 0", { steps: [{ weight: 5, analysis: { maxP99Ratio: 0 } }] }, ["out_of_range", "steps[0].analysis.maxP99Ratio"]],
    [
      "an unknown inconclusive policy",
      { steps: [{ weight: 5, analysis: { maxErrorRate: 5, onInconclusive: "abort" } }] },
      ["invalid_value", "steps[0].analysis.onInconclusive"],
    ],
    ["a zero window", { steps: [{ weight: 5, analysis: { maxErrorRate: 5, window: "0s" } }] }, ["out_of_range", "steps[0].analysis.window"]],
    ["an analysis that is a list", { steps: [{ weight: 5 }], analysis: [] }, ["type", "analysis"]],
    ["a typo in an analysis", { steps: [{ weight: 5, analysis: { maxErrorRate: 5, maxP95Ms: 9 } }] }, ["unknown_field", "steps[0].analysis.maxP95Ms"]],
    ["an analysed step with a zero hold", { steps: [{ weight: 5, pause: 0, analysis: { maxErrorRate: 5 } }] }, ["conflict", "steps[0].pause"]],
    ["the same stable and canary", { steps: [{ weight: 5 }], stable: "v1", canary: "v1" }, ["conflict", "canary"]],
    ["an empty name", { steps: [{ weight: 5, name: " " }] }, ["empty", "steps[0].name"]],
    ["a name of 201 characters", { steps: [{ weight: 5, name: "n".repeat(201) }] }, ["too_long", "steps[0].name"]],
    ["a p99 limit of 0 ms", { steps: [{ weight: 5, analysis: { maxP99Ms: 0 } }] }, ["out_of_range", "steps[0].analysis.maxP99Ms"]],
    ["a bad rollback window", { steps: [{ weight: 5 }], rollbackWindow: "soon" }, ["invalid_duration", "rollbackWindow"]],
    ["a zero rollback interval", { steps: [{ weight: 5 }], rollbackInterval: 0 }, ["out_of_range", "rollbackInterval"]],
    ["a window analysis without criteria", { steps: [{ weight: 5 }], analysis: { window: "1m" }, rollbackWindow: "10m" }, ["required", "analysis"]],
  ];

  for (const [name, input, expected] of cases) {
    it(`rejects ${name}`, () => {
      expect(problemsOf(input)).toContainEqual(expected);
      let thrown: unknown;
      try {
        compilePlan(input as RolloutPlan);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TurnoutConfigError);
      expect(isTurnoutConfigError(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(/^invalid rollout plan: /);
    });
  }

  it("takes a step name of exactly 200 characters", () => {
    expect(problemsOf({ steps: [{ weight: 5, name: "n".repeat(200) }] })).toEqual([]);
  });

  it("lists every problem of a plan at once, in order", () => {
    const problems = problemsOf({
      strategy: "canary",
      steps: [{ weight: 150, pause: "5 minutes" }, { weight: 10, analysis: { maxErrorRate: -1 } }, {}],
      rollback: "sometimes",
      extra: true,
    });
    expect(problems).toEqual([
      ["unknown_field", "extra"],
      ["invalid_value", "rollback"],
      ["out_of_range", "steps[0].weight"],
      ["invalid_duration", "steps[0].pause"],
      ["negative", "steps[1].analysis.maxErrorRate"],
      ["required", "steps[1].analysis"],
      ["empty", "steps[2]"],
    ]);
  });
});

describe("compiled plans", () => {
  it("carries weights forward and resolves holds in milliseconds", () => {
    const plan = compilePlan({ steps: [{ weight: 0, pause: "manual" }, { weight: 5, pause: "15m" }, { pause: "1h30m" }, { weight: 50 }] });
    expect(plan.strategy).toBe("canary");
    expect(plan.steps.map((s) => [s.weight, s.holdMs, s.manual])).toEqual([
      [0, 0, true],
      [5, 900_000, false],
      [5, 5_400_000, false],
      [50, 0, false],
    ]);
    expect(plan.rollback).toBe("immediate");
    expect(plan.finish).toBe("promote");
    expect(plan.rollbackWindowMs).toBe(0);
  });

  it("applies the plan's analysis to every holding step above 0 %, merged field by field with the step's", () => {
    const plan = compilePlan({
      steps: [
        { weight: 0, pause: "5m" },
        { weight: 5, pause: "10m" },
        { weight: 10, pause: "10m", analysis: { maxP99Ratio: 2, window: "2m" } },
        { weight: 20, pause: "10m", analysis: false },
        { weight: 30 },
      ],
      analysis: { maxErrorRate: 5, interval: "30s" },
    });
    expect(plan.steps[0]?.analysis).toBeNull();
    expect(plan.steps[1]?.analysis).toMatchObject({ maxErrorRate: 5, maxP99Ratio: null, intervalMs: 30_000, windowMs: 300_000 });
    expect(plan.steps[2]?.analysis).toMatchObject({ maxErrorRate: 5, maxP99Ratio: 2, intervalMs: 30_000, windowMs: 120_000 });
    expect(plan.steps[3]?.analysis).toBeNull();
    expect(plan.steps[4]?.analysis).toBeNull();
    expect(plan.windowAnalysis).toBeNull();
  });

  it("holds an analysed step without a pause for one analysis window", () => {
    const plan = compilePlan({ steps: [{ weight: 5, analysis: { maxErrorRate: 5, window: "3m" } }] });
    expect(plan.steps[0]?.holdMs).toBe(180_000);
  });

  it("fills in the documented analysis defaults", () => {
    expect(resolveAnalysisSpec({ maxErrorRate: 5 })).toEqual({
      windowMs: 300_000,
      intervalMs: 60_000,
      minRequests: 100,
      maxErrorRate: 5,
      maxErrorRateIncrease: null,
      maxP99Ms: null,
      maxP99Ratio: null,
      failureLimit: 1,
      onInconclusive: "pause",
      provider: null,
    });
    expect(() => resolveAnalysisSpec({ window: "5m" })).toThrow(TurnoutConfigError);
  });

  it("analyses blue-green previews at 0 % and the rollback window with the plan's analysis", () => {
    const plan = compilePlan({
      strategy: "blueGreen",
      steps: [{ weight: 0, pause: "10m" }],
      analysis: { maxErrorRate: 1 },
      rollbackWindow: "30m",
    });
    expect(plan.steps[0]?.analysis?.maxErrorRate).toBe(1);
    expect(plan.windowAnalysis?.maxErrorRate).toBe(1);
    expect(plan.rollbackWindowMs).toBe(1_800_000);
  });

  it("freezes a copy of the source and fingerprints it independently of key order", () => {
    const input = { steps: [{ weight: 5, pause: "1m" }], rollback: "stepped" as const };
    const a = compilePlan(input);
    const b = compilePlan({ rollback: "stepped", steps: [{ pause: "1m", weight: 5 }] });
    const c = compilePlan({ steps: [{ weight: 6, pause: "1m" }], rollback: "stepped" });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
    expect(Object.isFrozen(a.source)).toBe(true);
    expect(Object.isFrozen(a.source.steps[0])).toBe(true);
    (input.steps[0] as { weight: number }).weight = 99;
    expect(a.steps[0]?.weight).toBe(5);
  });
});

describe("unknown plan fields (regression: a typo got no hint)", () => {
  it("suggest the field a typo most likely meant, keeping the code and path", () => {
    const problems = checkPlan({ steps: [{ weight: 5, paus: "5m" }], rollbak: "stepped" });
    const byPath = new Map(problems.map((p) => [p.path, p]));
    expect(byPath.get("steps[0].paus")?.code).toBe("unknown_field");
    expect(byPath.get("rollbak")?.code).toBe("unknown_field");
    expect(byPath.get("steps[0].paus")?.message).toContain('did you mean "pause"?');
    expect(byPath.get("rollbak")?.message).toContain('did you mean "rollback"?');
  });
});

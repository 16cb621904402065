import { describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import { type RolloutPlan, type TrafficModel, simulateRollout } from "../../../src/rollout/index.js";

const HOUR = 3_600_000;

/** The plan of seed 004's table, one hour per step, judged against the stable baseline. */
const sixSteps: RolloutPlan = {
  steps: [
    { weight: 1, pause: "1h" },
    { weight: 5, pause: "1h" },
    { weight: 10, pause: "1h" },
    { weight: 25, pause: "1h" },
    { weight: 50, pause: "1h" },
    { weight: 75, pause: "1h" },
  ],
  analysis: { window: "5m", interval: "1m", minRequests: 100, maxErrorRateIncrease: 2, maxP99Ratio: 2 },
};

const stable = { errorPercent: 1, latencyMs: { p50: 40, p99: 200 } } as const;

function traffic(canary: TrafficModel["canary"], extra: Partial<TrafficModel> = {}): TrafficModel {
  return { requestsPerSecond: 1000, stable, canary, ...extra };
}

describe("simulateRollout scenarios", () => {
  it("promotes a healthy canary through every step", () => {
    const result = simulateRollout(sixSteps, traffic({ errorPercent: 1.2, latencyMs: { p50: 42, p99: 220 } }));
    expect(result.outcome).toBe("promoted");
    expect(result.finalWeight).toBe(100);
    expect(result.healthChecksPassed).toBe(true);
    expect(result.checks.failed).toBe(0);
    expect(result.checks.passed).toBeGreaterThanOrEqual(6 * 59);
    const steps = result.events.filter((e) => e.type === "step");
    expect(steps.map((e) => e.weight)).toEqual([1, 5, 10, 25, 50, 75]);
    expect(steps.slice(1).every((e) => e.reason === "analysisPassed")).toBe(true);
    expect(result.events.at(-1)).toMatchObject({ type: "promoted", weight: 100 });
    expect(result.durationMs).toBe(6 * HOUR);
    // The traffic split followed the weights: an average of 27.67 % went to the canary.
    const share = result.requests.canary / (result.requests.canary + result.requests.stable);
    expect(share).toBeCloseTo((1 + 5 + 10 + 25 + 50 + 75) / 6 / 100, 2);
    expect(result.requests.canary + result.requests.stable).toBe(6 * 3600 * 1000);
  });

  it("aborts a canary whose error rate is 5 points above stable at the first analysed step, whatever the seed", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = simulateRollout(sixSteps, traffic({ errorPercent: 6, latencyMs: stable.latencyMs }, { seed }));
      expect(result.outcome).toBe("aborted");
      expect(result.finalWeight).toBe(0);
      expect(result.healthChecksPassed).toBe(false);
      expect(result.state.stepIndex).toBe(0);
      const aborted = result.events.find((e) => e.type === "aborted");
      expect(aborted?.reason).toBe("analysisFailed");
      expect(aborted?.previousWeight).toBe(1);
      const failed = aborted?.health?.checks.find((c) => c.outcome === "fail");
      expect(failed?.criterion).toBe("maxErrorRateIncrease");
      expect(failed?.actual).toBeGreaterThan(2);
    }
  });

  it("aborts a slow canary (p99 three times the stable's)", () => {
    const result = simulateRollout(sixSteps, traffic({ errorPercent: 1, latencyMs: { p50: 40, p99: 600 } }));
    expect(result.outcome).toBe("aborted");
    expect(result.state.stepIndex).toBe(0);
    const failed = result.events.find((e) => e.type === "aborted")?.health?.checks.find((c) => c.outcome === "fail");
    expect(failed?.criterion).toBe("maxP99Ratio");
    expect(failed?.actual).toBeGreaterThan(2.7);
    expect(failed?.actual).toBeLessThan(3.3);
  });

  it("pauses as inconclusive when there is too little traffic, instead of aborting — even when the canary is bad", () => {
    const result = simulateRollout(sixSteps, { requestsPerSecond: 2, stable, canary: { errorPercent: 50, latencyMs: { p50: 40, p99: 900 } } });
    expect(result.outcome).toBe("paused");
    expect(result.state).toMatchObject({ phase: "paused", pauseReason: "inconclusive", stepIndex: 0, weight: 1 });
    expect(result.finalWeight).toBe(1);
    expect(result.checks.failed).toBe(0);
    expect(result.checks.inconclusive).toBeGreaterThan(0);
    expect(result.healthChecksPassed).toBe(true);
    expect(result.state.lastHealth?.message).toMatch(/of the 100 requests needed/);
  });

  it("answers seed 000's gradual_rollout: 10 % for 60 minutes, 50 % for 240 minutes", () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 10, pause: "60m" },
        { weight: 50, pause: "240m" },
      ],
      finish: "hold",
      analysis: { maxErrorRateIncrease: 1 },
    };
    const result = simulateRollout(plan, { requestsPerSecond: 100, stable: { errorPercent: 0.5 }, canary: { errorPercent: 0.5 } });
    expect(result.outcome).toBe("completed");
    expect(result.finalWeight).toBe(50);
    expect(result.healthChecksPassed).toBe(true);
    expect(result.durationMs).toBe(300 * 60_000);
  });

  it("aborts when the canary degrades mid-rollout, at the step in force then", () => {
    const result = simulateRollout(
      sixSteps,
      traffic({ errorPercent: 1, latencyMs: stable.latencyMs }, { changes: [{ at: "3h30m", canary: { errorPercent: 9 } }] }),
    );
    expect(result.outcome).toBe("aborted");
    expect(result.state.stepIndex).toBe(3);
    const aborted = result.events.find((e) => e.type === "aborted");
    expect(aborted?.at).toBeGreaterThan(3.5 * HOUR);
    expect(aborted?.at).toBeLessThan(3.5 * HOUR + 10 * 60_000);
  });

  it("steps down with rollback: stepped, visible in the timeline", () => {
    const result = simulateRollout(
      { ...sixSteps, rollback: "stepped", rollbackInterval: "1m" },
      traffic({ errorPercent: 1, latencyMs: stable.latencyMs }, { changes: [{ at: "4h10m", canary: { errorPercent: 20 } }] }),
    );
    expect(result.outcome).toBe("aborted");
    const down = result.events.filter((e) => e.type === "rollbackStep" || e.type === "aborted").map((e) => e.weight);
    expect(down).toEqual([25, 10, 5, 1, 0]);
  });

  it("runs a blue-green preview on explicitly routed traffic, switches atomically and watches the rollback window", () => {
    const plan: RolloutPlan = {
      strategy: "blueGreen",
      steps: [{ weight: 0, pause: "10m", analysis: { maxErrorRate: 2, minRequests: 50 } }],
      analysis: { maxErrorRate: 2, minRequests: 100 },
      rollbackWindow: "30m",
    };
    const healthy = simulateRollout(plan, { requestsPerSecond: 200, previewRequestsPerSecond: 1, stable, canary: { errorPercent: 0.5 } });
    expect(healthy.outcome).toBe("promoted");
    const weights = healthy.timeline.map((p) => p.weight);
    expect(new Set(weights)).toEqual(new Set([0, 100]));
    expect(healthy.events.map((e) => e.type)).toContain("windowClosed");
    expect(healthy.timeline.some((p) => p.phase === "preview" && p.verdict === "pass")).toBe(true);

    const flips = simulateRollout(plan, {
      requestsPerSecond: 200,
      previewRequestsPerSecond: 1,
      stable,
      canary: { errorPercent: 0.5 },
      changes: [{ at: "20m", canary: { errorPercent: 10 } }],
    });
    expect(flips.outcome).toBe("aborted");
    expect(flips.events.find((e) => e.type === "aborted")).toMatchObject({ previousWeight: 100, reason: "analysisFailed" });
  });

  it("stops at a manual gate, or lets a simulated operator approve it", () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 0, pause: "manual" },
        { weight: 20, pause: "1h" },
      ],
    };
    const waits = simulateRollout(plan, { requestsPerSecond: 10 });
    expect(waits).toMatchObject({ outcome: "paused", finalWeight: 0, durationMs: 0 });
    const approved = simulateRollout(plan, { requestsPerSecond: 10 }, { approveAfter: "15m" });
    expect(approved.outcome).toBe("promoted");
    expect(approved.durationMs).toBe(75 * 60_000);
  });

  it("is deterministic for a seed", () => {
    const model = traffic({ errorPercent: 1.5, latencyMs: { p50: 45, p99: 260 } }, { seed: 42 });
    const plan: RolloutPlan = { ...sixSteps, steps: sixSteps.steps.slice(0, 2) };
    const a = simulateRollout(plan, model);
    const b = simulateRollout(plan, model);
    expect(b).toEqual(a);
    const c = simulateRollout(plan, { ...model, seed: 43 });
    expect(c.requests).not.toEqual(a.requests);
  });

  it("returns a timeline of events and periodic samples, in time order, with the figures", () => {
    const result = simulateRollout(sixSteps, traffic({ errorPercent: 1, latencyMs: stable.latencyMs }), { sampleEvery: "10m" });
    const times = result.timeline.map((p) => p.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const samples = result.timeline.filter((p) => p.event === null);
    expect(samples).toHaveLength(36);
    expect(samples[10]?.canary?.requests).toBeGreaterThan(0);
    expect(samples[10]?.stable?.p99Ms).toBeGreaterThan(150);
    const checks = result.timeline.filter((p) => p.event === "check");
    expect(checks.every((p) => p.verdict === "pass" && p.canary !== null && p.stable !== null)).toBe(true);
    expect(JSON.parse(JSON.stringify(result.timeline))).toEqual(result.timeline);
  });

  it("reports progress up to 1", () => {
    const seen: number[] = [];
    simulateRollout(sixSteps, { requestsPerSecond: 50 }, { onProgress: (f) => seen.push(f) });
    expect(seen.at(-1)).toBe(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen.length).toBeLessThanOrEqual(101);
  });

  it("lists every problem of a traffic model or the options", () => {
    let error: unknown;
    try {
      simulateRollout(sixSteps, {
        requestsPerSecond: -1,
        stable: { errorPercent: 120, latencyMs: { p50: 100, p99: 50 } },
        canary: { latencyMs: { p50: 10 } },
        rate: 5,
      } as unknown as TrafficModel);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TurnoutConfigError);
    expect((error as TurnoutConfigError).message).toMatch(/^invalid traffic model/);
    expect((error as TurnoutConfigError).problems.map((p) => [p.code, p.path])).toEqual([
      ["unknown_field", "rate"],
      ["negative", "requestsPerSecond"],
      ["out_of_range", "stable.errorPercent"],
      ["out_of_range", "stable.latencyMs.p99"],
      ["required", "canary.latencyMs.p99"],
    ]);
    expect(() => simulateRollout(sixSteps, { requestsPerSecond: 1 }, { sliceMs: "soon" })).toThrow(/invalid simulation options/);
    expect(() => simulateRollout({ steps: [] }, { requestsPerSecond: 1 })).toThrow(/invalid rollout plan/);
  });

  it("takes up to 1,000 traffic changes and a slice of at least 1 ms, and says so beyond", () => {
    const problemsOf = (run: () => unknown): Array<[string, string]> => {
      try {
        run();
        return [];
      } catch (error) {
        return (error as TurnoutConfigError).problems.map((p) => [p.code, p.path]);
      }
    };
    const changes = (n: number) => Array.from({ length: n }, (_, i) => ({ at: `${i + 1}s`, requestsPerSecond: 1 + (i % 3) }));
    const short = { steps: [{ weight: 50, pause: "5s" }] };
    expect(problemsOf(() => simulateRollout(short, { requestsPerSecond: 1, changes: changes(1000) }, { sliceMs: 1000 }))).toEqual([]);
    expect(problemsOf(() => simulateRollout(short, { requestsPerSecond: 1, changes: changes(1001) }))).toEqual([["too_long", "changes"]]);
    expect(problemsOf(() => simulateRollout(short, { requestsPerSecond: 1 }, { sliceMs: 1 }))).toEqual([]);
    expect(problemsOf(() => simulateRollout(short, { requestsPerSecond: 1 }, { sliceMs: 0.5 }))).toEqual([["out_of_range", "sliceMs"]]);
  });
});

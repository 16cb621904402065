/**
 * The rollout: what the simulator costs for a real plan (the figure to beat: a six-step, six-hour plan at 1,000
 * requests per second), and what one machine transition and one health verdict cost.
 *
 *   tsx bench/rollout.ts            (re-launches itself with --expose-gc; one process per scenario)
 *   tsx bench/rollout.ts --quick    (fewer, shorter rounds)
 *
 * The simulation runs the real runner, router and stats on a virtual clock; traffic is generated per 10-second
 * slice as aggregate counts, so its cost follows the number of slices and checks, not the request rate (the
 * 10,000 req/s case shows it).
 */
import {
  type Health,
  type RolloutPlan,
  type TrafficModel,
  compilePlan,
  evaluateHealth,
  initialState,
  simulateRollout,
  transition,
} from "../src/rollout/index.js";
import { createStats } from "../src/stats/index.js";
import { type GroupResult, runSuite } from "./lib/harness.js";

const sixHours: RolloutPlan = {
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

const healthy = (requestsPerSecond: number): TrafficModel => ({
  requestsPerSecond,
  stable: { errorPercent: 1, latencyMs: { p50: 40, p99: 200 } },
  canary: { errorPercent: 1.1, latencyMs: { p50: 42, p99: 210 } },
});

function checkOutcome(rps: number): string {
  const result = simulateRollout(sixHours, healthy(rps));
  if (result.outcome !== "promoted" || result.durationMs !== 6 * 3_600_000 || !result.healthChecksPassed) {
    throw new Error(`the benchmark's simulation did not promote: ${result.outcome}`);
  }
  return `${rps.toLocaleString("en-US")} req/s: ${(result.requests.stable + result.requests.canary).toLocaleString("en-US")} requests, ${result.checks.passed} checks, ${result.timeline.length} timeline points`;
}

const CASE_1K = "simulateRollout: 6 steps × 1 h, 1,000 req/s, healthy → promoted";

await runSuite({
  name: "rollout",
  title: "Rollout: the simulator and the machine",
  scenarios: {
    simulate: () => {
      const remarks = [checkOutcome(1000), checkOutcome(10_000)];
      return {
        groups: [
          {
            name: "simulateRollout · six steps, six hours (2,160 slices, 360 checks)",
            cases: [
              { name: CASE_1K, baseline: true, skipBytes: true, fn: () => simulateRollout(sixHours, healthy(1000)) },
              { name: "simulateRollout: same plan, 10,000 req/s", skipBytes: true, fn: () => simulateRollout(sixHours, healthy(10_000)) },
            ],
          },
        ],
        finish: () => remarks,
      };
    },
    machine: () => {
      const plan = compilePlan(sixHours);
      const started = transition(plan, initialState(plan), { type: "start" }, 0).state;
      const pass: Health = {
        verdict: "pass",
        message: "healthy",
        from: 0,
        to: 60_000,
        canary: { requests: 600, errors: 6, errorPercent: 1, p99Ms: 200 },
        stable: { requests: 59_400, errors: 594, errorPercent: 1, p99Ms: 200 },
        checks: [],
      };
      const stats = createStats({ versions: ["v1", "v2"], window: "5m", resolution: "10s" });
      for (let t = 0; t < 300_000; t += 10_000) {
        stats.record({ version: "v1", ok: true, latencyMs: 40, count: 9_900 }, t);
        stats.record({ version: "v1", ok: false, latencyMs: 40, count: 100 }, t);
        stats.record({ version: "v2", ok: true, latencyMs: 42, count: 99 }, t);
        stats.record({ version: "v2", ok: false, latencyMs: 42, count: 1 }, t);
      }
      const analysis = plan.steps[0]?.analysis;
      if (!analysis) throw new Error("no analysis");
      let now = 0;
      return {
        groups: [
          {
            name: "machine · one transition",
            cases: [
              { name: "transition(tick), nothing due", baseline: true, fn: () => transition(plan, started, { type: "tick" }, 1) },
              { name: "transition(tick) with a passing check", fn: () => transition(plan, started, { type: "tick" }, 60_000 + (now++ % 1000), pass) },
              {
                name: "stats.window + evaluateHealth (the check's read)",
                fn: () => evaluateHealth(stats.window({ windowMs: 300_000, since: 0, now: 299_999 }), { stable: "v1", canary: "v2" }, analysis),
              },
            ],
          },
        ],
      };
    },
  },
  summary: (groups: readonly GroupResult[]) => {
    const sim = groups.flatMap((g) => g.cases).find((c) => c.name === CASE_1K);
    if (sim === undefined) return [];
    const ms = sim.nsPerOp / 1e6;
    return [
      `rollout: a six-step, six-hour plan at 1,000 req/s simulates in ${ms.toFixed(0)} ms (${Math.round((6 * 3600 * 1000) / ms).toLocaleString("en-US")}× real time)`,
    ];
  },
});

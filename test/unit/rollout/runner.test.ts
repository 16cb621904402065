import { afterEach, describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import { type Rollout, type RolloutEvent, type RolloutPlan, type RolloutState, createRollout } from "../../../src/rollout/index.js";
import { VirtualTime } from "../../../src/rollout/virtual.js";
import { createRouter } from "../../../src/router/index.js";
import { createStats } from "../../../src/stats/index.js";
import type { Logger, Router } from "../../../src/types.js";

const MIN = 60_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

function setup(plan: RolloutPlan, extra: { state?: RolloutState; router?: Router } = {}) {
  const time = new VirtualTime(T0);
  const router = extra.router ?? createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2", "v3"], window: "30m", resolution: "10s", clock: time.clock });
  const events: RolloutEvent[] = [];
  const saved: RolloutState[] = [];
  const logged: Array<[string, string]> = [];
  const logger: Logger = {
    warn: (message) => logged.push(["warn", message]),
    error: (message) => logged.push(["error", message]),
  };
  const rollout = createRollout(plan, {
    router,
    stats,
    clock: time.clock,
    timers: time,
    onEvent: (e) => events.push(e),
    onState: (s) => saved.push(s),
    logger,
    ...(extra.state ? { state: extra.state } : {}),
  });
  /** Sends `perSecond` requests a second for `ms` (in 10 s slices), split by the router's weight, then moves time on. */
  const traffic = (ms: number, perSecond: number, canaryErrorPercent: number, stableErrorPercent = 0, canaryLatency = 50): void => {
    for (let t = 0; t < ms; t += 10_000) {
      const n = perSecond * 10;
      const canary = Math.round((n * router.canaryPercent) / 100);
      const stable = n - canary;
      const at = time.now + 5_000;
      const canaryErrors = Math.round((canary * canaryErrorPercent) / 100);
      const stableErrors = Math.round((stable * stableErrorPercent) / 100);
      if (canary - canaryErrors > 0) stats.record({ version: "v2", ok: true, latencyMs: canaryLatency, count: canary - canaryErrors }, at);
      if (canaryErrors > 0) stats.record({ version: "v2", ok: false, latencyMs: canaryLatency, count: canaryErrors }, at);
      if (stable - stableErrors > 0) stats.record({ version: "v1", ok: true, latencyMs: 50, count: stable - stableErrors }, at);
      if (stableErrors > 0) stats.record({ version: "v1", ok: false, latencyMs: 50, count: stableErrors }, at);
      time.advance(10_000);
    }
  };
  return { time, router, stats, rollout, events, saved, logged, traffic };
}

const plan: RolloutPlan = {
  steps: [
    { weight: 5, pause: "10m" },
    { weight: 25, pause: "10m" },
    { weight: 50, pause: "10m" },
  ],
  analysis: { window: "5m", interval: "1m", minRequests: 100, maxErrorRateIncrease: 2 },
};

let running: Rollout | undefined;
afterEach(() => running?.stop());

describe("createRollout drives a real router from a real stats", () => {
  it("starts, holds, checks, advances and promotes; the router follows every step", () => {
    const { rollout, router, events, traffic } = setup(plan);
    running = rollout;
    expect(router.canaryPercent).toBe(0);
    expect(rollout.status()).toMatchObject({ phase: "idle", stepIndex: 0, weight: 0, stepCount: 3, stable: "v1", canary: "v2" });
    const start = rollout.start();
    expect(start.accepted).toBe(true);
    expect(router.canaryPercent).toBe(5);
    expect(start.status).toMatchObject({ phase: "analysing", stepIndex: 0, weight: 5, holdRemainingMs: 10 * MIN });
    const seen: number[] = [];
    for (let i = 0; i < 40 && rollout.status().phase !== "promoted"; i++) {
      traffic(MIN, 100, 0.5, 0.5);
      seen.push(router.canaryPercent);
      expect(router.canaryPercent).toBe(rollout.status().weight);
    }
    expect(rollout.status()).toMatchObject({ phase: "promoted", weight: 100, stepIndex: 3 });
    expect(router.canaryPercent).toBe(100);
    expect([...new Set(seen)]).toEqual([5, 25, 50, 100]);
    const checks = events.filter((e) => e.type === "check");
    expect(checks.length).toBeGreaterThanOrEqual(27);
    expect(checks.every((e) => e.health?.verdict === "pass")).toBe(true);
    expect(checks[0]?.health?.canary.requests).toBeGreaterThan(100);
  });

  it("aborts a failing canary, sets the router to 0 % at once and reports the figures", () => {
    const { rollout, router, events, traffic } = setup(plan);
    running = rollout;
    rollout.start();
    traffic(2 * MIN, 100, 8, 1);
    expect(rollout.status()).toMatchObject({ phase: "aborted", weight: 0 });
    expect(router.canaryPercent).toBe(0);
    const aborted = events.find((e) => e.type === "aborted");
    expect(aborted?.reason).toBe("analysisFailed");
    expect(aborted?.previousWeight).toBe(5);
    expect(aborted?.health?.canary.errorPercent).toBeGreaterThan(7);
    expect(aborted?.health?.stable.errorPercent).toBeLessThan(2);
    expect(rollout.status().abortReason).toMatch(/points above stable/);
  });

  it("pauses as inconclusive when there is too little traffic, instead of aborting", () => {
    const { rollout, router, traffic } = setup(plan);
    running = rollout;
    rollout.start();
    traffic(15 * MIN, 1, 100, 0); // every canary request fails, but there are only a handful
    expect(rollout.status()).toMatchObject({ phase: "paused", pauseReason: "inconclusive", weight: 5 });
    expect(router.canaryPercent).toBe(5);
    expect(rollout.status().lastHealth?.verdict).toBe("inconclusive");
  });

  it("reports whether each control applied, without throwing", () => {
    const { rollout } = setup(plan);
    running = rollout;
    const pause = rollout.pause();
    expect(pause.accepted).toBe(false);
    expect(pause.rejection).toMatch(/cannot pause/);
    expect(rollout.retry().accepted).toBe(false);
    expect(rollout.start().accepted).toBe(true);
    expect(rollout.start().accepted).toBe(false);
    expect(rollout.pause().status.phase).toBe("paused");
    expect(rollout.resume().status.phase).toBe("analysing");
    expect(rollout.promote().status.stepIndex).toBe(1);
    expect(rollout.abort("enough").status).toMatchObject({ phase: "aborted", abortReason: "enough" });
    expect(rollout.retry().status).toMatchObject({ phase: "analysing", stepIndex: 0, weight: 5 });
    expect(rollout.promoteFull().status).toMatchObject({ phase: "promoted", weight: 100 });
  });

  it("stop() cancels the timers; the state stays", () => {
    const { rollout, time, router } = setup({
      steps: [
        { weight: 10, pause: "10m" },
        { weight: 20, pause: "10m" },
      ],
    });
    rollout.start();
    expect(time.size).toBe(1);
    rollout.stop();
    expect(time.size).toBe(0);
    time.advance(60 * MIN);
    expect(rollout.status()).toMatchObject({ phase: "progressing", stepIndex: 0, weight: 10 });
    expect(router.canaryPercent).toBe(10);
  });

  it("persists every change and restarts from the saved JSON with the remaining time of the step", () => {
    const first = setup({
      steps: [
        { weight: 10, pause: "30m" },
        { weight: 20, pause: "30m" },
      ],
    });
    first.rollout.start();
    first.time.advance(12 * MIN);
    first.rollout.stop(); // the process dies 12 minutes into the first step
    const saved = JSON.stringify(first.saved.at(-1));

    // A new process: a new router (booted with its config file at 0 %), the saved state, 5 minutes later.
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const second = setup(
      {
        steps: [
          { weight: 10, pause: "30m" },
          { weight: 20, pause: "30m" },
        ],
      },
      { state: JSON.parse(saved) as RolloutState, router },
    );
    running = second.rollout;
    second.time.advanceTo(T0 + 17 * MIN);
    expect(router.canaryPercent).toBe(10);
    expect(second.events[0]).toMatchObject({ type: "weightRestored", weight: 10, previousWeight: 0 });
    expect(second.rollout.status()).toMatchObject({ phase: "progressing", stepIndex: 0, weight: 10 });
    second.rollout.tick(T0 + 17 * MIN);
    expect(second.rollout.status().holdRemainingMs).toBe(13 * MIN);
    second.time.advanceTo(T0 + 30 * MIN - 1);
    expect(second.rollout.status().stepIndex).toBe(0);
    second.time.advanceTo(T0 + 30 * MIN);
    expect(second.rollout.status()).toMatchObject({ stepIndex: 1, weight: 20 });
    expect(router.canaryPercent).toBe(20);
  });

  it("sets the router back when someone moved the canary weight, and says so", () => {
    const { rollout, router, events, time, logged } = setup({ steps: [{ weight: 10, pause: "10m" }] });
    running = rollout;
    rollout.start();
    router.setCanaryPercent(60);
    rollout.tick(time.now);
    expect(router.canaryPercent).toBe(10);
    expect(events.at(-1)).toMatchObject({ type: "weightRestored", weight: 10, previousWeight: 60 });
    expect(logged.some(([level]) => level === "warn")).toBe(true);
  });

  it("reports a weight the router refuses as an event and keeps going", () => {
    const router = createRouter({ versions: ["v1", "v2", "v3"], stable: "v1", canary: "v2", split: { v1: 90, v3: 10 } });
    const { rollout, events, logged } = setup({ steps: [{ weight: 50, pause: "10m" }] }, { router });
    running = rollout;
    rollout.start();
    expect(router.canaryPercent).toBe(50);
    const r = rollout.promoteFull();
    expect(r.accepted).toBe(true);
    expect(router.canaryPercent).toBe(50);
    expect(events.at(-1)).toMatchObject({ type: "effectFailed", weight: 100 });
    expect(logged.some(([level, message]) => level === "error" && message.includes("refused"))).toBe(true);
  });

  it("survives listeners that throw and a stats reader that fails (the check waits; it is never guessed)", () => {
    const time = new VirtualTime(T0);
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    let broken = true;
    const real = createStats({ versions: ["v1", "v2"], clock: time.clock });
    const stats = {
      window: (q?: Parameters<typeof real.window>[0]) => {
        if (broken) throw new Error("redis timeout");
        return real.window(q);
      },
    };
    const logged: string[] = [];
    const rollout = createRollout(
      { steps: [{ weight: 10, pause: "5m" }], analysis: { maxErrorRate: 5, minRequests: 0 } },
      {
        router,
        stats,
        clock: time.clock,
        timers: time,
        onEvent: () => {
          throw new Error("listener bug");
        },
        logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) },
      },
    );
    running = rollout;
    rollout.start();
    time.advance(30 * MIN);
    expect(rollout.status()).toMatchObject({ phase: "analysing", stepIndex: 0, weight: 10 });
    expect(rollout.status().checks).toEqual({ passed: 0, failed: 0, inconclusive: 0 });
    expect(logged.filter((m) => m.includes("reading the stats failed"))).toHaveLength(1);
    expect(logged.some((m) => m.includes("listener threw"))).toBe(true);
    broken = false;
    real.record({ version: "v2", ok: true, latencyMs: 20 }); // one request: a check on no traffic never passes
    time.advance(MIN);
    expect(rollout.status().phase).toBe("promoted");
  });

  it("warns once when the stats window is shorter than the analysis window", () => {
    const time = new VirtualTime(T0);
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const stats = createStats({ versions: ["v1", "v2"], window: "5m", clock: time.clock });
    const warnings: string[] = [];
    const rollout = createRollout(
      { steps: [{ weight: 10, pause: "1h" }], analysis: { window: "15m", interval: "5m", maxErrorRate: 5 } },
      { router, stats, clock: time.clock, timers: time, logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) } },
    );
    running = rollout;
    rollout.start();
    time.advance(5 * MIN); // the first check reads the step's 5 minutes: all there is
    expect(warnings).toEqual([]);
    time.advance(35 * MIN); // later checks ask for 15 minutes and get 5
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/stats window is shorter than the analysis window/);
  });

  it("runs on the default timers when none are given", async () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const rollout = createRollout(
      {
        steps: [
          { weight: 10, pause: 5 },
          { weight: 20, pause: 5 },
        ],
      },
      { router, stats: createStats() },
    );
    running = rollout;
    rollout.start();
    for (let i = 0; i < 200 && rollout.status().phase !== "promoted"; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(rollout.status().phase).toBe("promoted");
    expect(router.canaryPercent).toBe(100);
  });
});

describe("createRollout validates its options", () => {
  const stats = createStats();
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });

  function problemsOf(run: () => unknown): Array<[string, string]> {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(TurnoutConfigError);
      return (error as TurnoutConfigError).problems.map((p) => [p.code, p.path]);
    }
    return [];
  }

  it("lists every problem with its path", () => {
    const problems = problemsOf(() =>
      createRollout({ steps: [{ weight: 5 }] }, { router: {} as Router, stats: undefined as never, clock: 5 as never, onEvent: "x" as never }),
    );
    expect(problems).toEqual([
      ["type", "options.router"],
      ["required", "options.stats"],
      ["type", "options.clock"],
      ["type", "options.onEvent"],
    ]);
  });

  it("needs a router with a canary, and one that matches the plan's names", () => {
    const three = createRouter({ versions: ["v1", "v2", "v3"], stable: "v1" });
    expect(problemsOf(() => createRollout({ steps: [{ weight: 5 }] }, { router: three, stats }))).toEqual([["required", "options.router.config.canary"]]);
    expect(problemsOf(() => createRollout({ steps: [{ weight: 5 }], stable: "v1", canary: "v3" }, { router, stats }))).toEqual([["conflict", "plan.canary"]]);
    // Two versions and no canary: the other version is the canary.
    const implied = createRouter({ versions: ["v1", "v2"], stable: "v1" });
    expect(createRollout({ steps: [{ weight: 5 }] }, { router: implied, stats }).status().canary).toBe("v2");
  });

  it("refuses a saved state of another plan", () => {
    const a = createRollout({ steps: [{ weight: 5, pause: "1m" }] }, { router, stats });
    a.start();
    a.stop();
    expect(problemsOf(() => createRollout({ steps: [{ weight: 6, pause: "1m" }] }, { router, stats, state: a.state() }))).toContainEqual([
      "conflict",
      "state.plan",
    ]);
  });

  it("throws the plan's problems as a rollout plan error", () => {
    expect(() => createRollout({ steps: [] }, { router, stats })).toThrow(/invalid rollout plan/);
  });
});

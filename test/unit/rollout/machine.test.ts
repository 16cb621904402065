import { describe, expect, it } from "vitest";
import {
  type CompiledPlan,
  type Health,
  type RolloutCommand,
  type RolloutPlan,
  type RolloutState,
  type TransitionResult,
  analysisRequest,
  checkState,
  compilePlan,
  initialState,
  isFinal,
  nextTickAt,
  statusOf,
  transition,
} from "../../../src/rollout/index.js";

const MIN = 60_000;

function health(verdict: Health["verdict"]): Health {
  const figures = { requests: 1000, errors: 0, errorPercent: 0, p99Ms: 100 };
  return { verdict, message: `synthetic ${verdict}`, from: 0, to: 0, canary: figures, stable: figures, checks: [] };
}

/** Drives the pure machine through commands and remembers every result. */
class Driver {
  state: RolloutState;
  last!: TransitionResult;
  readonly plan: CompiledPlan;

  constructor(plan: RolloutPlan) {
    this.plan = compilePlan(plan);
    this.state = initialState(this.plan);
  }

  run(command: RolloutCommand, now: number, verdict?: Health["verdict"]): TransitionResult {
    this.last = transition(this.plan, this.state, command, now, verdict === undefined ? undefined : health(verdict));
    this.state = this.last.state;
    return this.last;
  }

  tick(now: number, verdict?: Health["verdict"]): TransitionResult {
    return this.run({ type: "tick" }, now, verdict);
  }

  get position(): [string, number, number] {
    return [this.state.phase, this.state.stepIndex, this.state.weight];
  }
}

const analysed = { maxErrorRate: 5, interval: "1m", window: "5m" } as const;

describe("canary steps", () => {
  it("starts at the first step, holds it, then moves on and promotes after the last", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 25, pause: "10m" },
      ],
    });
    const start = d.run({ type: "start" }, 0);
    expect(start.accepted).toBe(true);
    expect(start.effects).toEqual([{ type: "setWeight", weight: 5 }]);
    expect(start.events.map((e) => e.type)).toEqual(["started", "step"]);
    expect(d.position).toEqual(["progressing", 0, 5]);
    expect(nextTickAt(d.plan, d.state)).toBe(10 * MIN);

    expect(d.tick(10 * MIN - 1).events).toEqual([]);
    expect(d.position).toEqual(["progressing", 0, 5]);
    d.tick(10 * MIN);
    expect(d.position).toEqual(["progressing", 1, 25]);
    expect(d.last.events[0]).toMatchObject({ type: "step", reason: "holdElapsed", previousWeight: 5, weight: 25 });
    d.tick(20 * MIN);
    expect(d.position).toEqual(["promoted", 2, 100]);
    expect(d.last.effects).toEqual([{ type: "setWeight", weight: 100 }]);
    expect(isFinal(d.state)).toBe(true);
    expect(nextTickAt(d.plan, d.state)).toBeNull();
  });

  it("passes through steps without a hold in one transition and sets the weight once", () => {
    const d = new Driver({ steps: [{ weight: 1 }, { weight: 5 }, { weight: 10, pause: "5m" }] });
    const r = d.run({ type: "start" }, 0);
    expect(r.effects).toEqual([{ type: "setWeight", weight: 10 }]);
    expect(r.events.map((e) => [e.type, e.reason, e.weight])).toEqual([
      ["started", "operator", 0],
      ["step", "operator", 1],
      ["step", "noHold", 5],
      ["step", "noHold", 10],
    ]);
  });

  it("sets the router's weight on start even when the first step is 0 % (deploy dark first, seed 003)", () => {
    const d = new Driver({
      steps: [
        { weight: 0, pause: "manual" },
        { weight: 10, pause: "1h" },
      ],
    });
    expect(d.run({ type: "start" }, 0).effects).toEqual([{ type: "setWeight", weight: 0 }]);
    expect(d.position).toEqual(["paused", 0, 0]);
    expect(d.state.pauseReason).toBe("step");
    expect(nextTickAt(d.plan, d.state)).toBeNull();
    d.run({ type: "resume" }, 5 * MIN);
    expect(d.position).toEqual(["progressing", 1, 10]);
  });

  it("ends at the last weight with finish: hold, and can still be promoted fully", () => {
    const d = new Driver({
      steps: [
        { weight: 10, pause: "60m" },
        { weight: 50, pause: "240m" },
      ],
      finish: "hold",
    });
    d.run({ type: "start" }, 0);
    d.tick(60 * MIN);
    d.tick(300 * MIN);
    expect(d.position).toEqual(["completed", 2, 50]);
    expect(isFinal(d.state)).toBe(false);
    d.run({ type: "promoteFull" }, 301 * MIN);
    expect(d.position).toEqual(["promoted", 2, 100]);
  });
});

describe("analysis gates", () => {
  const plan: RolloutPlan = {
    steps: [
      { weight: 5, pause: "5m" },
      { weight: 25, pause: "5m" },
    ],
    analysis: analysed,
  };

  it("asks for checks every interval over the step's span, and advances at the end of the hold only on a pass", () => {
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    expect(d.position).toEqual(["analysing", 0, 5]);
    expect(analysisRequest(d.plan, d.state, MIN - 1)).toBeUndefined();
    expect(analysisRequest(d.plan, d.state, MIN)?.query).toEqual({ windowMs: 5 * MIN, since: 0, now: MIN });
    for (let t = 1; t <= 4; t++) d.tick(t * MIN, "pass");
    expect(d.state.checks.passed).toBe(4);
    expect(d.position).toEqual(["analysing", 0, 5]);
    // The hold is over, but without a verdict nothing advances.
    d.tick(5 * MIN);
    expect(d.position).toEqual(["analysing", 0, 5]);
    d.tick(5 * MIN, "pass");
    expect(d.position).toEqual(["analysing", 1, 25]);
    expect(d.last.events.map((e) => [e.type, e.reason])).toEqual([
      ["check", "schedule"],
      ["step", "analysisPassed"],
    ]);
    expect(analysisRequest(d.plan, d.state, 6 * MIN)?.query.since).toBe(5 * MIN);
  });

  it("checks at the end of a hold that is not a whole number of intervals, and moves on then, not at the next interval", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "90s" },
        { weight: 25, pause: "5m" },
      ],
      analysis: analysed,
    });
    d.run({ type: "start" }, 0);
    d.tick(MIN, "pass");
    expect(analysisRequest(d.plan, d.state, 1.5 * MIN)?.query.now).toBe(1.5 * MIN);
    d.tick(1.5 * MIN, "pass");
    expect(d.position).toEqual(["analysing", 1, 25]);
  });

  it("takes a health that is not one (null, a string, an unknown verdict) as no verdict: nothing moves, nothing is counted, nothing throws", () => {
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    for (const junk of [null, "pass", { ...health("pass"), verdict: "maybe" }]) {
      const r = transition(d.plan, d.state, { type: "tick" }, 5 * MIN, junk as unknown as Health);
      expect(r.accepted).toBe(true);
      expect(r.state.checks).toEqual({ passed: 0, failed: 0, inconclusive: 0 });
      expect([r.state.phase, r.state.stepIndex]).toEqual(["analysing", 0]);
    }
  });

  it("aborts at the first failed check with the default failure limit, at once, with the figures", () => {
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    const r = d.tick(MIN, "fail");
    expect(d.position).toEqual(["aborted", 0, 0]);
    expect(r.effects).toEqual([{ type: "setWeight", weight: 0 }]);
    const aborted = r.events.find((e) => e.type === "aborted");
    expect(aborted).toMatchObject({ reason: "analysisFailed", previousWeight: 5 });
    expect(aborted?.health?.verdict).toBe("fail");
    expect(d.state.abortReason).toBe("synthetic fail");
    expect(isFinal(d.state)).toBe(true);
  });

  it("counts consecutive failures up to failureLimit; a pass in between resets them", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "10m" }], analysis: { ...analysed, failureLimit: 2 } });
    d.run({ type: "start" }, 0);
    d.tick(1 * MIN, "fail");
    d.tick(2 * MIN, "pass");
    d.tick(3 * MIN, "fail");
    expect(d.position).toEqual(["analysing", 0, 5]);
    expect(d.state.consecutiveFailures).toBe(1);
    d.tick(4 * MIN, "fail");
    expect(d.position).toEqual(["aborted", 0, 0]);
  });

  it("does not advance while the gate check fails below the limit, and re-checks every interval", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "2m" }], analysis: { ...analysed, failureLimit: 3 } });
    d.run({ type: "start" }, 0);
    d.tick(2 * MIN, "fail");
    expect(d.position).toEqual(["analysing", 0, 5]);
    expect(nextTickAt(d.plan, d.state)).toBe(3 * MIN);
    d.tick(3 * MIN, "pass");
    expect(d.position).toEqual(["promoted", 1, 100]);
  });

  it("ignores inconclusive checks during the hold, and pauses on an inconclusive gate", () => {
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    for (let t = 1; t <= 4; t++) d.tick(t * MIN, "inconclusive");
    expect(d.position).toEqual(["analysing", 0, 5]);
    d.tick(5 * MIN, "inconclusive");
    expect(d.position).toEqual(["paused", 0, 5]);
    expect(d.state.pauseReason).toBe("inconclusive");
    expect(d.last.events.at(-1)).toMatchObject({ type: "paused", reason: "inconclusive" });
    // Checks go on while paused; a later pass continues by itself.
    d.tick(6 * MIN, "inconclusive");
    expect(d.position).toEqual(["paused", 0, 5]);
    d.tick(7 * MIN, "pass");
    expect(d.position).toEqual(["analysing", 1, 25]);
  });

  it("moves on from an inconclusive gate with onInconclusive: continue", () => {
    const d = new Driver({ ...plan, analysis: { ...analysed, onInconclusive: "continue" } });
    d.run({ type: "start" }, 0);
    d.tick(5 * MIN, "inconclusive");
    expect(d.position).toEqual(["analysing", 1, 25]);
    expect(d.last.events.at(-1)).toMatchObject({ type: "step", reason: "inconclusive" });
  });

  it("keeps analysing a manual step in the background and aborts on failure", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "manual" }], analysis: analysed });
    d.run({ type: "start" }, 0);
    expect(nextTickAt(d.plan, d.state)).toBe(MIN);
    d.tick(MIN, "pass");
    expect(d.position).toEqual(["paused", 0, 5]);
    d.tick(2 * MIN, "fail");
    expect(d.position).toEqual(["aborted", 0, 0]);
  });

  it("runs one check per tick after a long clock jump and never skips a step's hold", () => {
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    d.tick(10 * 60 * MIN, "pass");
    // The first step ends; the second starts now and holds its full time.
    expect(d.position).toEqual(["analysing", 1, 25]);
    expect(d.state.holdUntil).toBe(10 * 60 * MIN + 5 * MIN);
  });
});

describe("operator controls", () => {
  it("pause keeps the remaining hold; resume continues it", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "10m" }] });
    d.run({ type: "start" }, 0);
    expect(d.run({ type: "pause" }, 3 * MIN).accepted).toBe(true);
    expect(d.position).toEqual(["paused", 0, 5]);
    expect(d.state.holdRemainingMs).toBe(7 * MIN);
    expect(statusOf(d.plan, d.state, 50 * MIN, { stable: "v1", canary: "v2" }).holdRemainingMs).toBe(7 * MIN);
    d.tick(50 * MIN);
    expect(d.position).toEqual(["paused", 0, 5]);
    d.run({ type: "resume" }, 60 * MIN);
    expect(d.position).toEqual(["progressing", 0, 5]);
    expect(d.state.holdUntil).toBe(67 * MIN);
    d.tick(67 * MIN);
    expect(d.position).toEqual(["promoted", 1, 100]);
  });

  it("resume keeps the check that fell due during the pause: it runs at the next tick, not at the end of the remaining hold", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 25, pause: "10m" },
      ],
      analysis: analysed,
    });
    d.run({ type: "start" }, 0);
    expect(d.state.nextCheckAt).toBe(MIN);
    d.run({ type: "pause" }, 0.5 * MIN);
    d.run({ type: "resume" }, 20 * MIN);
    expect(d.state.holdUntil).toBe(29.5 * MIN);
    expect(d.state.nextCheckAt).toBe(MIN);
    d.tick(20 * MIN, "pass");
    expect(d.state.checks.passed).toBe(1);
  });

  it("resume at the instant a failed check ended the hold asks for no second check at that instant (one failure is not counted twice)", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 25, pause: "10m" },
      ],
      analysis: { ...analysed, failureLimit: 2 },
    });
    d.run({ type: "start" }, 0);
    for (let m = 1; m < 10; m++) d.tick(m * MIN, "pass");
    d.tick(10 * MIN, "fail");
    expect([d.state.phase, d.state.consecutiveFailures, d.state.nextCheckAt]).toEqual(["analysing", 1, 11 * MIN]);
    d.run({ type: "pause" }, 10 * MIN);
    expect(d.state.holdRemainingMs).toBe(0);
    d.run({ type: "resume" }, 10 * MIN);
    // The step waits for its scheduled check, exactly as if it had never been paused.
    expect(d.state.nextCheckAt).toBe(11 * MIN);
    expect(nextTickAt(d.plan, d.state)).toBe(11 * MIN);
    expect(analysisRequest(d.plan, d.state, 10 * MIN)).toBeUndefined();
    d.tick(10 * MIN, "fail");
    expect([d.state.phase, d.state.consecutiveFailures]).toEqual(["analysing", 1]);
    d.tick(11 * MIN, "pass");
    expect(d.position).toEqual(["analysing", 1, 25]);
  });

  it("promote skips the rest of the hold; promoteFull skips every remaining step", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "1h" },
        { weight: 25, pause: "1h" },
        { weight: 50, pause: "1h" },
      ],
    });
    d.run({ type: "start" }, 0);
    d.run({ type: "promote" }, MIN);
    expect(d.position).toEqual(["progressing", 1, 25]);
    expect(d.last.events[0]).toMatchObject({ type: "step", reason: "operator" });
    d.run({ type: "promoteFull" }, 2 * MIN);
    expect(d.position).toEqual(["promoted", 3, 100]);
  });

  it("rejects commands that do not apply, without throwing and without changing the state", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "1h" }] });
    const before = d.state;
    const rejected: Array<[RolloutCommand, RegExp]> = [
      [{ type: "pause" }, /cannot pause: the rollout is idle/],
      [{ type: "resume" }, /cannot resume/],
      [{ type: "promote" }, /cannot promote/],
      [{ type: "promoteFull" }, /cannot promote/],
      [{ type: "retry" }, /cannot retry/],
      [{ type: "launch" } as unknown as RolloutCommand, /unknown command "launch"/],
      [null as unknown as RolloutCommand, /a command is an object/],
    ];
    for (const [command, message] of rejected) {
      const r = d.run(command, 0);
      expect(r.accepted).toBe(false);
      expect(r.rejection).toMatch(message);
      expect(r.state).toBe(before);
      expect(r.effects).toEqual([]);
    }
    expect(transition(d.plan, d.state, { type: "start" }, Number.NaN).rejection).toMatch(/finite/);
    expect(transition(undefined as unknown as CompiledPlan, d.state, { type: "start" }, 0).rejection).toMatch(/compilePlan/);
    expect(transition(d.plan, null as unknown as RolloutState, { type: "start" }, 0).rejection).toMatch(/invalid state/);
    d.run({ type: "start" }, 0);
    expect(d.run({ type: "start" }, 1).rejection).toMatch(/cannot start: the rollout is progressing/);
    expect(d.run({ type: "resume" }, 1).accepted).toBe(false);
  });

  it("abort is immediate; retry starts over from the first step", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "1h" },
        { weight: 25, pause: "1h" },
      ],
      analysis: analysed,
    });
    d.run({ type: "start" }, 0);
    d.tick(60 * MIN, "pass");
    d.tick(61 * MIN, "fail");
    expect(d.position).toEqual(["aborted", 1, 0]);
    expect(d.state.checks).toEqual({ passed: 1, failed: 1, inconclusive: 0 });
    expect(d.run({ type: "abort" }, 62 * MIN).rejection).toMatch(/cannot abort: the rollout is aborted/);
    d.run({ type: "retry" }, 70 * MIN);
    expect(d.position).toEqual(["analysing", 0, 5]);
    expect(d.state.checks).toEqual({ passed: 0, failed: 0, inconclusive: 0 });
    expect(d.state.abortReason).toBeNull();
    expect(d.state.startedAt).toBe(70 * MIN);
  });

  it("abort works from idle (the canary goes to 0 %) and keeps the operator's reason", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "1h" }] });
    const r = d.run({ type: "abort", reason: "not today" }, 0);
    expect(r.effects).toEqual([{ type: "setWeight", weight: 0 }]);
    expect(d.state.abortReason).toBe("not today");
    expect(d.position).toEqual(["aborted", 0, 0]);
  });
});

describe("rollback", () => {
  it("steps down through the weights already taken with rollback: stepped; a second abort goes to 0 at once", () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 1, pause: "1m" },
        { weight: 5, pause: "1m" },
        { weight: 25, pause: "1m" },
        { weight: 50, pause: "1h" },
      ],
      rollback: "stepped",
      rollbackInterval: "30s",
    };
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    for (let t = 1; t <= 3; t++) d.tick(t * MIN);
    expect(d.position).toEqual(["progressing", 3, 50]);
    d.run({ type: "abort", reason: "p99 alarm" }, 4 * MIN);
    expect(d.position).toEqual(["rollingBack", 3, 25]);
    expect(d.last.effects).toEqual([{ type: "setWeight", weight: 25 }]);
    const weights: number[] = [];
    for (let t = 4 * MIN + 30_000; d.state.phase === "rollingBack"; t += 30_000) {
      d.tick(t);
      weights.push(d.state.weight);
    }
    expect(weights).toEqual([5, 1, 0]);
    expect(d.position).toEqual(["aborted", 3, 0]);
    expect(d.state.abortReason).toBe("p99 alarm");

    const again = new Driver(plan);
    again.run({ type: "start" }, 0);
    for (let t = 1; t <= 3; t++) again.tick(t * MIN);
    again.run({ type: "abort" }, 4 * MIN);
    again.run({ type: "abort", reason: "now" }, 4 * MIN + 1);
    expect(again.position).toEqual(["aborted", 3, 0]);
  });

  it("lets an abort flip a promotion back within the rollback window, and not after", () => {
    const plan: RolloutPlan = { steps: [{ weight: 50, pause: "10m" }], rollbackWindow: "15m" };
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    d.tick(10 * MIN);
    expect(d.position).toEqual(["promoted", 1, 100]);
    expect(isFinal(d.state)).toBe(false);
    expect(nextTickAt(d.plan, d.state)).toBe(25 * MIN);
    const flip = d.run({ type: "abort", reason: "customer reports" }, 20 * MIN);
    expect(flip.effects).toEqual([{ type: "setWeight", weight: 0 }]);
    expect(d.position).toEqual(["aborted", 1, 0]);

    const late = new Driver(plan);
    late.run({ type: "start" }, 0);
    late.tick(10 * MIN);
    late.tick(25 * MIN);
    expect(late.last.events.map((e) => e.type)).toEqual(["windowClosed"]);
    expect(isFinal(late.state)).toBe(true);
    expect(late.run({ type: "abort" }, 26 * MIN).rejection).toMatch(/the promotion is final/);
  });

  it("flips back at once within the rollback window with rollback: stepped too (regression: it stepped down from 100 %)", () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 10, pause: "1m" },
        { weight: 50, pause: "1m" },
      ],
      rollback: "stepped",
      rollbackWindow: "15m",
      analysis: { maxErrorRate: 5, interval: "1m" },
    };
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    d.tick(MIN, "pass");
    d.tick(2 * MIN, "pass");
    expect(d.position).toEqual(["promoted", 2, 100]);
    const flip = d.run({ type: "abort", reason: "customer reports" }, 3 * MIN);
    expect(flip.effects).toEqual([{ type: "setWeight", weight: 0 }]);
    expect(flip.events.map((e) => e.type)).toEqual(["aborted"]);
    expect(d.position).toEqual(["aborted", 2, 0]);
    // A failed check in the window flips back at once as well.
    const checked = new Driver(plan);
    checked.run({ type: "start" }, 0);
    checked.tick(MIN, "pass");
    checked.tick(2 * MIN, "pass");
    checked.tick(3 * MIN, "fail");
    expect(checked.position).toEqual(["aborted", 2, 0]);
    // Before promotion the same plan still steps down.
    const early = new Driver(plan);
    early.run({ type: "start" }, 0);
    early.tick(MIN, "pass");
    early.run({ type: "abort" }, MIN + 1);
    expect(early.position).toEqual(["rollingBack", 1, 10]);
  });

  it("says in the promotion's event what it changed and whether a rollback window follows", () => {
    const promoted = (plan: RolloutPlan) => {
      const d = new Driver(plan);
      d.run({ type: "start" }, 0);
      d.tick(10 * MIN, "pass");
      return d.last.events.find((e) => e.type === "promoted");
    };
    expect(promoted({ steps: [{ weight: 50, pause: "10m" }], rollbackWindow: "15m" })).toMatchObject({
      message: "promoted to 100%; rollback window 15m",
      previousWeight: 50,
      weight: 100,
    });
    const direct = promoted({ steps: [{ weight: 50, pause: "10m" }] });
    expect([direct?.message, direct?.previousWeight]).toEqual(["promoted to 100%", 50]);
    expect(promoted({ steps: [{ weight: 50, pause: "10m" }], analysis: analysed })?.health?.verdict).toBe("pass");
  });

  it("keeps analysing during the rollback window and flips back on failure", () => {
    const d = new Driver({ steps: [{ weight: 50, pause: "10m" }], rollbackWindow: "15m", analysis: analysed });
    d.run({ type: "start" }, 0);
    d.tick(10 * MIN, "pass");
    expect(d.position).toEqual(["promoted", 1, 100]);
    expect(analysisRequest(d.plan, d.state, 11 * MIN)?.query).toEqual({ windowMs: 5 * MIN, since: 10 * MIN, now: 11 * MIN });
    d.tick(11 * MIN, "pass");
    d.tick(12 * MIN, "fail");
    expect(d.position).toEqual(["aborted", 1, 0]);
  });
});

describe("blue-green", () => {
  it("previews at 0 %, waits at a manual gate, switches atomically, and keeps a rollback window", () => {
    const d = new Driver({
      strategy: "blueGreen",
      steps: [
        { weight: 0, pause: "10m", analysis: { maxErrorRate: 1, minRequests: 20 } },
        { weight: 0, pause: "manual" },
      ],
      rollbackWindow: "30m",
    });
    d.run({ type: "start" }, 0);
    expect(d.position).toEqual(["preview", 0, 0]);
    d.tick(10 * MIN, "pass");
    expect(d.position).toEqual(["paused", 1, 0]);
    const sw = d.run({ type: "promote" }, 12 * MIN);
    expect(sw.effects).toEqual([{ type: "setWeight", weight: 100 }]);
    expect(d.position).toEqual(["promoted", 2, 100]);
    d.run({ type: "abort" }, 20 * MIN);
    expect(d.position).toEqual(["aborted", 2, 0]);
  });

  it("previews only in a blue-green plan: a canary step at 0 % progresses, or analyses", () => {
    const canary = new Driver({ steps: [{ weight: 0, pause: "10m" }, { weight: 50 }] });
    canary.run({ type: "start" }, 0);
    expect(canary.position).toEqual(["progressing", 0, 0]);
    const analysedCanary = new Driver({ steps: [{ weight: 0, pause: "10m", analysis: { maxErrorRate: 1 } }, { weight: 50 }] });
    analysedCanary.run({ type: "start" }, 0);
    expect(analysedCanary.position).toEqual(["analysing", 0, 0]);
  });

  it("aborts a preview whose smoke checks fail", () => {
    const d = new Driver({ strategy: "blueGreen", steps: [{ weight: 0, pause: "10m", analysis: { maxErrorRate: 1 } }] });
    d.run({ type: "start" }, 0);
    d.tick(MIN, "fail");
    expect(d.position).toEqual(["aborted", 0, 0]);
  });
});

describe("state is plain JSON", () => {
  it("restores from JSON mid-hold and continues with the remaining time", () => {
    const plan: RolloutPlan = {
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 25, pause: "10m" },
      ],
      analysis: analysed,
    };
    const d = new Driver(plan);
    d.run({ type: "start" }, 0);
    d.tick(MIN, "pass");
    d.tick(2 * MIN, "pass");
    const saved = JSON.stringify(d.state);
    const restored = new Driver(plan);
    restored.state = JSON.parse(saved) as RolloutState;
    expect(checkState(restored.plan, restored.state)).toEqual([]);
    for (const driver of [d, restored]) {
      for (let t = 3; t <= 10; t++) driver.tick(t * MIN, "pass");
    }
    expect(restored.state).toEqual(d.state);
    expect(restored.position).toEqual(["analysing", 1, 25]);
    expect(restored.state.stepStartedAt).toBe(10 * MIN);
  });

  it("refuses a state made for another plan, or a corrupted one", () => {
    const a = new Driver({ steps: [{ weight: 5, pause: "10m" }] });
    const b = compilePlan({ steps: [{ weight: 6, pause: "10m" }] });
    a.run({ type: "start" }, 0);
    expect(checkState(b, a.state).map((p) => [p.code, p.path])).toContainEqual(["conflict", "state.plan"]);
    expect(transition(b, a.state, { type: "tick" }, 1).accepted).toBe(false);
    const corrupt = { ...a.state, weight: 7 };
    expect(checkState(a.plan, corrupt).map((p) => [p.code, p.path])).toEqual([["conflict", "state.weight"]]);
    expect(checkState(a.plan, "{}").map((p) => p.code)).toEqual(["type"]);
    expect(checkState(a.plan, { ...a.state, phase: "sleeping", stepIndex: 9 }).map((p) => p.path)).toEqual(["state.phase", "state.stepIndex"]);
  });

  it("refuses a restored weight or rollback weight that is not a number from 0 to 100 (out_of_range, type), and takes both ends", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "10m" }] });
    const codes = (state: object) => checkState(d.plan, state).map((p) => [p.code, p.path]);
    for (const weight of [-1, 100.5, Number.NaN, Number.POSITIVE_INFINITY, "5", null]) {
      expect(codes({ ...d.state, weight })).toEqual([["out_of_range", "state.weight"]]);
    }
    for (const rollbackWeights of [[-1], [101], [Number.NaN], ["5"], "5", null]) {
      expect(codes({ ...d.state, rollbackWeights })).toEqual([["type", "state.rollbackWeights"]]);
    }
    expect(codes({ ...d.state, rollbackWeights: [0, 50, 100] })).toEqual([]);
    // 0 and 100 are weights: an idle state has 0, a promoted one 100.
    expect(codes(d.state)).toEqual([]);
    expect(codes({ ...d.state, phase: "promoted", weight: 100, stepIndex: 1 })).toEqual([]);
  });

  it("refuses a state that could never move on (regression: a hold without its end, or an analysed step without its next check, was accepted and stalled)", () => {
    const d = new Driver({
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 10, pause: "10m" },
      ],
      analysis: analysed,
      rollbackWindow: "5m",
    });
    d.run({ type: "start" }, 0);
    const paths = (state: RolloutState): string[] => checkState(d.plan, state).map((p) => p.path);
    expect(paths({ ...d.state, holdUntil: null })).toEqual(["state.holdUntil"]);
    expect(paths({ ...d.state, nextCheckAt: null })).toEqual(["state.nextCheckAt"]);
    expect(nextTickAt(d.plan, { ...d.state, nextCheckAt: null })).toBeNull(); // what made it stall
    d.run({ type: "pause" }, MIN);
    expect(paths(d.state)).toEqual([]);
    expect(paths({ ...d.state, holdRemainingMs: null })).toEqual(["state.holdRemainingMs"]);
    d.run({ type: "promoteFull" }, 2 * MIN);
    expect(d.position).toEqual(["promoted", 2, 100]);
    expect(paths({ ...d.state, nextCheckAt: null })).toEqual(["state.nextCheckAt"]);
    expect(transition(d.plan, { ...d.state, nextCheckAt: null }, { type: "tick" }, 3 * MIN).accepted).toBe(false);
  });

  it("increments the revision with every accepted change and only then", () => {
    const d = new Driver({ steps: [{ weight: 5, pause: "10m" }] });
    d.run({ type: "start" }, 0);
    expect(d.state.revision).toBe(1);
    d.tick(MIN);
    expect(d.state.revision).toBe(1);
    d.run({ type: "pause" }, 2 * MIN);
    expect(d.state.revision).toBe(2);
    d.run({ type: "pause" }, 3 * MIN);
    expect(d.state.revision).toBe(2);
  });
});

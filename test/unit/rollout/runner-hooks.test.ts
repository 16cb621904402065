/**
 * The runner's hooks for shared stores: `commit` (a compare-and-set that may refuse, fail, or answer later),
 * `beforeCheck` (skip a due check on stale data), `adopt` (another controller advanced the state), `send` and
 * `settled` (asynchronous commits, serialised with the timer ticks).
 */
import { afterEach, describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import {
  type AnalysisRequest,
  type Rollout,
  type RolloutChange,
  type RolloutEvent,
  type RolloutOptions,
  type RolloutPlan,
  type RolloutState,
  compilePlan,
  createRollout,
  initialState,
  transition,
} from "../../../src/rollout/index.js";
import { VirtualTime } from "../../../src/rollout/virtual.js";
import { createRouter } from "../../../src/router/index.js";
import { createStats } from "../../../src/stats/index.js";
import type { Logger } from "../../../src/types.js";

const MIN = 60_000;
const T0 = 1_767_225_600_000;

/** A plan without analysis: holds of 10 minutes. */
const timed: RolloutPlan = {
  steps: [
    { weight: 5, pause: "10m" },
    { weight: 25, pause: "10m" },
    { weight: 50, pause: "10m" },
  ],
};
/** A plan with analysis: one check a minute, a 3-minute hold, a rollback window of 5 minutes. */
const analysed: RolloutPlan = {
  steps: [
    { weight: 10, pause: "3m" },
    { weight: 50, pause: "3m" },
  ],
  analysis: { window: "2m", interval: "1m", minRequests: 10, maxErrorRate: 5 },
  rollbackWindow: "5m",
};

interface Deferred {
  readonly change: RolloutChange;
  resolve(stored: boolean): void;
  reject(error: unknown): void;
}

function setup(plan: RolloutPlan, hooks: Partial<Pick<RolloutOptions, "commit" | "beforeCheck" | "retryMs" | "state">> = {}) {
  const time = new VirtualTime(T0);
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2"], window: "30m", resolution: "10s", clock: time.clock });
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
    ...hooks,
  });
  running.push(rollout);
  /** Healthy traffic on both versions for `ms` (10 s slices), time moving on. */
  const traffic = (ms: number): void => {
    for (let t = 0; t < ms; t += 10_000) {
      stats.record({ version: "v2", ok: true, latencyMs: 50, count: 50 }, time.now + 1);
      stats.record({ version: "v1", ok: true, latencyMs: 50, count: 50 }, time.now + 1);
      time.advance(10_000);
    }
  };
  return { time, router, stats, rollout, events, saved, logged, traffic };
}

/** A commit hook that answers when the test says so. */
function manualCommits() {
  const pending: Deferred[] = [];
  const commit = (change: RolloutChange): Promise<boolean> =>
    new Promise<boolean>((resolve, reject) => {
      pending.push({ change, resolve, reject });
    });
  return { pending, commit };
}

/** Lets every promise callback that is ready run (the hooks' answers, the runner's continuations). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const running: Rollout[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.stop();
});

describe("commit: the runner applies only what the store took", () => {
  it("a synchronous commit that stores everything changes nothing: same states, router, events; it sees every change", () => {
    const changes: RolloutChange[] = [];
    const plain = setup(timed);
    const hooked = setup(timed, { commit: (change) => (changes.push(change), true) });
    for (const s of [plain, hooked]) {
      s.rollout.start();
      s.time.advance(25 * MIN);
      s.rollout.pause();
      s.rollout.resume();
      s.time.advance(10 * MIN);
    }
    expect(hooked.rollout.state()).toEqual(plain.rollout.state());
    expect(hooked.events).toEqual(plain.events);
    expect(hooked.saved).toEqual(plain.saved);
    expect(hooked.router.canaryPercent).toBe(plain.router.canaryPercent);
    expect(changes.map((c) => [c.kind, c.command?.type, c.previous.revision, c.state.revision])).toEqual([
      ["transition", "start", 0, 1],
      ["transition", "tick", 1, 2],
      ["transition", "tick", 2, 3],
      ["transition", "pause", 3, 4],
      ["transition", "resume", 4, 5],
      ["transition", "tick", 5, 6],
    ]);
    expect(changes[1]?.effects).toEqual([{ type: "setWeight", weight: 25 }]);
    expect(changes[1]?.events.map((e) => e.type)).toEqual(["step"]);
  });

  it("a refused commit leaves state, router, persistence and events as they were, answers why, and is retried after retryMs", () => {
    let refuse = true;
    const seen: RolloutChange[] = [];
    const { rollout, router, events, saved, time } = setup(timed, { commit: (change) => (seen.push(change), !refuse), retryMs: 30_000 });
    const start = rollout.start();
    expect(start).toMatchObject({ accepted: false, commitFailure: "refused", rejection: expect.stringMatching(/refused/) });
    expect(rollout.state()).toEqual(initialState(compilePlan(timed)));
    expect(router.canaryPercent).toBe(0);
    expect(events).toEqual([]);
    expect(saved).toEqual([]);
    refuse = false;
    expect(rollout.start().accepted).toBe(true);
    expect(router.canaryPercent).toBe(5);
    // The hold ends at 10 min; the store refuses that tick: the step is not taken, and tried again 30 s later.
    refuse = true;
    time.advance(10 * MIN);
    expect(rollout.status()).toMatchObject({ stepIndex: 0, weight: 5, revision: 1 });
    expect(seen.at(-1)).toMatchObject({ kind: "transition", command: { type: "tick" }, previous: { revision: 1 } });
    const attempts = seen.length;
    time.advance(29_999);
    expect(seen.length).toBe(attempts);
    time.advance(1);
    expect(seen.length).toBe(attempts + 1);
    refuse = false;
    time.advance(30_000);
    expect(rollout.status()).toMatchObject({ stepIndex: 1, weight: 25, revision: 2 });
    expect(router.canaryPercent).toBe(25);
    // The step was taken once, at the first tick the store took.
    expect(events.filter((e) => e.type === "step").map((e) => [e.stepIndex, e.at - T0])).toEqual([
      [0, 0],
      [1, 11 * MIN],
    ]);
  });

  it("a commit that throws is a failed commit: nothing applied, reported once, and the recovery is said", () => {
    let fail = true;
    const { rollout, router, events, logged, time } = setup(timed, {
      commit: () => {
        if (fail) throw new Error("store unreachable");
        return true;
      },
      retryMs: 10_000,
    });
    const first = rollout.start();
    expect(first).toMatchObject({ accepted: false, commitFailure: "failed", rejection: expect.stringMatching(/store unreachable/) });
    expect(rollout.start().commitFailure).toBe("failed");
    expect(logged.filter(([level]) => level === "error")).toHaveLength(1);
    fail = false;
    expect(rollout.start().accepted).toBe(true);
    expect(logged.at(-1)).toEqual(["warn", "turnout rollout: commit works again"]);
    expect(router.canaryPercent).toBe(5);
    expect(events.map((e) => e.type)).toEqual(["started", "step"]);
    fail = true;
    time.advance(10 * MIN + 5 * 10_000); // the end of the hold, then five retries every 10 s: all fail
    expect(rollout.status().stepIndex).toBe(0);
    expect(logged.filter(([level]) => level === "error")).toHaveLength(2);
  });

  it("a commit that rejects: send() answers failed, and the state stays", async () => {
    const { rollout, router } = setup(timed, { commit: () => Promise.reject(new Error("connection reset")) });
    const result = await rollout.send({ type: "start" });
    expect(result).toMatchObject({ accepted: false, commitFailure: "failed", rejection: expect.stringMatching(/connection reset/) });
    expect(rollout.status().phase).toBe("idle");
    expect(router.canaryPercent).toBe(0);
  });

  it("a machine rejection is not a commit failure, and is never committed", async () => {
    const seen: RolloutChange[] = [];
    const { rollout } = setup(timed, { commit: (c) => (seen.push(c), true) });
    const result = await rollout.send({ type: "resume" });
    expect(result.accepted).toBe(false);
    expect(result.commitFailure).toBeUndefined();
    expect(result.rejection).toMatch(/cannot resume/);
    expect(seen).toEqual([]);
  });

  it("an asynchronous commit: the control answers pending; the change takes effect when it is stored", async () => {
    const { pending, commit } = manualCommits();
    const { rollout, router, events } = setup(timed, { commit });
    const start = rollout.start();
    expect(start).toMatchObject({ accepted: true, pending: true, status: { phase: "idle" } });
    expect(router.canaryPercent).toBe(0);
    // Busy: a synchronous control is refused, not queued.
    expect(rollout.abort()).toMatchObject({ accepted: false, rejection: expect.stringMatching(/busy/) });
    expect(pending).toHaveLength(1);
    pending[0]?.resolve(true);
    await rollout.settled();
    expect(router.canaryPercent).toBe(5);
    expect(rollout.status().phase).toBe("progressing");
    expect(events.map((e) => e.type)).toEqual(["started", "step"]);
  });

  it("send() queues commands behind a pending commit, in call order, each from the state the one before left", async () => {
    const { pending, commit } = manualCommits();
    const { rollout } = setup(timed, { commit });
    const started = rollout.send({ type: "start" });
    const paused = rollout.send({ type: "pause" });
    const aborted = rollout.send({ type: "abort", reason: "third" });
    await flush();
    expect(pending.map((p) => p.change.command?.type)).toEqual(["start"]);
    pending[0]?.resolve(true);
    await flush();
    expect(pending.map((p) => p.change.command?.type)).toEqual(["start", "pause"]);
    expect(pending[1]?.change.previous.revision).toBe(1);
    pending[1]?.resolve(false); // refused: the abort then starts from the state before the pause
    await flush();
    expect(pending[2]?.change).toMatchObject({ command: { type: "abort" }, previous: { revision: 1, phase: "progressing" } });
    pending[2]?.resolve(true);
    expect((await started).accepted).toBe(true);
    expect(await paused).toMatchObject({ accepted: false, commitFailure: "refused" });
    expect(await aborted).toMatchObject({ accepted: true, status: { phase: "aborted", weight: 0, revision: 2 } });
  });

  it("a tick whose commit is pending holds the clock's later instants: no step is committed twice or skipped", async () => {
    const { pending, commit } = manualCommits();
    const { rollout, router, time, events } = setup(timed, { commit });
    const started = rollout.send({ type: "start" });
    pending[0]?.resolve(true);
    await started;
    // The first hold ends: the tick's commit is pending while the clock runs on past the second hold's end.
    time.advance(10 * MIN);
    expect(pending).toHaveLength(2);
    expect(pending[1]?.change).toMatchObject({ command: { type: "tick" }, previous: { revision: 1, stepIndex: 0 }, state: { stepIndex: 1 } });
    time.advance(25 * MIN); // many timer instants pass while busy: none starts a second commit from revision 1
    expect(pending).toHaveLength(2);
    pending[1]?.resolve(true);
    await rollout.settled();
    expect(router.canaryPercent).toBe(25);
    // The runner is free again: the overdue tick runs at the next timer turn, from the stored state.
    time.advance(0);
    expect(pending).toHaveLength(3);
    expect(pending[2]?.change).toMatchObject({ previous: { revision: 2, stepIndex: 1 }, state: { stepIndex: 2 } });
    pending[2]?.resolve(true);
    await rollout.settled();
    time.advance(10 * MIN);
    pending[3]?.resolve(true);
    await rollout.settled();
    expect(rollout.status()).toMatchObject({ phase: "promoted", weight: 100 });
    const revisions = pending.map((p) => p.change.previous.revision);
    expect(revisions).toEqual([0, 1, 2, 3]); // every commit from the state the previous one stored
    expect(events.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual([0, 1, 2]);
  });

  it("a timer that fires while an operator's command is being committed waits: the tick runs after it, from what it stored", async () => {
    const { pending, commit } = manualCommits();
    const { rollout, time, events } = setup(timed, { commit });
    void rollout.send({ type: "start" });
    pending[0]?.resolve(true);
    await rollout.settled();
    time.advance(10 * MIN - 1_000); // the hold's timer is armed for 1 s from now
    const promoted = rollout.send({ type: "promote" });
    time.advance(5_000); // it fires while the promote is pending: no tick is committed from revision 1
    expect(pending.map((p) => p.change.command?.type)).toEqual(["start", "promote"]);
    pending[1]?.resolve(true);
    expect((await promoted).status).toMatchObject({ stepIndex: 1, revision: 2 });
    await rollout.settled();
    time.advance(0);
    expect(pending).toHaveLength(2); // the tick found step 1's hold just begun: nothing to commit
    expect(events.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual([0, 1]);
    time.advance(10 * MIN);
    expect(pending[2]?.change).toMatchObject({ command: { type: "tick" }, previous: { revision: 2, stepIndex: 1 } });
  });

  it("a timer tick and send() racing for the same due work: one commit, the other runs after it on the new state", async () => {
    const { pending, commit } = manualCommits();
    const { rollout, time } = setup(timed, { commit });
    void rollout.send({ type: "start" });
    pending[0]?.resolve(true);
    await rollout.settled();
    time.advance(10 * MIN); // the timer's tick: commit pending
    const manual = rollout.send({ type: "tick" });
    await flush();
    expect(pending).toHaveLength(2);
    pending[1]?.resolve(true);
    const result = await manual;
    expect(result).toMatchObject({ accepted: true, status: { stepIndex: 1, revision: 2 } });
    expect(pending).toHaveLength(2); // the manual tick found nothing left to do: nothing to commit
  });

  it("stop() while a commit is pending: the change still lands, and no timer is set afterwards", async () => {
    const { pending, commit } = manualCommits();
    const { rollout, time } = setup(timed, { commit });
    rollout.start();
    rollout.stop();
    pending[0]?.resolve(true);
    await rollout.settled();
    expect(rollout.status().phase).toBe("progressing");
    expect(time.size).toBe(0);
  });

  it("reconciles go through commit too: a refused one leaves the router where it is, an accepted one sets it back", () => {
    let refuse = false;
    const seen: RolloutChange[] = [];
    const { rollout, router, events, time } = setup(timed, { commit: (c) => (seen.push(c), !refuse) });
    rollout.start();
    router.setCanaryPercent(40); // someone moved it
    refuse = true;
    rollout.tick();
    expect(seen.at(-1)).toMatchObject({ kind: "reconcile", state: { revision: 1 }, effects: [{ type: "setWeight", weight: 5 }] });
    expect(seen.at(-1)?.command).toBeUndefined();
    expect(seen.at(-1)?.state).toBe(seen.at(-1)?.previous);
    expect(router.canaryPercent).toBe(40);
    expect(events.some((e) => e.type === "weightRestored")).toBe(false);
    refuse = false;
    time.advance(MIN);
    rollout.tick();
    expect(router.canaryPercent).toBe(5);
    expect(events.filter((e) => e.type === "weightRestored")).toHaveLength(1);
    expect(seen.at(-1)?.events.map((e) => e.type)).toEqual(["weightRestored"]);
  });

  it("a restored runner's first reconcile is committed before the router is set (asynchronously too)", async () => {
    const plan = compilePlan(timed);
    const saved = transition(plan, initialState(plan), { type: "start" }, T0).state;
    const { pending, commit } = manualCommits();
    const { rollout, router } = setup(timed, { state: saved, commit });
    expect(router.canaryPercent).toBe(0);
    expect(pending.map((p) => p.change.kind)).toEqual(["reconcile"]);
    expect(rollout.tick().rejection).toMatch(/busy/);
    pending[0]?.resolve(true);
    await rollout.settled();
    expect(router.canaryPercent).toBe(5);
  });
});

describe("beforeCheck: a due check on data that cannot be trusted is skipped, never judged", () => {
  it("a skipped check counts as nothing; the hold's end does not move the step; it is asked again after retryMs", () => {
    let fresh = true;
    const asked: AnalysisRequest[] = [];
    const { rollout, events, traffic } = setup(analysed, { beforeCheck: (due) => (asked.push(due), fresh), retryMs: 15_000 });
    rollout.start();
    traffic(2 * MIN + 10_000); // two checks passed
    expect(rollout.status().checks).toEqual({ passed: 2, failed: 0, inconclusive: 0 });
    fresh = false;
    const before = rollout.state();
    traffic(3 * MIN); // the third check (at the hold's end) and its retries every 15 s: all skipped
    expect(rollout.state()).toEqual(before);
    expect(rollout.status()).toMatchObject({ phase: "analysing", stepIndex: 0, checks: { passed: 2, failed: 0, inconclusive: 0 } });
    expect(events.filter((e) => e.type === "check")).toHaveLength(2);
    const retries = asked.slice(3).map((d) => d.query.now - (asked[2]?.query.now ?? 0));
    expect(retries.slice(0, 3)).toEqual([15_000, 30_000, 45_000]);
    fresh = true;
    traffic(20_000);
    expect(rollout.status()).toMatchObject({ stepIndex: 1, weight: 50, checks: { passed: 3 } });
    const step = events.find((e) => e.type === "step" && e.stepIndex === 1);
    expect(step?.reason).toBe("analysisPassed");
  });

  it("the rollback window does not close past a skipped check", () => {
    let fresh = true;
    const { rollout, traffic } = setup(analysed, { beforeCheck: () => fresh, retryMs: 10_000 });
    rollout.start();
    rollout.promoteFull();
    expect(rollout.status()).toMatchObject({ phase: "promoted", rollbackWindowRemainingMs: 5 * MIN });
    traffic(4 * MIN + 10_000);
    fresh = false;
    traffic(5 * MIN); // the window's last check (at its end) is skipped: the window stays open
    expect(rollout.status().phase).toBe("promoted");
    expect(rollout.state().rollbackUntil).not.toBeNull();
    expect(rollout.abort("still possible").accepted).toBe(true);
  });

  it("an asynchronous beforeCheck is awaited: the stats are read after it (the hook can fetch them)", async () => {
    const order: string[] = [];
    const time = new VirtualTime(T0);
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const stats = createStats({ versions: ["v1", "v2"], window: "30m", resolution: "10s", clock: time.clock });
    const rollout = createRollout(analysed, {
      router,
      clock: time.clock,
      timers: time,
      stats: { window: (q) => (order.push("window"), stats.window(q)) },
      beforeCheck: async () => {
        order.push("gate");
        await Promise.resolve();
        stats.record({ version: "v2", ok: true, latencyMs: 5, count: 100 }, time.now);
        stats.record({ version: "v1", ok: true, latencyMs: 5, count: 100 }, time.now);
        order.push("fetched");
        return true;
      },
    });
    running.push(rollout);
    rollout.start();
    time.advance(MIN);
    expect(rollout.tick().rejection).toMatch(/busy/);
    await rollout.settled();
    expect(order).toEqual(["gate", "fetched", "window"]);
    expect(rollout.status().checks.passed).toBe(1);
  });

  it("a beforeCheck that throws or rejects skips the check, reported once", async () => {
    let calls = 0;
    const { rollout, logged, traffic } = setup(analysed, {
      beforeCheck: () => {
        calls += 1;
        if (calls % 2 === 0) return Promise.reject(new Error("redis down"));
        throw new Error("redis down");
      },
      retryMs: 10_000,
    });
    rollout.start();
    for (let i = 0; i < 18; i++) {
      traffic(10_000);
      await rollout.settled(); // the rejected gate settles before the clock moves on
    }
    expect(calls).toBeGreaterThan(5);
    expect(rollout.status()).toMatchObject({ stepIndex: 0, checks: { passed: 0, failed: 0, inconclusive: 0 } });
    expect(logged.filter(([level]) => level === "error")).toHaveLength(1);
  });

  it("a skipped check still puts a moved weight back", () => {
    const { rollout, router, events, time } = setup(analysed, { beforeCheck: () => false });
    rollout.start();
    router.setCanaryPercent(70);
    time.advance(MIN);
    expect(router.canaryPercent).toBe(10);
    expect(events.map((e) => e.type)).toEqual(["started", "step", "weightRestored"]);
  });
});

describe("adopt: the state another controller stored", () => {
  it("replaces the state without committing, persisting or emitting; the timers follow the new state", () => {
    const plan = compilePlan(timed);
    const seen: RolloutChange[] = [];
    const { rollout, router, events, saved, time } = setup(timed, { commit: (c) => (seen.push(c), true) });
    rollout.start();
    seen.length = 0;
    events.length = 0;
    saved.length = 0;
    // Elsewhere, the rollout moved to the second step at 8 minutes.
    time.advance(8 * MIN);
    const other = JSON.parse(JSON.stringify(transition(plan, rollout.state(), { type: "promote" }, T0 + 8 * MIN).state)) as RolloutState;
    const adopted = rollout.adopt(other);
    expect(adopted).toMatchObject({ accepted: true, status: { stepIndex: 1, weight: 25, revision: 2 } });
    expect(seen).toEqual([]);
    expect(events).toEqual([]);
    expect(saved).toEqual([]);
    expect(router.canaryPercent).toBe(5); // left as it is: the next tick reconciles it
    // The old timer (end of step 0 at 10 min) is gone; the next is the adopted hold's end, 18 min.
    expect((time.nextAt() ?? 0) - T0).toBe(18 * MIN);
    time.advance(MIN);
    rollout.tick();
    expect(router.canaryPercent).toBe(25);
    expect(seen.map((c) => c.kind)).toEqual(["reconcile"]);
    time.advance(9 * MIN);
    expect(rollout.status()).toMatchObject({ stepIndex: 2, revision: 3 });
    // The adopted object is copied: changing it later changes nothing.
    (other as { weight: number }).weight = 99;
    expect(rollout.state().weight).toBe(50);
  });

  it("refuses a state that is not one of this plan's", () => {
    const { rollout } = setup(timed);
    const foreign = initialState(compilePlan({ steps: [{ weight: 7 }] }));
    expect(rollout.adopt(foreign)).toMatchObject({ accepted: false, rejection: expect.stringMatching(/state\.plan/) });
    expect(rollout.adopt({ nonsense: true } as never).accepted).toBe(false);
    expect(rollout.status().phase).toBe("idle");
  });

  it("while a commit is pending, adopt waits for it and then wins (call order with send is kept)", async () => {
    const plan = compilePlan(timed);
    const { pending, commit } = manualCommits();
    const { rollout } = setup(timed, { commit });
    void rollout.send({ type: "start" });
    const started = transition(plan, initialState(plan), { type: "start" }, T0).state;
    const elsewhere = transition(plan, started, { type: "abort", reason: "elsewhere" }, T0).state;
    expect(rollout.adopt(elsewhere)).toMatchObject({ accepted: true, pending: true });
    const after = rollout.send({ type: "retry" });
    pending[0]?.resolve(true);
    await flush();
    expect(pending[1]?.change).toMatchObject({ command: { type: "retry" }, previous: { phase: "aborted", revision: 2 } });
    pending[1]?.resolve(true);
    expect((await after).status).toMatchObject({ phase: "progressing", revision: 3 });
  });
});

describe("a compare-and-set store: refuse, adopt the winner's state from inside the hook, carry on from it", () => {
  it("another controller took the step: the runner adopts its state, takes no step twice, and moves on from there", async () => {
    const plan = compilePlan(timed);
    // The store: one state, written by compare-and-set on its revision.
    let stored = initialState(plan);
    let rollout: Rollout | undefined;
    const commit = async (change: RolloutChange): Promise<boolean> => {
      await Promise.resolve(); // a round trip
      if (change.previous.revision !== stored.revision) {
        rollout?.adopt(stored);
        return false;
      }
      stored = change.state;
      return true;
    };
    const s = setup(timed, { commit });
    rollout = s.rollout;
    await rollout.send({ type: "start" });
    // Meanwhile another controller ends the first hold early (an operator's promote, stored elsewhere).
    stored = transition(plan, stored, { type: "promote" }, T0 + MIN).state;
    s.time.advance(10 * MIN); // our timer: the end of step 0's hold, from the old state: refused, then adopted
    await rollout.settled();
    expect(rollout.state()).toEqual(stored);
    expect(s.events.filter((e) => e.type === "step").map((e) => e.stepIndex)).toEqual([0]); // step 1 was theirs
    s.time.advance(MIN); // step 1 (entered at 1 min) ends at 11 min: ours
    await rollout.settled();
    expect(stored).toMatchObject({ stepIndex: 2, revision: 3 });
    expect(rollout.state()).toEqual(stored);
    expect(s.router.canaryPercent).toBe(50);
  });

  it("send() with something that is not a command answers a rejection", async () => {
    const { rollout } = setup(timed, { commit: () => true });
    expect((await rollout.send(null as never)).accepted).toBe(false);
    expect((await rollout.send({ type: "jump" } as never)).rejection).toMatch(/unknown command/);
  });
});

describe("hook options are validated with the rest", () => {
  it("lists every problem with its path", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const stats = createStats();
    try {
      createRollout(timed, { router, stats, commit: "yes", beforeCheck: 1, retryMs: 0 } as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TurnoutConfigError);
      expect((error as TurnoutConfigError).problems.map((p) => p.path).sort()).toEqual(["options.beforeCheck", "options.commit", "options.retryMs"]);
    }
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CompiledPlan,
  type Rollout,
  type RolloutEvent,
  type RolloutPlan,
  type RolloutState,
  compilePlan,
  createRollout,
  isFinal,
  nextTickAt,
  transition,
} from "../../src/rollout/index.js";
import { VirtualTime } from "../../src/rollout/virtual.js";
import { createRouter } from "../../src/router/index.js";
import { type Stats, createStats } from "../../src/stats/index.js";
import type { Router } from "../../src/types.js";

const MIN = 60_000;
const T0 = 1_767_225_600_000;

const plans: readonly RolloutPlan[] = [
  {
    steps: [{ weight: 1, pause: "10m" }, { weight: 5, pause: "10m" }, { weight: 25, pause: "manual" }, { weight: 50, pause: "10m" }],
    analysis: { window: "5m", interval: "1m", minRequests: 50, maxErrorRateIncrease: 3, maxP99Ratio: 2, failureLimit: 2 },
    rollback: "stepped",
    rollbackInterval: "1m",
    rollbackWindow: "10m",
  },
  {
    steps: [{ weight: 10, pause: "5m" }, { weight: 20 }, { weight: 40, pause: "5m", analysis: false }, { weight: 60, pause: "5m" }],
    analysis: { window: "2m", interval: "30s", minRequests: 100, maxErrorRate: 5, onInconclusive: "continue" },
    finish: "hold",
  },
  {
    strategy: "blueGreen",
    steps: [{ weight: 0, pause: "5m", analysis: { maxErrorRate: 5, minRequests: 20 } }, { weight: 100, pause: "5m" }],
    analysis: { maxErrorRate: 5, minRequests: 100 },
    rollbackWindow: "15m",
  },
];

type Kind = "healthy" | "failing" | "slow" | "none";

/** One controller process: its router, its rollout, the events it saw. Its stats stand for the fleet's shared store. */
interface Controller {
  router: Router;
  rollout: Rollout;
  readonly events: RolloutEvent[];
}

class System {
  readonly time = new VirtualTime(T0);
  readonly stats: Stats;
  readonly controller: Controller;

  constructor(readonly plan: CompiledPlan) {
    this.stats = createStats({ versions: ["v1", "v2"], window: "10m", resolution: "10s", clock: this.time.clock });
    this.controller = { router: freshRouter(), rollout: undefined as unknown as Rollout, events: [] };
    this.controller.rollout = this.connect(undefined);
  }

  connect(state: RolloutState | undefined): Rollout {
    const events = this.controller.events;
    return createRollout(this.plan, {
      router: this.controller.router,
      stats: this.stats,
      clock: this.time.clock,
      timers: this.time,
      onEvent: (e) => events.push(e),
      ...(state === undefined ? {} : { state }),
    });
  }

  /** A process restart: timers gone, a router booted from its config file, the rollout restored from saved JSON. */
  restart(): void {
    const saved = JSON.parse(JSON.stringify(this.controller.rollout.state())) as RolloutState;
    this.controller.rollout.stop();
    this.controller.router = freshRouter();
    this.controller.rollout = this.connect(saved);
  }

  /** `minutes` of traffic at 50 req/s in 10 s slices, split by the router's weight (plus a trickle of explicit v2 traffic). */
  traffic(kind: Kind, minutes: number): void {
    for (let i = 0; i < minutes * 6; i++) {
      const at = this.time.now + 1;
      if (kind !== "none") {
        const n = 500;
        const canary = Math.round((n * this.controller.router.canaryPercent) / 100) + 2;
        const stable = n - canary + 2;
        const canaryErrors = kind === "failing" ? Math.round(canary * 0.2) : Math.round(canary * 0.01);
        const stableErrors = Math.round(stable * 0.01);
        const canaryLatency = kind === "slow" ? 150 : 50;
        this.stats.record({ version: "v2", ok: true, latencyMs: canaryLatency, count: canary - canaryErrors }, at);
        if (canaryErrors > 0) this.stats.record({ version: "v2", ok: false, latencyMs: canaryLatency, count: canaryErrors }, at);
        this.stats.record({ version: "v1", ok: true, latencyMs: 50, count: stable - stableErrors }, at);
        if (stableErrors > 0) this.stats.record({ version: "v1", ok: false, latencyMs: 50, count: stableErrors }, at);
      }
      this.time.advance(10_000);
    }
  }
}

function freshRouter(): Router {
  return createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100 } });
}

interface Real {
  /** Never restarts. */
  readonly steady: System;
  /** Restarts whenever told to; must behave exactly like `steady`. */
  readonly restarted: System;
}
interface Model {
  readonly plan: CompiledPlan;
}

const STEP_PHASES = new Set(["progressing", "analysing", "preview", "paused"]);

function checkInvariants(plan: CompiledPlan, system: System): void {
  const { router, rollout } = system.controller;
  const status = rollout.status();
  if (status.phase !== "idle") expect(router.canaryPercent).toBe(status.weight);
  if (status.phase === "aborted") expect(status.weight).toBe(0);
  if (status.phase === "promoted") expect(status.weight).toBe(100);
  if (STEP_PHASES.has(status.phase)) expect(status.weight).toBe(plan.steps[status.stepIndex]?.weight);
  // Abort is reachable from every state that is not final.
  const state = rollout.state();
  // The runner's timers leave nothing overdue: whatever was due by now has been done.
  const next = nextTickAt(plan, state);
  if (next !== null) expect(next).toBeGreaterThan(system.time.now);
  expect(transition(plan, state, { type: "abort" }, system.time.now).accepted).toBe(!isFinal(state));
}

/** Every automatic step of the steady system happened at or after its hold, and only with a passing analysis. */
function checkSteps(plan: CompiledPlan, events: readonly RolloutEvent[]): void {
  let entered = new Map<number, number>();
  for (const event of events) {
    if (event.type === "started") entered = new Map();
    if (event.type === "step") {
      const previous = event.stepIndex - 1;
      const step = plan.steps[previous];
      if (step !== undefined && event.reason !== "operator" && event.reason !== "noHold") {
        const since = entered.get(previous);
        if (since !== undefined && !step.manual) expect(event.at).toBeGreaterThanOrEqual(since + step.holdMs);
        if (step.analysis !== null) {
          expect(event.health?.verdict === "pass" || (event.health?.verdict === "inconclusive" && step.analysis.onInconclusive === "continue")).toBe(true);
        } else {
          expect(event.reason).toBe("holdElapsed");
        }
      }
      entered.set(event.stepIndex, event.at);
    }
  }
}

function same(real: Real): void {
  expect(real.restarted.controller.rollout.state()).toEqual(real.steady.controller.rollout.state());
  expect(real.restarted.controller.router.canaryPercent).toBe(real.steady.controller.router.canaryPercent);
}

abstract class Cmd implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  abstract act(system: System): unknown;
  run(model: Model, real: Real): void {
    const a = this.act(real.steady);
    const b = this.act(real.restarted);
    expect(b).toEqual(a);
    same(real);
    checkInvariants(model.plan, real.steady);
    checkInvariants(model.plan, real.restarted);
    checkSteps(model.plan, real.steady.controller.events);
  }
  abstract toString(): string;
}

class Traffic extends Cmd {
  constructor(
    readonly kind: Kind,
    readonly minutes: number,
  ) {
    super();
  }
  act(system: System): unknown {
    system.traffic(this.kind, this.minutes);
    return null;
  }
  toString(): string {
    return `traffic(${this.kind}, ${this.minutes}m)`;
  }
}

class Jump extends Cmd {
  constructor(readonly ms: number) {
    super();
  }
  act(system: System): unknown {
    system.time.advance(this.ms);
    return null;
  }
  toString(): string {
    return `jump(${this.ms})`;
  }
}

type Control = "start" | "pause" | "resume" | "promote" | "promoteFull" | "abort" | "retry";

class Operator extends Cmd {
  constructor(readonly control: Control) {
    super();
  }
  act(system: System): unknown {
    const rollout = system.controller.rollout;
    const before = rollout.state();
    const result = this.control === "abort" ? rollout.abort("model") : rollout[this.control]();
    if (this.control === "abort") expect(result.accepted).toBe(!isFinal(before));
    if (!result.accepted) expect(rollout.state()).toEqual(before);
    return result.accepted;
  }
  toString(): string {
    return this.control;
  }
}

class Restart implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    real.restarted.restart();
    same(real);
    checkInvariants(model.plan, real.restarted);
  }
  toString(): string {
    return "restart";
  }
}

const traffic = fc
  .tuple(fc.constantFrom<Kind>("healthy", "healthy", "failing", "slow", "none"), fc.integer({ min: 1, max: 15 }))
  .map(([k, m]) => new Traffic(k, m));
// Listed several times to weigh them: mostly traffic, sometimes an operator, a clock jump or a restart.
const commands = [
  traffic,
  traffic,
  traffic,
  traffic,
  fc.oneof(fc.integer({ min: 1, max: 5 * MIN }), fc.constantFrom(10 * MIN, 3 * 60 * MIN)).map((ms) => new Jump(ms)),
  fc.constantFrom<Control>("start", "pause", "resume", "promote", "promoteFull", "abort", "retry", "retry").map((c) => new Operator(c)),
  fc.constantFrom<Control>("pause", "resume", "promote").map((c) => new Operator(c)),
  fc.constant(new Restart()),
];

describe("the runner, a real router and a real stats under random commands", () => {
  it("keeps the invariants; a controller restarted from its saved state behaves exactly like one that never stopped", () => {
    fc.assert(
      fc.property(fc.constantFrom(...plans), fc.commands(commands, { maxCommands: 30 }), (source, cmds) => {
        const plan = compilePlan(source);
        const real: Real = { steady: new System(plan), restarted: new System(plan) };
        // Every run starts the rollout (later "start"s exercise the rejection).
        fc.modelRun(() => ({ model: { plan }, real }), [new Operator("start"), ...cmds]);
        real.steady.controller.rollout.stop();
        real.restarted.controller.rollout.stop();
      }),
      { numRuns: 200 },
    );
  });
});

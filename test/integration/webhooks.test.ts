/**
 * Webhook gates and notifications against real HTTP servers on 127.0.0.1: a gate that says no, then yes; one that
 * hangs; one that answers 500; notifications that never hold the rollout (even when their server hangs).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type Rollout, type RolloutEvent, type RolloutPlan, type WebhookPayload, createRollout, createRouter, createStats } from "../../src/index.js";
import { type Running, listen, until } from "./helpers.js";

interface Hook extends Running {
  readonly calls: WebhookPayload[];
}

/** A webhook server: records each payload, then answers with `answer(n)` (n counts from 1), or never. */
async function hook(answer: (n: number) => { status: number; body?: string } | "hang"): Promise<Hook> {
  const calls: WebhookPayload[] = [];
  const running = await listen((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      calls.push(JSON.parse(body) as WebhookPayload);
      const a = answer(calls.length);
      if (a === "hang") return;
      res.statusCode = a.status;
      res.end(a.body ?? "");
    });
  });
  return { ...running, calls };
}

const open: Running[] = [];
const rollouts: Rollout[] = [];
afterEach(async () => {
  for (const r of rollouts.splice(0)) r.stop();
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function start(plan: RolloutPlan) {
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2"] });
  const events: RolloutEvent[] = [];
  const rollout = createRollout(plan, { router, stats, retryMs: 100, onEvent: (e) => events.push(e) });
  rollouts.push(rollout);
  rollout.start();
  return { router, rollout, events };
}

describe("webhook gates", () => {
  it("a gate that says no, then yes: the promotion holds and says why, then goes ahead", async () => {
    const confirm = await hook((n) => (n <= 2 ? { status: 403, body: "QA has not signed off" } : { status: 200 }));
    const preStep = await hook(() => ({ status: 204 }));
    const rollout = await hook(() => ({ status: 200 }));
    const audit = await hook(() => ({ status: 200 }));
    open.push(confirm, preStep, rollout, audit);
    const {
      router,
      rollout: r,
      events,
    } = start({
      name: "checkout v2",
      steps: [
        { weight: 10, pause: "150ms" },
        { weight: 40, pause: "150ms" },
      ],
      webhooks: [
        { name: "freeze", type: "confirmRollout", url: rollout.url },
        { name: "smoke", type: "preStep", url: `${preStep.url}/smoke?suite=fast` },
        { name: "qa", type: "confirmPromotion", url: confirm.url, metadata: { team: "payments" } },
        { name: "audit", type: "event", url: audit.url },
      ],
    });
    await until(() => events.some((e) => e.type === "held"), 5000, "the hold");
    expect(r.status().phase).toBe("progressing");
    expect(r.status().held).toMatchObject({
      webhook: "qa",
      type: "confirmPromotion",
      message: 'confirmPromotion gate "qa" answered 403: QA has not signed off',
    });
    expect(router.canaryPercent).toBe(40);
    await until(() => r.status().phase === "promoted", 5000, "the promotion");
    expect(router.canaryPercent).toBe(100);
    expect(r.status().held).toBeUndefined();
    // Said once, though asked twice before the yes.
    expect(events.filter((e) => e.type === "held").map((e) => e.message)).toEqual(['held: confirmPromotion gate "qa" answered 403: QA has not signed off']);
    expect(confirm.calls.length).toBe(3);
    expect(confirm.calls[0]).toMatchObject({
      rollout: "checkout v2",
      webhook: "qa",
      type: "confirmPromotion",
      phase: "progressing",
      step: 1,
      stepCount: 2,
      weight: 40,
      stable: "v1",
      canary: "v2",
      next: { phase: "promoted", step: 2, weight: 100 },
      lastVerdict: null,
      metadata: { team: "payments" },
    });
    expect(rollout.calls.map((c) => c.type)).toEqual(["confirmRollout"]);
    // An event webhook is told of the hold too, once, like the event itself.
    await until(() => audit.calls.some((c) => c.event?.type === "promoted"), 2000, "the promotion's event notification");
    expect(audit.calls.filter((c) => c.event?.type === "held").map((c) => [c.type, c.weight, c.event?.message])).toEqual([
      ["event", 40, 'held: confirmPromotion gate "qa" answered 403: QA has not signed off'],
    ]);
    expect(preStep.calls.map((c) => [c.step, c.next?.step, c.next?.weight])).toEqual([
      [0, 0, 10],
      [0, 1, 40],
    ]);
  });

  it("a gate that hangs holds the start after its time-out and retries; the router is untouched", async () => {
    const hang = await hook(() => "hang");
    open.push(hang);
    const {
      router,
      rollout: r,
      events,
    } = start({
      steps: [{ weight: 10, pause: "1m" }],
      webhooks: [{ name: "change-freeze", type: "confirmRollout", url: hang.url, timeout: "150ms", retries: 1 }],
    });
    await until(() => events.some((e) => e.type === "held"), 5000, "the hold");
    expect(r.status().phase).toBe("idle");
    expect(r.status().held?.message).toBe('confirmRollout gate "change-freeze" did not answer within 150 ms (2 attempts)');
    expect(router.canaryPercent).toBe(0);
    // Asked again without anyone calling start() a second time.
    await until(() => hang.calls.length >= 4, 5000, "the retry");
    expect(r.status().phase).toBe("idle");
  });

  it("a gate that answers 500 is retried, then holds the step", async () => {
    const broken = await hook(() => ({ status: 500, body: "boom" }));
    open.push(broken);
    const { router, rollout: r } = start({
      steps: [
        { weight: 10, pause: "100ms" },
        { weight: 50, pause: "1m" },
      ],
      webhooks: [{ name: "load-test", type: "preStep", url: broken.url, retries: 2 }],
    });
    await until(() => r.status().held !== undefined, 5000, "the hold");
    expect(r.status().held?.message).toBe('preStep gate "load-test" answered 500: boom');
    expect(broken.calls.length).toBe(3); // the first attempt and 2 retries
    expect(r.status().phase).toBe("idle");
    expect(router.canaryPercent).toBe(0);
  });

  it("operators are not gated: promoteFull goes past a gate that says no", async () => {
    const no = await hook(() => ({ status: 409, body: "no" }));
    open.push(no);
    const { rollout: r } = start({ steps: [{ weight: 10, pause: "100ms" }], webhooks: [{ name: "qa", type: "confirmPromotion", url: no.url }] });
    await until(() => r.status().held !== undefined, 5000, "the hold");
    expect(r.promoteFull().accepted).toBe(true);
    expect(r.status().phase).toBe("promoted");
    expect(r.status().held).toBeUndefined();
  });
});

describe("webhook notifications", () => {
  it("never hold the rollout, even when their server hangs; the rollback is told once, with the reason", async () => {
    const hang = await hook(() => "hang");
    const told = await hook(() => ({ status: 200 }));
    const every = await hook(() => ({ status: 200 }));
    open.push(hang, told, every);
    const { rollout: r } = start({
      name: "search v2",
      steps: [{ weight: 10, pause: "50ms" }],
      rollbackWindow: "1m",
      webhooks: [
        { name: "slow", type: "postRollout", url: hang.url, timeout: "5s" },
        { name: "pager", type: "rollback", url: told.url },
        { name: "audit", type: "event", url: every.url },
      ],
    });
    const started = Date.now();
    await until(() => r.status().phase === "promoted", 2000, "the promotion");
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => hang.calls.length === 1, 2000, "the post-rollout notification");
    expect(hang.calls[0]).toMatchObject({ type: "postRollout", phase: "promoted", weight: 100, event: { type: "promoted" } });
    expect(r.abort("latency alarm").accepted).toBe(true);
    await until(() => told.calls.length === 1, 2000, "the rollback notification");
    expect(told.calls[0]).toMatchObject({
      rollout: "search v2",
      type: "rollback",
      phase: "aborted",
      weight: 0,
      event: { type: "aborted", message: "aborted: latency alarm" },
    });
    await until(() => every.calls.length >= 4, 2000, "the event notifications");
    // Sent as they happen, without waiting for each other: they may arrive in any order.
    expect(every.calls.map((c) => c.event?.type).sort()).toEqual(["aborted", "promoted", "started", "step"]);
  });
});

/**
 * A rollout controller for the multi-process test (run with `node --import tsx`, talks to the test over IPC). It
 * reports its events and its leadership; the test kills it with SIGKILL to play a controller that dies mid-step.
 */
import { createRedisStore } from "../../../src/integrations/redis.js";
import { type ClientKind, type Target, connectClient } from "./clients.js";
import type { RolloutPlan } from "../../../src/rollout/types.js";
import type { FromController, ToController } from "./protocol.js";

const id = process.env.TURNOUT_CONTROLLER_ID ?? "controller";
const send = (message: FromController): void => {
  process.send?.(message);
};

// Which client library (TURNOUT_REDIS_CLIENT, default node-redis@5) and where: TURNOUT_REDIS_TARGET (JSON), else TURNOUT_REDIS_URL.
const target: Target = process.env.TURNOUT_REDIS_TARGET
  ? (JSON.parse(process.env.TURNOUT_REDIS_TARGET) as Target)
  : { type: "single", url: process.env.TURNOUT_REDIS_URL ?? "" };
const { client, close: closeClient } = await connectClient((process.env.TURNOUT_REDIS_CLIENT ?? "node-redis@5") as ClientKind, target);
const store = createRedisStore(client, { namespace: process.env.TURNOUT_NAMESPACE ?? "fleet", logger: { warn: () => undefined, error: () => undefined } });
const plan = JSON.parse(process.env.TURNOUT_PLAN ?? "{}") as RolloutPlan;
const controller = store.controlRollout(plan, {
  id,
  name: process.env.TURNOUT_ROLLOUT ?? "default",
  leaseMs: 1000,
  renewMs: 250,
  staleRetryMs: 100,
  stats: { minInstances: Number(process.env.TURNOUT_MIN_INSTANCES ?? "1"), maxAgeMs: 2000 },
  onEvent: (event) => send({ type: "event", controller: id, event }),
  onLeadership: (leading) => send({ type: "leading", controller: id, leading }),
  onError: (error, { stage }) => send({ type: "error", controller: id, stage, message: error instanceof Error ? error.message : String(error) }),
});

process.on("message", (message: ToController) => {
  if (message.type === "start")
    void controller.start().then((r) => send({ type: "started", controller: id, accepted: r.accepted, rejection: r.rejection ?? null }));
  if (message.type === "stop")
    void controller
      .close()
      .then(() => closeClient())
      .finally(() => process.exit(0));
});
await controller.ready;
send({ type: "ready", controller: id, leading: controller.status().leading });

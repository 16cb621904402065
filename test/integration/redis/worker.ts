/**
 * A fleet instance for the multi-process test (run with `node --import tsx`, talks to the test over IPC): a router
 * kept in step with Redis, a stats aggregator fed by synthetic healthy traffic and pushed to Redis, and on request
 * the digest of its decisions for a fixed set of 10,000 keys. bench/redis.ts uses it too (TURNOUT_TRAFFIC,
 * TURNOUT_POLL_MS, TURNOUT_SUBSCRIBE tune it there).
 */
import { createHash } from "node:crypto";
import { createRedisStore } from "../../../src/integrations/redis.js";
import { type ClientKind, type Target, connectClient } from "./clients.js";
import { createRouter } from "../../../src/router/index.js";
import { createStats } from "../../../src/stats/index.js";
import { FALLBACK, FLEET_KEYS, type FromWorker, type ToWorker } from "./protocol.js";

const id = process.env.TURNOUT_WORKER_ID ?? "worker";
const send = (message: FromWorker): void => {
  process.send?.(message);
};

// Which client library (TURNOUT_REDIS_CLIENT, default node-redis@5) and where: TURNOUT_REDIS_TARGET (JSON), else TURNOUT_REDIS_URL.
const target: Target = process.env.TURNOUT_REDIS_TARGET
  ? (JSON.parse(process.env.TURNOUT_REDIS_TARGET) as Target)
  : { type: "single", url: process.env.TURNOUT_REDIS_URL ?? "" };
const { client, close: closeClient } = await connectClient((process.env.TURNOUT_REDIS_CLIENT ?? "node-redis@5") as ClientKind, target);
const store = createRedisStore(client, { namespace: process.env.TURNOUT_NAMESPACE ?? "fleet", logger: { warn: () => undefined, error: () => undefined } });
const router = createRouter(FALLBACK, { revision: 0 });
const sync = store.watchConfig(router, {
  pollMs: Number(process.env.TURNOUT_POLL_MS ?? "250"),
  subscribe: process.env.TURNOUT_SUBSCRIBE !== "0",
  onApply: (a) => send({ type: "applied", worker: id, revision: a.revision, weight: router.canaryPercent, via: a.via, at: Date.now() }),
});
const stats = createStats({ versions: ["v1", "v2"], window: "5s", resolution: "100ms" });
const publisher = store.publishStats(stats, { instance: id, intervalMs: 200, ttlMs: 1500 });

// Healthy synthetic traffic: 50 keyed requests every 20 ms, routed by this instance's router (TURNOUT_TRAFFIC=0: none).
let n = 0;
const traffic = setInterval(() => {
  if (process.env.TURNOUT_TRAFFIC === "0") return;
  for (let i = 0; i < 50; i++) {
    const decision = router.decide({ key: `traffic-${id}-${n++}` });
    stats.recordOutcome(decision, { status: 200, durationMs: 8 + (n % 7) });
  }
}, 20);

function digest(): { revision: number; digest: string } {
  const hash = createHash("sha1");
  for (const key of FLEET_KEYS) hash.update(router.decide({ key }).version).update(",");
  return { revision: router.revision, digest: hash.digest("hex") };
}

process.on("message", (message: ToWorker) => {
  if (message.type === "digest") send({ type: "digest", worker: id, ...digest() });
  if (message.type === "stop") {
    clearInterval(traffic);
    void Promise.all([sync.close(), publisher.close({ remove: true })])
      .then(() => closeClient())
      .finally(() => process.exit(0));
  }
});
await sync.ready;
send({ type: "ready", worker: id, revision: router.revision });

/**
 * A real app for the Prometheus tests: a node:http server that routes each request with a turnout router, answers
 * it (the canary failing a given share of requests), records the outcome in turnout's stats, and exposes them on
 * /metrics with turnout/prometheus — what Prometheus scrapes. Traffic comes over real HTTP from `drive()`.
 */
import { Agent, request } from "node:http";
import { metricsHandler } from "../../../src/integrations/prometheus.js";
import { createRouter } from "../../../src/router/index.js";
import { createStats } from "../../../src/stats/index.js";
import type { Router } from "../../../src/types.js";
import { type Running, listen } from "../helpers.js";

export interface App extends Running {
  readonly router: Router;
  readonly host: string;
}

/** The app: v1 stable, v2 canary failing `canaryErrorPercent` % of its requests. */
export async function startApp(canaryErrorPercent: number): Promise<App> {
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2"] });
  const metrics = metricsHandler({ stats, router });
  let n = 0;
  const running = await listen((req, res) => {
    if (req.url === "/metrics") return metrics(req, res);
    const started = performance.now();
    const key = new URL(req.url ?? "/", "http://app").searchParams.get("user") ?? "";
    const version = router.decide({ key }).version;
    n += 1;
    const ok = version !== "v2" || (n * 7919) % 100 >= canaryErrorPercent;
    res.statusCode = ok ? 200 : 500;
    res.end(version);
    stats.record({ version, ok, latencyMs: performance.now() - started + 2 });
  });
  return { ...running, router, host: `127.0.0.1:${running.port}` };
}

/** Sends about `perSecond` requests a second to each app until `stop()` is called. */
export function drive(apps: readonly App[], perSecond: number): { stop(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let user = 0;
  const timer = setInterval(() => {
    for (const app of apps) {
      for (let i = 0; i < perSecond / 20; i++) {
        user += 1;
        const req = request(`${app.url}/api?user=u${user}`, { agent }, (res) => res.resume());
        req.on("error", () => undefined);
        req.end();
      }
    }
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      agent.destroy();
    },
  };
}

/**
 * The integrations feed the real stats (`createStats`): requests, failures (5xx, thrown errors, upstream down),
 * latency and distinct clients arrive per version, from Express, Koa and the proxy alike.
 */
import { createServer } from "node:http";
import express from "express";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { createStats } from "../../src/stats/index.js";
import type { RouterConfig } from "../../src/types.js";
import { turnout as expressTurnout } from "../../src/integrations/express.js";
import { turnout as koaTurnout } from "../../src/integrations/koa.js";
import { createProxy } from "../../src/integrations/node.js";
import { type Running, listen, memoryLogger, until } from "./helpers.js";

const config: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 50, v2: 50 },
  stickiness: ["header:x-user-id"],
  overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
};

const servers: Running[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** v1 always answers 200; v2 fails every request whose path ends in /fail. */
async function drive(url: string): Promise<void> {
  for (let i = 0; i < 20; i++) await (await fetch(`${url}/ok`, { headers: { "x-user-id": `u${i % 5}` } })).text();
  for (let i = 0; i < 10; i++) await (await fetch(`${url}/fail`, { headers: { "x-canary": "true", "x-user-id": `c${i}` } })).text();
}

function expectNumbers(stats: ReturnType<typeof createStats>, expected: { v1: number; v2: number }) {
  const { versions, totals } = stats.lifetime();
  expect(totals.requests).toBe(30);
  expect((versions.v1?.requests ?? 0) + (versions.v2?.requests ?? 0)).toBe(30);
  expect(versions.v2?.errors).toBe(expected.v2);
  expect(versions.v1?.errors ?? 0).toBe(expected.v1);
  expect(totals.latency?.p50).toBeGreaterThanOrEqual(0);
  expect(totals.clients).toBeGreaterThanOrEqual(10);
}

describe("outcomes reach the real stats", () => {
  it("from Express", async () => {
    const router = createRouter(config);
    const stats = createStats({ versions: ["v1", "v2"] });
    const app = express();
    app.use(expressTurnout(router, { stats, key: (req) => req.get("x-user-id"), logger: memoryLogger() }));
    app.get("/ok", (_req, res) => void res.send("ok"));
    app.get("/fail", (_req, _res) => {
      throw new Error("v2 is broken");
    });
    app.use((_error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send("error"));
    const running = await listen(app.listen(0, "127.0.0.1"));
    servers.push(running);
    await drive(running.url);
    await until(() => stats.lifetime().totals.requests === 30);
    expectNumbers(stats, { v1: 0, v2: 10 });
  });

  it("from Koa", async () => {
    const router = createRouter(config);
    const stats = createStats({ versions: ["v1", "v2"] });
    const app = new Koa();
    app.silent = true;
    app.use(koaTurnout(router, { stats, key: (ctx) => ctx.get("x-user-id") || undefined, logger: memoryLogger() }));
    app.use((ctx) => {
      if (ctx.path === "/fail") throw new Error("v2 is broken");
      ctx.body = "ok";
    });
    const running = await listen(app.listen(0, "127.0.0.1"));
    servers.push(running);
    await drive(running.url);
    await until(() => stats.lifetime().totals.requests === 30);
    expectNumbers(stats, { v1: 0, v2: 10 });
  });

  it("from the proxy, shadow outcomes kept apart in their own stats", async () => {
    const upstream = (fails: boolean) =>
      listen(
        createServer((req, res) => {
          res.statusCode = fails && req.url === "/fail" ? 503 : 200;
          res.end("x");
        }),
      );
    const [v1, v2] = [await upstream(false), await upstream(true)];
    servers.push(v1, v2);
    const router = createRouter({ ...config, mirror: { version: "v2", percent: 100 } });
    const stats = createStats({ versions: ["v1", "v2"] });
    const shadow = createStats({ versions: ["v1", "v2"] });
    const proxy = createProxy(router, {
      upstreams: { v1: v1.url, v2: v2.url },
      stats,
      mirror: { stats: shadow },
      key: (req) => req.headers["x-user-id"] as string | undefined,
      logger: memoryLogger(),
    });
    const running = await listen(proxy);
    servers.push(running);
    await drive(running.url);
    await until(() => stats.lifetime().totals.requests === 30);
    expectNumbers(stats, { v1: 0, v2: 10 });
    await until(() => proxy.counters.mirrorInFlight === 0 && shadow.lifetime().totals.requests === proxy.counters.mirrored);
    expect(shadow.lifetime().versions.v1?.requests ?? 0).toBe(0);
    expect(proxy.counters.mirrored).toBeGreaterThan(0);
    proxy.close();
  });
});

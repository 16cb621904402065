/**
 * What every adapter gets from the framework-neutral engine, checked on real Express 5, Express 4, Koa 3 and Koa 2
 * servers on 127.0.0.1: distinct clients counted from the sticky key by default, one answer for every fault while
 * deciding (the stable version with its pin), and faults inside the router reaching the middleware's logger.
 */
import express from "express";
import express4 from "express4";
import Koa from "koa";
import Koa2 from "koa2";
import { afterEach, describe, expect, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { createStats } from "../../src/stats/index.js";
import type { Router, RouterConfig } from "../../src/types.js";
import { turnout as expressTurnout } from "../../src/integrations/express.js";
import { turnout as koaTurnout } from "../../src/integrations/koa.js";
import type { HttpCounters, TurnoutHttpOptions } from "../../src/integrations/http/types.js";
import { type Running, listen, memoryLogger } from "./helpers.js";

/** Options the tests pass; the functions read a header, whatever the framework hands them. */
interface Options extends Omit<TurnoutHttpOptions<unknown>, "key" | "attributes" | "client"> {
  readonly key?: (header: (name: string) => string | undefined) => string | undefined;
  readonly attributes?: (header: (name: string) => string | undefined) => Record<string, string> | undefined;
}

type Start = (router: Router, options: Options) => Promise<{ url: string; counters: HttpCounters; running: Running }>;

const express5Start =
  (factory: typeof express): Start =>
  async (router, options) => {
    const app = factory();
    const { key, attributes, ...rest } = options;
    const middleware = expressTurnout(router, {
      ...rest,
      ...(key ? { key: (req) => key((name) => req.get(name)) } : {}),
      ...(attributes ? { attributes: (req) => attributes((name) => req.get(name)) } : {}),
    });
    app.use(middleware);
    app.get("/{*rest}", (_req, res) => void res.json({ version: res.locals.turnout?.version, reason: res.locals.turnout?.reason }));
    const running = await listen(app.listen(0, "127.0.0.1"));
    return { url: running.url, counters: middleware.counters, running };
  };

const express4Start: Start = async (router, options) => {
  const app = (express4 as unknown as typeof express)();
  const { key, attributes, ...rest } = options;
  const middleware = expressTurnout(router, {
    ...rest,
    ...(key ? { key: (req) => key((name) => req.get(name)) } : {}),
    ...(attributes ? { attributes: (req) => attributes((name) => req.get(name)) } : {}),
  });
  app.use(middleware);
  app.get("*", (_req, res) => void res.json({ version: res.locals.turnout?.version, reason: res.locals.turnout?.reason }));
  const running = await listen(app.listen(0, "127.0.0.1"));
  return { url: running.url, counters: middleware.counters, running };
};

const koaStart =
  (KoaClass: typeof Koa): Start =>
  async (router, options) => {
    const app = new KoaClass();
    app.silent = true;
    const { key, attributes, ...rest } = options;
    const middleware = koaTurnout(router, {
      ...rest,
      ...(key ? { key: (ctx) => key((name) => ctx.get(name) || undefined) } : {}),
      ...(attributes ? { attributes: (ctx) => attributes((name) => ctx.get(name) || undefined) } : {}),
    });
    app.use(middleware);
    app.use((ctx) => {
      ctx.body = { version: ctx.state.turnout?.version, reason: ctx.state.turnout?.reason };
    });
    const running = await listen(app.listen(0, "127.0.0.1"));
    return { url: running.url, counters: middleware.counters, running };
  };

const frameworks: [string, Start][] = [
  ["Express 5", express5Start(express)],
  ["Express 4", express4Start],
  ["Koa 3", koaStart(Koa)],
  ["Koa 2", koaStart(Koa2 as typeof Koa)],
];

/** The tour's router: sticky on the x-user-id header, v2 a 10 % canary. */
const tourConfig = (extra: Partial<RouterConfig> = {}): RouterConfig => ({
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-user-id"],
  ...extra,
});

/** The pin a response carries is one the router honours for `version`. */
function expectStablePin(router: Router, pin: string | null, version: string): void {
  expect(pin).toMatch(new RegExp(`^${version}~`));
  expect(router.decide({ headers: {}, pin: pin ?? "", now: Date.now() })).toMatchObject({ version, reason: "pinned" });
}

describe.each(frameworks)("the HTTP engine's defaults on %s", (_name, start) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("counts distinct clients from the sticky key when no client option is given (50 users → 50 clients)", async () => {
    const router = createRouter(tourConfig());
    const stats = createStats({ versions: ["v1", "v2"] });
    const server = await start(router, { stats, logger: memoryLogger() });
    running = server.running;
    for (let i = 0; i < 50; i++) await (await fetch(`${server.url}/users`, { headers: { "x-user-id": `user-${i}` } })).text();
    // Each user twice: still 50 clients.
    for (let i = 0; i < 50; i++) await (await fetch(`${server.url}/users`, { headers: { "x-user-id": `user-${i}` } })).text();
    await expect.poll(() => stats.lifetime().totals.requests).toBe(100);
    expect(stats.lifetime().totals.clients).toBe(50);
  });

  it("counts the key function's result as the client when the sticky key is missing", async () => {
    const router = createRouter(tourConfig({ stickiness: ["header:x-user-id", "key"] }));
    const stats = createStats({ versions: ["v1", "v2"] });
    const server = await start(router, { stats, logger: memoryLogger(), key: (header) => header("x-account") });
    running = server.running;
    for (const account of ["a", "b", "c", "a"]) await (await fetch(server.url, { headers: { "x-account": account } })).text();
    await expect.poll(() => stats.lifetime().totals.requests).toBe(4);
    expect(stats.lifetime().totals.clients).toBe(3);
  });

  it("a key or attributes function that throws answers the stable version with its pin, as a fault inside the router does", async () => {
    const config = tourConfig({ split: { v1: 0, v2: 100 } });
    const throwing = createRouter(config, {
      rng: () => {
        throw new Error("rng broke");
      },
    });
    // The router's own fault answer, for comparison: keyless traffic draws from the broken rng.
    const routerFault = throwing.decide({ headers: {} });
    expect(routerFault).toMatchObject({ version: "v1", reason: "error" });
    expect(routerFault.pin).not.toBe("");

    const logger = memoryLogger();
    const server = await start(createRouter(config), {
      logger,
      key: (header) => {
        if (header("x-explode-key") !== undefined) throw new Error("key function broke");
        return undefined;
      },
      attributes: (header) => {
        if (header("x-explode-attributes") !== undefined) throw new Error("attributes function broke");
        return undefined;
      },
    });
    running = server.running;
    for (const trigger of ["x-explode-key", "x-explode-attributes"]) {
      const response = await fetch(server.url, { headers: { [trigger]: "1", "x-user-id": "u-1" } });
      expect(await response.json()).toEqual({ version: "v1", reason: "error" });
      expect(response.headers.get("x-api-version")).toBe("v1");
      // The middleware issues its pins with an expiry: the stable version's pin, honoured as such by the router.
      expectStablePin(throwing, response.headers.get("x-turnout-pin"), "v1");
    }
    expect(server.counters.faults).toBe(2);
    expect(logger.entries.filter((e) => e.level === "error")).toHaveLength(2);
  });

  it("a fault inside the router (a throwing or NaN rng) reaches the middleware's logger, once, and is counted once", async () => {
    for (const rng of [
      () => {
        throw new Error("rng broke");
      },
      () => Number.NaN,
    ]) {
      const routerLogger = memoryLogger();
      const router = createRouter(tourConfig(), { rng, logger: routerLogger });
      const logger = memoryLogger();
      const server = await start(router, { logger });
      running = server.running;
      const response = await fetch(server.url); // keyless: the router draws from rng
      expect(await response.json()).toEqual({ version: "v1", reason: "error" });
      expectStablePin(router, response.headers.get("x-turnout-pin"), "v1");
      expect(server.counters.faults).toBe(1);
      expect(logger.entries).toHaveLength(1);
      expect(logger.entries[0]).toMatchObject({ level: "error", message: expect.stringMatching(/inside the router/) });
      expect(logger.entries[0]?.details?.error).toBeInstanceOf(Error);
      expect(routerLogger.entries.length).toBeGreaterThan(0); // the router's own logger still hears of it
      await running.close();
      running = undefined;
    }
  });
});

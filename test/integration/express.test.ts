/**
 * turnout/express against real Express 5 and Express 4 servers on 127.0.0.1.
 */
import express, { type Express, type Request, type Response } from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { isTurnoutConfigError } from "../../src/errors.js";
import type { Decision, OutcomeRecorder, Router } from "../../src/types.js";
import { type TurnoutExpressOptions, turnout, validate, versioned } from "../../src/integrations/express.js";
import { AFTER_SUNSET, BEFORE, DEPRECATED, baseConfig, retiringConfig, userV1, userV2 } from "./fixtures.js";
import { type Running, listen, memoryLogger, observedStats } from "./helpers.js";

type Factory = typeof express;
const frameworks: [string, Factory][] = [
  ["Express 5", express],
  ["Express 4", express4 as Factory],
];

describe.each(frameworks)("turnout/express on %s", (_name, factory) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(router: Router, options: TurnoutExpressOptions, mount: (app: Express) => void): Promise<string> {
    const app = factory();
    app.use(turnout(router, { logger: memoryLogger(), ...options }));
    mount(app);
    running = await listen(app.listen(0, "127.0.0.1"));
    return running.url;
  }

  const echo = (req: Request, res: Response): void => {
    res.json({ version: res.locals.turnout?.version, reason: res.locals.turnout?.reason });
  };

  it("decides per request, exposes res.locals.turnout and sets the version and pin headers", async () => {
    const router = createRouter(baseConfig());
    const url = await start(router, { clock: () => BEFORE }, (app) => app.get("/users", echo));
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const user = `user-${i % 10}`;
      const response = await fetch(`${url}/users`, { headers: { "x-user-id": user } });
      const body = (await response.json()) as { version: string; reason: string };
      expect(response.status).toBe(200);
      expect(body.reason).toBe("weighted_routing");
      expect(response.headers.get("x-api-version")).toBe(body.version);
      expect(response.headers.get("x-turnout-pin")).toMatch(new RegExp(`^${body.version}~`));
      if (seen.has(user)) expect(body.version).toBe(seen.get(user)); // sticky
      seen.set(user, body.version);
      expect(body.version).toBe(router.decide({ headers: { "x-user-id": user } }).version);
    }
    expect(new Set(seen.values()).size).toBe(2);
  });

  it("routes by query parameter and query: stickiness from the URL, never touching req.query (a getter in Express 5)", async () => {
    const router = createRouter(baseConfig({ explicit: { query: "version" }, stickiness: ["query:tenant"] }));
    const url = await start(router, {}, (app) =>
      app.get("/users", (req, res) => void res.json({ version: res.locals.turnout?.version, reason: res.locals.turnout?.reason, query: req.query })),
    );
    expect(await (await fetch(`${url}/users?version=2&page=3`)).json()).toEqual({
      version: "v2",
      reason: "explicit_version",
      query: { version: "2", page: "3" },
    });
    const sticky = (await (await fetch(`${url}/users?tenant=acme`)).json()) as { version: string; reason: string };
    expect(sticky).toMatchObject({ version: router.decide({ path: "/users?tenant=acme" }).version, reason: "weighted_routing" });
  });

  it("sets X-AB-Test and X-AB-Variant for experiments", async () => {
    const router = createRouter(baseConfig());
    const url = await start(router, { clock: () => BEFORE }, (app) => app.get("/api/checkout", echo));
    const response = await fetch(`${url}/api/checkout`, { headers: { "x-user-id": "user-42" } });
    const expected = router.assign("checkout-flow-v2", "user-42");
    expect(response.headers.get("x-ab-test")).toBe("checkout-flow-v2");
    expect(response.headers.get("x-ab-variant")).toBe(expected?.variant);
  });

  it("percent-encodes experiment names that are not valid header values instead of failing the response", async () => {
    const router = createRouter(baseConfig({ experiments: [{ name: "结账 flow", variants: [{ name: "línea\nnueva", weight: 1 }] }] }));
    const url = await start(router, {}, (app) => app.get("/", echo));
    const response = await fetch(url, { headers: { "x-user-id": "u-1" } });
    expect(response.status).toBe(200);
    expect(decodeURIComponent(response.headers.get("x-ab-test") as string)).toBe("结账 flow");
    expect(decodeURIComponent(response.headers.get("x-ab-variant") as string)).toBe("línea\nnueva");
  });

  it("honours the pin header on the next step of a transaction, even after the split changed", async () => {
    const router = createRouter(baseConfig({ split: { v1: 0, v2: 100 } }));
    const url = await start(router, { clock: () => BEFORE }, (app) => app.post("/payments/:step", echo));
    const create = await fetch(`${url}/payments/create`, { method: "POST" });
    expect(create.headers.get("x-api-version")).toBe("v2");
    const pin = create.headers.get("x-turnout-pin") as string;
    router.setCanaryPercent(0); // a rollback while the transaction is under way
    const authorize = await fetch(`${url}/payments/authorize`, { method: "POST", headers: { "x-turnout-pin": pin } });
    expect(await authorize.json()).toEqual({ version: "v2", reason: "pinned" });
    const fresh = await fetch(`${url}/payments/create`, { method: "POST" });
    expect(fresh.headers.get("x-api-version")).toBe("v1");
  });

  it("sets an HttpOnly SameSite pin cookie when the pin changes, and honours it on the next request", async () => {
    const router = createRouter(baseConfig({ split: { v1: 0, v2: 100 } }));
    const url = await start(router, { clock: () => BEFORE, pin: { cookie: { maxAge: "10m", secure: true } } }, (app) => app.get("/cart", echo));
    const first = await fetch(`${url}/cart`);
    const cookie = first.headers.get("set-cookie") as string;
    expect(cookie).toMatch(/^turnout_pin=v2~[0-9a-z]+~[0-9a-z]+~[0-9a-f]{16}; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    router.setCanaryPercent(0);
    const pair = cookie.split(";")[0] as string;
    const second = await fetch(`${url}/cart`, { headers: { cookie: `other=1; ${pair}` } });
    expect(await second.json()).toEqual({ version: "v2", reason: "pinned" });
    expect(second.headers.get("set-cookie")).toBeNull(); // unchanged pin: no new cookie, the expiry is not extended
  });

  it("a header pin expires: after promotion to 100 %, a client echoing X-Turnout-Pin reaches v2 within the pin's max age", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100, v2: 0 } }));
    let now = BEFORE;
    const url = await start(router, { clock: () => now, pin: { maxAge: "10m" } }, (app) => app.get("/cart", echo));
    let pin = (await fetch(`${url}/cart`)).headers.get("x-turnout-pin") as string;
    router.setCanaryPercent(100);
    const seen: string[] = [];
    // The client echoes whatever pin it was last given, once a minute, for 15 minutes.
    for (let minute = 1; minute <= 15; minute++) {
      now = BEFORE + minute * 60_000;
      const response = await fetch(`${url}/cart`, { headers: { "x-turnout-pin": pin } });
      const body = (await response.json()) as { version: string; reason: string };
      seen.push(body.version);
      const next = response.headers.get("x-turnout-pin") as string;
      if (body.reason === "pinned") expect(next).toBe(pin); // honoured: sent back unchanged, never renewed
      pin = next;
    }
    expect(seen.slice(0, 9)).toEqual(Array(9).fill("v1"));
    expect(seen.slice(10)).toEqual(Array(5).fill("v2"));
  });

  it("keeps cookies other middleware set before turnout", async () => {
    const router = createRouter(baseConfig());
    const app = factory();
    app.use((_req, res, next) => {
      res.cookie("session", "abc");
      next();
    });
    app.use(turnout(router, { clock: () => BEFORE, pin: { cookie: true }, logger: memoryLogger() }));
    app.get("/", echo);
    running = await listen(app.listen(0, "127.0.0.1"));
    const response = await fetch(running.url);
    const cookies = response.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith("session=abc"))).toBe(true);
    expect(cookies.some((c) => c.startsWith("turnout_pin="))).toBe(true);
  });

  it("sends Deprecation (RFC 9745), Sunset (RFC 8594) and Link headers for a deprecated version", async () => {
    const router = createRouter(retiringConfig());
    const url = await start(router, { clock: () => DEPRECATED }, (app) => app.get("/api/:version/users", echo));
    const response = await fetch(`${url}/api/v1/users`);
    expect(response.status).toBe(200);
    expect(response.headers.get("deprecation")).toBe(`@${Date.parse("2025-01-01T00:00:00Z") / 1000}`);
    expect(response.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(response.headers.get("link")).toBe(
      '<https://docs.example.com/deprecation-policy>; rel="deprecation", <https://docs.example.com/sunset>; rel="sunset", ' +
        '<https://api.example.com/v2/>; rel="successor-version"',
    );
    const v2 = await fetch(`${url}/api/v2/users`);
    expect(v2.headers.get("deprecation")).toBeNull();
    expect(v2.headers.get("sunset")).toBeNull();
    expect(v2.headers.get("link")).toBeNull();
  });

  it("answers 410 Gone with seed 004's JSON body after the sunset, keeping the headers", async () => {
    const router = createRouter(retiringConfig());
    let now = DEPRECATED;
    let reached = 0;
    const url = await start(router, { clock: () => now }, (app) =>
      app.get("/api/:version/users", (req, res) => {
        reached++;
        echo(req, res);
      }),
    );
    expect((await fetch(`${url}/api/v1/users`)).status).toBe(200);
    now = AFTER_SUNSET;
    const gone = await fetch(`${url}/api/v1/users`);
    expect(gone.status).toBe(410);
    expect(gone.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await gone.json()).toEqual({
      error: "API_VERSION_SUNSET",
      message: "API v1 was sunset on 2025-06-01. Please migrate to v2.",
      version: "v1",
      sunset: "2025-06-01T00:00:00.000Z",
      migration_guide: "https://docs.example.com/migration/v1-to-v2",
      successor: "https://api.example.com/v2/",
    });
    expect(gone.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(gone.headers.get("x-api-version")).toBe("v1");
    expect(reached).toBe(1);
    expect((await fetch(`${url}/api/v2/users`)).status).toBe(200);
  });

  it("answers 404 listing the live versions for an unknown version, or serves stable when configured", async () => {
    const router = createRouter(retiringConfig());
    const stats = observedStats();
    const url = await start(router, { clock: () => AFTER_SUNSET, stats }, (app) => app.get("/api/:version/users", echo));
    const response = await fetch(`${url}/api/v9/users`);
    expect(response.status).toBe(404);
    expect(response.headers.get("x-api-version")).toBeNull(); // no version served this request
    expect(response.headers.get("x-turnout-pin")).toBeNull();
    expect(await response.json()).toEqual({
      error: "API_VERSION_UNKNOWN",
      message: 'API version "v9" does not exist. Available: v2.',
      requested: "v9",
      versions: ["v2"],
    });
    const header = await fetch(`${url}/api/users/users`, { headers: { "x-api-version": "7" } });
    expect(header.status).toBe(404);
    const gone = await fetch(`${url}/api/v1/users`);
    expect(gone.status).toBe(410);
    await expect.poll(() => stats.outcomes.length).toBe(1); // the 410 counts for v1; the 404s count for no version
    expect(stats.outcomes[0]).toMatchObject({ version: "v1", outcome: { status: 410 } });
    expect(stats.stats.lifetime().totals).toMatchObject({ requests: 1, errors: 0 });
    await running?.close();
    const lenient = await start(createRouter(retiringConfig()), { clock: () => BEFORE, unknownVersion: "stable" }, (app) =>
      app.get("/api/:version/users", echo),
    );
    const served = await fetch(`${lenient}/api/v9/users`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ version: "v2", reason: "unknown_version" });
  });

  it("versioned() dispatches to the decided version's handler, with a fallback and next() otherwise", async () => {
    const router = createRouter(baseConfig({ versions: ["v1", "v2", "v3"], split: { v1: 100 } }));
    const url = await start(router, {}, (app) => {
      app.get("/users", versioned({ v1: (_req, res) => void res.send("one"), v2: (_req, res) => void res.send("two") }));
      app.get("/orders", versioned({ v2: (_req, res) => void res.send("two") }, { fallback: "v2" }));
      app.get("/orders", (_req, res) => void res.send("unreached"));
      app.get("/carts", versioned({ v2: (_req, res) => void res.send("two") }));
      app.get("/carts", (_req, res) => void res.send("next route"));
    });
    expect(await (await fetch(`${url}/users`)).text()).toBe("one");
    expect(await (await fetch(`${url}/users`, { headers: { "x-canary": "true" } })).text()).toBe("two");
    expect(await (await fetch(`${url}/orders`)).text()).toBe("two");
    expect(await (await fetch(`${url}/carts`)).text()).toBe("next route");
    expect(await (await fetch(`${url}/carts`, { headers: { "x-api-version": "v3" } })).text()).toBe("next route");
  });

  it("versioned() passes a rejected async handler to the error handler (also on Express 4)", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100 } }));
    const stats = observedStats();
    const url = await start(router, { stats }, (app) => {
      app.get("/boom", versioned({ v1: async () => Promise.reject(new Error("v1 broke")) }));
      app.use((error: Error, _req: Request, res: Response, _next: unknown) => void res.status(500).json({ error: error.message }));
    });
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "v1 broke" });
    await expect.poll(() => stats.outcomes.length).toBe(1);
    expect(stats.outcomes).toEqual([{ version: "v1", outcome: expect.objectContaining({ status: 500 }) }]);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 1 });
  });

  it("a handler or validator that rejects without a reason still fails the request instead of passing it on", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100 } }));
    const stats = observedStats();
    let reachedNext = 0;
    const url = await start(router, { stats }, (app) => {
      app.get("/handler", versioned({ v1: async () => Promise.reject(undefined) }));
      app.get("/validator", validate({ v1: async () => Promise.reject(null) }), (_req, res) => void res.send("invalid body reached the handler"));
      app.get(["/handler", "/validator"], (_req, res) => {
        reachedNext++;
        res.send("next route");
      });
      app.use((error: Error, _req: Request, res: Response, _next: unknown) => void res.status(500).json({ error: error.message }));
    });
    for (const path of ["/handler", "/validator"]) {
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toMatch(/rejected/);
    }
    expect(reachedNext).toBe(0);
    await expect.poll(() => stats.outcomes.length).toBe(2);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 2, errors: 2 });
  });

  it("validates per version with zod, valibot and plain functions: 400 with every problem listed", async () => {
    const router = createRouter(baseConfig({}));
    const url = await start(router, {}, (app) => {
      app.post("/users", factory.json(), versioned({ v1: echo, v2: echo }, { validate: { v1: userV1, v2: userV2 } }));
      app.post(
        "/notes",
        factory.json(),
        validate({
          v1: (body) => (typeof body === "object" && body !== null && "text" in body ? true : "text is required"),
          v2: async (body) => [{ path: "text", message: `got ${JSON.stringify(body)}` }],
        }),
        echo,
      );
    });
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

    const v1 = { "x-api-version": "1" };
    expect((await post("/users", { name: "Ada", email: "ada@example.com" }, v1)).status).toBe(200);
    const badV1 = await post("/users", { first_name: "Ada", email: "nope" }, v1);
    expect(badV1.status).toBe(400);
    const v1Body = (await badV1.json()) as { error: string; version: string; problems: { path: string }[] };
    expect(v1Body).toMatchObject({ error: "INVALID_REQUEST", version: "v1" });
    expect(v1Body.problems.map((p) => p.path).sort()).toEqual(["email", "name"]);

    const canary = { "x-canary": "true" };
    expect((await post("/users", { first_name: "Ada", last_name: "L", email: "ada@example.com" }, canary)).status).toBe(200);
    const badV2 = await post("/users", { name: "Ada", email: "ada@example.com", phone: "12" }, canary);
    expect(badV2.status).toBe(400);
    const v2Body = (await badV2.json()) as { version: string; problems: { path: string; message: string }[] };
    expect(v2Body.version).toBe("v2");
    expect(v2Body.problems.map((p) => p.path).sort()).toEqual(["first_name", "last_name", "phone"]);

    expect((await post("/notes", { text: "hi" }, v1)).status).toBe(200);
    expect(await (await post("/notes", {}, v1)).json()).toMatchObject({ problems: [{ path: "", message: "text is required" }] });
    expect(await (await post("/notes", { a: 1 }, canary)).json()).toMatchObject({ problems: [{ path: "text", message: 'got {"a":1}' }] });
  });

  it("never breaks the request on a fault inside turnout: stable version, logged, counted", async () => {
    const router = createRouter(baseConfig({ split: { v1: 0, v2: 100 } }));
    const logger = memoryLogger();
    const failing: OutcomeRecorder = {
      recordOutcome: () => {
        throw new Error("stats down");
      },
    };
    const app = factory();
    const middleware = turnout(router, {
      logger,
      stats: failing,
      key: (req) => {
        if (req.get("x-explode") !== undefined) throw new Error("key function broke");
        return req.get("x-user-id");
      },
    });
    app.use(middleware);
    app.get("/", echo);
    running = await listen(app.listen(0, "127.0.0.1"));
    const response = await fetch(running.url, { headers: { "x-explode": "1" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ version: "v1", reason: "error" });
    const healthy = await fetch(running.url, { headers: { "x-user-id": "u" } });
    expect(await healthy.json()).toEqual({ version: "v2", reason: "weighted_routing" });
    await expect.poll(() => middleware.counters.faults).toBe(3); // the key function, then two failed recordings
    expect(logger.entries.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/deciding the version failed/), expect.stringMatching(/recording the outcome failed/)]),
    );
    expect(middleware.counters.requests).toBe(2);
  });

  it("records every outcome when the response finishes: status, duration, client; 5xx are failures", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100 } }));
    const stats = observedStats();
    const url = await start(router, { stats, key: (req) => req.get("x-user-id") }, (app) => {
      app.get("/ok", (_req, res) => void res.send("ok"));
      app.get("/fail", (_req, res) => void res.status(503).send("down"));
      app.get("/slow", (_req, res) => void setTimeout(() => res.send("late"), 30));
    });
    await fetch(`${url}/ok`, { headers: { "x-user-id": "alice" } });
    await fetch(`${url}/fail`, { headers: { "x-user-id": "bob" } });
    await fetch(`${url}/slow`);
    await expect.poll(() => stats.outcomes.length).toBe(3);
    expect(stats.outcomes[0]).toEqual({ version: "v1", outcome: { status: 200, durationMs: expect.any(Number), client: "alice" } });
    expect(stats.outcomes[1]?.outcome).toMatchObject({ status: 503, client: "bob" });
    expect(stats.outcomes[2]?.outcome.durationMs).toBeGreaterThan(0);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 3, errors: 1, clients: 2 });
  });

  it("records a client that went away before the response as 499", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100 } }));
    const stats = observedStats();
    const url = await start(router, { stats }, (app) => app.get("/hang", () => undefined));
    const controller = new AbortController();
    const pending = fetch(`${url}/hang`, { signal: controller.signal }).catch(() => undefined);
    setTimeout(() => controller.abort(), 50);
    await pending;
    await expect.poll(() => stats.outcomes.length).toBe(1);
    expect(stats.outcomes[0]?.outcome.status).toBe(499);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 0 }); // latency, not a failure
  });

  it("decides once when mounted twice", async () => {
    const router = createRouter(baseConfig({}));
    const stats = observedStats();
    const app = factory();
    const middleware = turnout(router, { stats, logger: memoryLogger() });
    const inner = factory.Router();
    inner.use(middleware);
    inner.get("/x", echo);
    app.use(middleware);
    app.use("/inner", inner);
    running = await listen(app.listen(0, "127.0.0.1"));
    await fetch(`${running.url}/inner/x`);
    await expect.poll(() => stats.outcomes.length).toBe(1);
    expect(middleware.counters.requests).toBe(1);
  });

  it("rejects bad options with one TurnoutConfigError listing every problem", () => {
    const router = createRouter(baseConfig());
    let error: unknown;
    try {
      turnout(router, {
        key: "x-user-id",
        pin: { header: "bad header", cookie: { sameSite: "sometimes", maxAge: "forever", name: "a;b" } },
        unknownVersion: "ignore",
        headers: { version: 42 },
        typo: true,
      } as never);
    } catch (caught) {
      error = caught;
    }
    expect(isTurnoutConfigError(error)).toBe(true);
    const problems = (error as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`).sort();
    expect(problems).toEqual([
      "invalid_duration pin.cookie.maxAge",
      "invalid_name headers.version",
      "invalid_name pin.cookie.name",
      "invalid_name pin.header",
      "invalid_value pin.cookie.sameSite",
      "invalid_value unknownVersion",
      "type key",
      "unknown_field typo",
    ]);
    expect(() => versioned({ v1: "nope" } as never)).toThrow(/handlers\.v1/);
    expect(() => validate({ v1: 42 } as never)).toThrow(/validate\.v1/);
  });

  it("types res.locals.turnout as the Decision", () => {
    const check = (res: Response): Decision | undefined => res.locals.turnout;
    expect(typeof check).toBe("function");
  });
});

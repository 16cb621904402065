/**
 * turnout/hono on Hono 4: over real HTTP with @hono/node-server on 127.0.0.1, and with `app.request`.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { isTurnoutConfigError } from "../../src/errors.js";
import type { Decision } from "../../src/types.js";
import { type TurnoutEnv, turnout, validate, versioned } from "../../src/integrations/hono.js";
import { AFTER_SUNSET, BEFORE, DEPRECATED, baseConfig, retiringConfig, userV1, userV2 } from "./fixtures.js";
import { memoryLogger, observedStats } from "./helpers.js";

let server: ServerType | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running !== undefined) await new Promise<void>((resolve) => running.close(() => resolve()));
});

async function listen(app: Hono<TurnoutEnv>): Promise<string> {
  const started = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  server = started;
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
}

describe("turnout/hono", () => {
  it("types the decision on the context: c.get('turnout') and c.var.turnout are a Decision", () => {
    const app = new Hono().use(turnout(createRouter(baseConfig())));
    app.get("/", (c) => {
      expectTypeOf(c.get("turnout")).toEqualTypeOf<Decision>();
      expectTypeOf(c.var.turnout).toEqualTypeOf<Decision>();
      return c.text(c.var.turnout.version);
    });
  });

  it("decides per request over real HTTP, exposes the decision and sets the version and pin headers", async () => {
    const router = createRouter(baseConfig());
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(router, { clock: () => BEFORE, logger: memoryLogger() }));
    app.get("/users", (c) => c.json({ version: c.var.turnout.version, reason: c.var.turnout.reason }));
    const url = await listen(app);
    const seen = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const user = `user-${i % 10}`;
      const response = await fetch(`${url}/users`, { headers: { "x-user-id": user } });
      const body = (await response.json()) as { version: string; reason: string };
      expect(body.reason).toBe("weighted_routing");
      expect(response.headers.get("x-api-version")).toBe(body.version);
      expect(response.headers.get("x-turnout-pin")).toMatch(new RegExp(`^${body.version}~`));
      expect(body.version).toBe(router.decide({ headers: { "x-user-id": user } }).version);
      seen.set(user, body.version);
    }
    expect(new Set(seen.values()).size).toBe(2);
  });

  it("over real HTTP reads Node's headers: a pin sent back in the header or the cookie is honoured, as with app.request", async () => {
    const router = createRouter(baseConfig());
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(router, { clock: () => BEFORE, logger: memoryLogger(), pin: { cookie: true } }));
    app.get("/users", (c) => c.json({ version: c.var.turnout.version, reason: c.var.turnout.reason }));
    const url = await listen(app);
    const first = await fetch(`${url}/users`, { headers: { "x-user-id": "user-3" } });
    const pin = first.headers.get("x-turnout-pin") ?? "";
    const { version } = (await first.json()) as { version: string };
    const byHeader = await fetch(`${url}/users`, { headers: { "x-turnout-pin": pin } });
    expect(await byHeader.json()).toEqual({ version, reason: "pinned" });
    expect(byHeader.headers.get("set-cookie")).toBeNull(); // honoured, not re-issued
    const byCookie = await fetch(`${url}/users`, { headers: { cookie: `a=1; turnout_pin=${encodeURIComponent(pin)}` } });
    expect(await byCookie.json()).toEqual({ version, reason: "pinned" });
    const inProcess = await app.request("/users", { headers: { cookie: `turnout_pin=${encodeURIComponent(pin)}` } });
    expect(await inProcess.json()).toEqual({ version, reason: "pinned" });
  });

  it("keeps its headers on error answers (a throw handled by onError, an HTTPException) and records them as failures", async () => {
    const stats = observedStats();
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(baseConfig()), { stats, logger: memoryLogger() }));
    app.get("/boom", () => {
      throw new Error("boom");
    });
    app.get("/teapot", () => {
      throw new HTTPException(418, { message: "short and stout" });
    });
    const boom = await app.request("/boom", { headers: { "x-canary": "true" } });
    expect(boom.status).toBe(500);
    expect(boom.headers.get("x-api-version")).toBe("v2");
    const teapot = await app.request("/teapot", { headers: { "x-canary": "true" } });
    expect([teapot.status, teapot.headers.get("x-api-version")]).toEqual([418, "v2"]);
    expect(stats.outcomes.map((o) => [o.version, o.outcome.status, o.outcome.error instanceof Error])).toEqual([
      ["v2", 500, true],
      ["v2", 418, false],
    ]);
  });

  it("adds its headers to a response from fetch (immutable headers) and keeps the application's cookies", async () => {
    const origin = new Hono().get("/", (c) => c.text("from origin", 201, { "x-origin": "yes" }));
    const originUrl = await listen(origin as unknown as Hono<TurnoutEnv>);
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(baseConfig()), { pin: { cookie: true } }));
    app.get("/relay", () => fetch(originUrl));
    app.get("/cookie", (c) => {
      c.header("set-cookie", "session=abc");
      return c.text("ok");
    });
    const relayed = await app.request("/relay", { headers: { "x-user-id": "u-1" } });
    expect([relayed.status, relayed.headers.get("x-origin"), await relayed.text()]).toEqual([201, "yes", "from origin"]);
    expect(relayed.headers.get("x-api-version")).toMatch(/^v[12]$/);
    expect(relayed.headers.getSetCookie()).toEqual([expect.stringMatching(/^turnout_pin=/)]);
    const cookie = await app.request("/cookie", { headers: { "x-user-id": "u-1" } });
    expect(cookie.headers.getSetCookie()).toEqual(["session=abc", expect.stringMatching(/^turnout_pin=/)]);
  });

  it("on Node puts its headers on every response, whatever the route answers; a header the route sets itself wins", async () => {
    const origin = new Hono().get("/", (c) => c.text("from origin", 201, { "x-origin": "yes" }));
    const originUrl = await listen(origin as unknown as Hono<TurnoutEnv>);
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(baseConfig())));
    app.get("/json", (c) => c.json({ ok: true }));
    app.get("/stream", (c) => c.body(new Blob(["a", "b"]).stream()));
    app.get("/own", (c) => c.text("mine", 200, { "x-api-version": "v1-legacy" }));
    app.get("/relay", () => fetch(originUrl));
    app.get("/boom", () => {
      throw new Error("boom");
    });
    app.get("/raw", (c) => {
      // A route that writes Node's response itself (hono/node-server's RESPONSE_ALREADY_SENT way).
      const outgoing = (c.env as { outgoing: ServerResponse }).outgoing;
      outgoing.writeHead(202, { "content-type": "text/plain" }).end("raw");
      return new Response(null, { headers: { "x-hono-already-sent": "true" } });
    });
    app.onError((_error, c) => c.text("handled", 500));
    const url = await listen(app);
    const answers = [];
    for (const path of ["/json", "/stream", "/relay", "/boom", "/nowhere", "/raw"]) {
      const response = await fetch(`${url}${path}`, { headers: { "x-canary": "true" } });
      answers.push([path, response.status, response.headers.get("x-api-version"), response.headers.get("x-turnout-pin")?.slice(0, 3), await response.text()]);
    }
    expect(answers).toEqual([
      ["/json", 200, "v2", "v2~", '{"ok":true}'],
      ["/stream", 200, "v2", "v2~", "ab"],
      ["/relay", 201, "v2", "v2~", "from origin"],
      ["/boom", 500, "v2", "v2~", "handled"],
      ["/nowhere", 404, "v2", "v2~", "404 Not Found"],
      ["/raw", 202, "v2", "v2~", "raw"],
    ]);
    // The route's own value of a header turnout also sets wins, over Node and with app.request alike.
    const own = await fetch(`${url}/own`, { headers: { "x-canary": "true" } });
    const ownInMemory = await app.request("/own", { headers: { "x-canary": "true" } });
    for (const response of [own, ownInMemory]) {
      expect([response.headers.get("x-api-version"), response.headers.get("x-turnout-pin")?.slice(0, 3)]).toEqual(["v1-legacy", "v2~"]);
    }
  });

  it("on Node keeps combining Set-Cookie and Link with the route's own", async () => {
    let now = DEPRECATED;
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(retiringConfig()), { clock: () => now, pin: { cookie: true } }));
    app.get("/api/:version/users", (c) => {
      c.header("set-cookie", "session=abc");
      c.header("link", '<https://docs.example/users>; rel="help"');
      return c.json({ version: c.var.turnout.version });
    });
    const url = await listen(app);
    const response = await fetch(`${url}/api/v1/users`, { headers: { "x-user-id": "u-1" } });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual(["session=abc", expect.stringMatching(/^turnout_pin=/)]);
    expect(response.headers.get("link")).toMatch(/^<https:\/\/docs\.example\/users>; rel="help", .*rel="deprecation"/);
    expect(response.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    now = AFTER_SUNSET;
    expect((await fetch(`${url}/api/v1/users`)).status).toBe(410);
  });

  it("sends lifecycle headers, answers 410 after the sunset and 404 for an unknown version without running the route", async () => {
    let now = DEPRECATED;
    let reached = 0;
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(retiringConfig()), { clock: () => now }));
    app.get("/api/:version/users", (c) => {
      reached++;
      return c.text(c.var.turnout.version);
    });
    const deprecated = await app.request("/api/v1/users");
    expect(deprecated.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    now = AFTER_SUNSET;
    const gone = await app.request("/api/v1/users");
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({ error: "API_VERSION_SUNSET", version: "v1" });
    const unknown = await app.request("/api/v9/users");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "API_VERSION_UNKNOWN", requested: "v9", versions: ["v2"] });
    expect(reached).toBe(1);
  });

  it("versioned() dispatches per version with a fallback and validation; validate() checks a route's body", async () => {
    const app = new Hono<TurnoutEnv>();
    app.use(turnout(createRouter(baseConfig())));
    app.post("/api/:version/users", versioned({ v1: (c) => c.text("one"), v2: (c) => c.text("two") }, { validate: { v1: userV1, v2: userV2 } }));
    app.get("/api/:version/only-v1", versioned({ v1: (c) => c.text("one") }));
    app.get("/api/:version/fallback", versioned({ v1: (c) => c.text("one") }, { fallback: "v1" }));
    app.put("/api/:version/users", validate({ v2: userV2 }), async (c) => c.json(await c.req.json()));
    const post = (version: string, body: unknown, method = "POST") =>
      app.request(`/api/${version}/users`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(await (await post("v1", { name: "Ada", email: "ada@example.com" })).text()).toBe("one");
    const bad = await post("v2", { first_name: "Ada" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-api-version")).toBe("v2");
    expect(((await bad.json()) as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(["email", "last_name"]);
    expect((await app.request("/api/v2/only-v1")).status).toBe(404);
    expect(await (await app.request("/api/v2/fallback")).text()).toBe("one");
    const valid = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" };
    expect(await (await post("v2", valid, "PUT")).json()).toEqual(valid); // the route still reads the body
    expect((await post("v2", {}, "PUT")).status).toBe(400);
  });

  it("records outcomes, decides once when mounted twice, and rejects bad options with one TurnoutConfigError", async () => {
    const stats = observedStats();
    const mw = turnout(createRouter(baseConfig()), { stats, key: (c) => c.req.header("x-user-id") });
    const app = new Hono<TurnoutEnv>();
    app.use(mw, mw);
    app.get("/", (c) => c.text("ok", 202));
    await app.request("/", { headers: { "x-user-id": "u-5" } });
    expect(mw.counters.requests).toBe(1);
    expect(stats.outcomes).toEqual([{ version: expect.any(String), outcome: { status: 202, durationMs: expect.any(Number), client: "u-5" } }]);
    let caught: unknown;
    try {
      turnout(createRouter(baseConfig()), { unknownVersion: "maybe", pin: { cookie: { sameSite: "sideways" } } } as never);
    } catch (error) {
      caught = error;
    }
    expect(isTurnoutConfigError(caught) && caught.problems.map((p) => p.path).sort()).toEqual(["pin.cookie.sameSite", "unknownVersion"]);
  });
});

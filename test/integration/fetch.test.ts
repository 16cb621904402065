/**
 * turnout/fetch: the wrapper for fetch handlers, served for real by a Node server on 127.0.0.1 (the Request/Response
 * bridge of @hono/node-server), and called directly with Web `Request`s.
 */
import { getRequestListener } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { isTurnoutConfigError } from "../../src/errors.js";
import type { Router } from "../../src/types.js";
import { type FetchHandler, type TurnoutFetchOptions, decisionOf, routeRequest, turnout, validate, versioned } from "../../src/integrations/fetch.js";
import { AFTER_SUNSET, BEFORE, DEPRECATED, baseConfig, retiringConfig, userV1, userV2 } from "./fixtures.js";
import { type Running, listen, memoryLogger, observedStats } from "./helpers.js";

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function serve(router: Router, handler: FetchHandler, options: TurnoutFetchOptions = {}): Promise<string> {
  running = await listen(getRequestListener(turnout(router, handler, { logger: memoryLogger(), ...options })));
  return running.url;
}

const echo: FetchHandler = (request) => Response.json({ version: decisionOf(request)?.version, reason: decisionOf(request)?.reason });

describe("routeRequest", () => {
  it("gives the router the path with its query and the Headers, so path, header, query and cookie rules all work", () => {
    const router = createRouter(
      baseConfig({ explicit: { query: "version", path: { prefix: "/api" }, header: "x-api-version" }, stickiness: ["cookie:uid", "key"] }),
    );
    expect(router.decide(routeRequest(new Request("http://a.example/users?version=2&x=1"))).version).toBe("v2");
    expect(router.decide(routeRequest(new Request("http://a.example/api/v2/users#frag"))).reason).toBe("explicit_version");
    expect(router.decide(routeRequest(new Request("http://a.example/u", { headers: { "X-API-Version": "2" } }))).version).toBe("v2");
    const byCookie = router.decide(routeRequest(new Request("http://a.example/u", { headers: { cookie: "a=1; uid=user-7" } })));
    expect(byCookie).toMatchObject({ reason: "weighted_routing", version: router.decide({ cookies: { uid: "user-7" } }).version });
    expect(routeRequest(new Request("http://a.example")).path).toBe("/");
  });
});

describe("turnout/fetch over real HTTP", () => {
  it("decides per request, exposes the decision to the handler and sets the version and pin headers", async () => {
    const router = createRouter(baseConfig());
    const url = await serve(router, echo, { clock: () => BEFORE });
    const seen = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const user = `user-${i % 10}`;
      const response = await fetch(`${url}/users`, { headers: { "x-user-id": user } });
      const body = (await response.json()) as { version: string; reason: string };
      expect(body.reason).toBe("weighted_routing");
      expect(response.headers.get("x-api-version")).toBe(body.version);
      expect(response.headers.get("x-turnout-pin")).toMatch(new RegExp(`^${body.version}~`));
      if (seen.has(user)) expect(body.version).toBe(seen.get(user));
      seen.set(user, body.version);
      expect(body.version).toBe(router.decide({ headers: { "x-user-id": user } }).version);
    }
    expect(new Set(seen.values()).size).toBe(2);
  });

  it("adds its headers to a response whose headers are immutable (one from fetch), keeping status, status text, headers and the streamed body", async () => {
    const origin = await listen((_req, res) => {
      res.writeHead(201, "Made It", { "x-origin": "yes", "set-cookie": "session=abc" });
      res.write("first,");
      setTimeout(() => res.end("second"), 20);
    });
    try {
      const router = createRouter(baseConfig());
      const url = await serve(router, () => fetch(origin.url));
      const response = await fetch(`${url}/users`, { headers: { "x-canary": "true" } });
      expect(response.status).toBe(201);
      expect(response.headers.get("x-origin")).toBe("yes");
      expect(response.headers.get("x-api-version")).toBe("v2");
      expect(response.headers.getSetCookie()).toEqual(["session=abc"]);
      expect(await response.text()).toBe("first,second");
      const direct = await turnout(router, () => fetch(origin.url))(new Request("http://a.example/", { headers: { "x-canary": "true" } }));
      expect([direct.status, direct.statusText, direct.headers.get("x-api-version")]).toEqual([201, "Made It", "v2"]); // the Node bridge drops status text
      expect(await direct.text()).toBe("first,second");
    } finally {
      await origin.close();
    }
  });

  it("adds its headers to Response.redirect() (immutable headers) and appends to the application's Set-Cookie and Link", async () => {
    const router = createRouter(retiringConfig());
    const wrapped = turnout(
      router,
      (request) =>
        new URL(request.url).pathname.endsWith("/go")
          ? Response.redirect("http://b.example/", 307)
          : new Response("ok", { headers: { "set-cookie": "session=abc", link: '<https://a.example/>; rel="help"' } }),
      { clock: () => DEPRECATED, pin: { cookie: true }, logger: memoryLogger() },
    );
    const redirect = await wrapped(new Request("http://a.example/api/v2/go"));
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("location")).toBe("http://b.example/");
    expect(redirect.headers.get("x-api-version")).toBe("v2");
    const v1 = await wrapped(new Request("http://a.example/api/v1/users"));
    expect(v1.headers.getSetCookie()).toEqual(["session=abc", expect.stringMatching(/^turnout_pin=v1~/)]);
    expect(v1.headers.get("link")).toMatch(/^<https:\/\/a\.example\/>; rel="help", <https:\/\/docs\.example\.com\/deprecation-policy>; rel="deprecation"/);
    const pinned = await turnout(createRouter(baseConfig()), () => new Response("ok", { headers: { "set-cookie": "session=abc" } }), { pin: { cookie: true } })(
      new Request("http://a.example/users", { headers: { "x-user-id": "u-1" } }),
    );
    expect(pinned.headers.getSetCookie()).toEqual(["session=abc", expect.stringMatching(/^turnout_pin=v\d~/)]);
  });

  it("honours the pin header on the next step of a transaction, even after the split changed", async () => {
    const router = createRouter(baseConfig({ split: { v1: 0, v2: 100 } }));
    const url = await serve(router, echo);
    const first = await fetch(`${url}/checkout`, { headers: { "x-user-id": "u-9" } });
    const pin = first.headers.get("x-turnout-pin") as string;
    expect(pin).toMatch(/^v2~/);
    router.update({ ...router.config, split: { v1: 100, v2: 0 } });
    const next = await fetch(`${url}/checkout`, { headers: { "x-user-id": "u-9", "x-turnout-pin": pin } });
    expect(await next.json()).toEqual({ version: "v2", reason: "pinned" });
    const cookieRouter = createRouter(baseConfig({ split: { v1: 0, v2: 100 } }));
    const wrapped = turnout(cookieRouter, echo, { pin: { cookie: true } });
    const set = (await wrapped(new Request("http://a.example/", { headers: { "x-user-id": "u-9" } }))).headers.getSetCookie()[0] as string;
    cookieRouter.update({ ...cookieRouter.config, split: { v1: 100, v2: 0 } });
    const back = await wrapped(new Request("http://a.example/", { headers: { "x-user-id": "u-9", cookie: set.split(";")[0] as string } }));
    expect(await back.json()).toEqual({ version: "v2", reason: "pinned" });
  });

  it("sends the lifecycle headers, 410 Gone after the sunset without calling the handler, and 404 for an unknown version", async () => {
    const router = createRouter(retiringConfig());
    let now = DEPRECATED;
    let reached = 0;
    const stats = observedStats();
    const url = await serve(
      router,
      (request) => {
        reached++;
        return echo(request);
      },
      { clock: () => now, stats },
    );
    const deprecated = await fetch(`${url}/api/v1/users`);
    expect(deprecated.status).toBe(200);
    expect(deprecated.headers.get("deprecation")).toBe(`@${Date.parse("2025-01-01T00:00:00Z") / 1000}`);
    expect(deprecated.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    now = AFTER_SUNSET;
    const gone = await fetch(`${url}/api/v1/users`);
    expect(gone.status).toBe(410);
    expect(gone.headers.get("cache-control")).toBe("no-store");
    expect(gone.headers.get("x-api-version")).toBe("v1");
    expect(await gone.json()).toMatchObject({ error: "API_VERSION_SUNSET", version: "v1", successor: "https://api.example.com/v2/" });
    const unknown = await fetch(`${url}/api/v9/users`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-api-version")).toBeNull();
    expect(await unknown.json()).toEqual({
      error: "API_VERSION_UNKNOWN",
      message: 'API version "v9" does not exist. Available: v2.',
      requested: "v9",
      versions: ["v2"],
    });
    expect(reached).toBe(1);
    expect(stats.outcomes.map((o) => [o.version, o.outcome.status])).toEqual([
      ["v1", 200],
      ["v1", 410],
    ]);
  });

  it("records status, duration and client of every outcome; a throw is a failure, recorded and rethrown", async () => {
    const router = createRouter(baseConfig());
    const stats = observedStats();
    const boom = new Error("boom");
    const wrapped = turnout(
      router,
      (request) => {
        if (request.method === "DELETE") throw boom;
        return new Response(null, { status: request.method === "POST" ? 503 : 200 });
      },
      { stats, key: (request) => request.headers.get("x-user-id") ?? undefined },
    );
    await wrapped(new Request("http://a.example/", { headers: { "x-user-id": "u-1" } }));
    await wrapped(new Request("http://a.example/", { method: "POST", headers: { "x-user-id": "u-2" } }));
    await expect(wrapped(new Request("http://a.example/", { method: "DELETE" }))).rejects.toBe(boom);
    expect(stats.outcomes.map((o) => o.outcome.status)).toEqual([200, 503, 500]);
    expect(stats.outcomes[0]?.outcome).toMatchObject({ client: "u-1" });
    expect(stats.outcomes[2]?.outcome.error).toBe(boom);
    for (const { outcome } of stats.outcomes) expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(stats.stats.lifetime().totals).toMatchObject({ requests: 3, errors: 2 });
  });

  it("passes the runtime's extra arguments (Workers' env and ctx) to the handler unchanged", async () => {
    const router = createRouter(baseConfig());
    const env = { NAME: "prod" };
    const ctx = { waitUntil: () => undefined };
    const wrapped = turnout(router, (_request: Request, e: typeof env, c: typeof ctx) => Response.json({ env: e.NAME, same: c === ctx }));
    expect(await (await wrapped(new Request("http://a.example/"), env, ctx)).json()).toEqual({ env: "prod", same: true });
  });

  it("versioned() dispatches to the decided version's handler, with a fallback, and 404 without one", async () => {
    const router = createRouter(baseConfig());
    const both = turnout(router, versioned({ v1: () => new Response("one"), v2: () => new Response("two") }));
    expect(await (await both(new Request("http://a.example/api/v1/x"))).text()).toBe("one");
    expect(await (await both(new Request("http://a.example/api/v2/x"))).text()).toBe("two");
    const onlyV1 = turnout(router, versioned({ v1: () => new Response("one") }));
    expect((await onlyV1(new Request("http://a.example/api/v2/x"))).status).toBe(404);
    const fallback = turnout(router, versioned({ v1: () => new Response("one") }, { fallback: "v1" }));
    expect(await (await fallback(new Request("http://a.example/api/v2/x"))).text()).toBe("one");
    await expect(versioned({ v1: () => new Response("one") })(new Request("http://a.example/"))).rejects.toThrow(/inside turnout/);
  });

  it("validates the body per version with zod, valibot and plain functions: 400 with every problem, the handler still reads the body", async () => {
    const router = createRouter(baseConfig());
    const handler = validate({ v1: userV1, v2: userV2 }, async (request) => Response.json({ got: await request.json() }));
    const url = await serve(router, handler);
    const post = (version: string, body: string, type = "application/json") =>
      fetch(`${url}/api/${version}/users`, { method: "POST", headers: { "content-type": type }, body });
    const ok = await post("v1", JSON.stringify({ name: "Ada", email: "ada@example.com" }));
    expect(await ok.json()).toEqual({ got: { name: "Ada", email: "ada@example.com" } });
    const bad = await post("v2", JSON.stringify({ first_name: "", email: "nope" }));
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-api-version")).toBe("v2");
    const body = (await bad.json()) as { error: string; version: string; problems: { path: string }[] };
    expect(body).toMatchObject({ error: "INVALID_REQUEST", version: "v2" });
    expect(body.problems.map((p) => p.path).sort()).toEqual(["email", "first_name", "last_name"]);
    const notJson = await post("v1", "{oops");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ problems: [{ path: "", message: "the body is not valid JSON" }] });
    const form = turnout(
      router,
      versioned({ v1: () => new Response("ok") }, { validate: { v1: (input) => (input as { name?: string }).name === "Ada" || "name must be Ada" } }),
    );
    const formRequest = (name: string) =>
      new Request("http://a.example/api/v1/users", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `name=${name}` });
    expect((await form(formRequest("Ada"))).status).toBe(200);
    expect(await (await form(formRequest("Bob"))).json()).toMatchObject({ problems: [{ path: "", message: "name must be Ada" }] });
  });

  it("never breaks the request on a fault inside turnout: stable version, logged, counted", async () => {
    const router = createRouter(baseConfig());
    const logger = memoryLogger();
    const wrapped = turnout(router, echo, {
      logger,
      key: () => {
        throw new Error("key function broke");
      },
    });
    const response = await wrapped(new Request("http://a.example/users"));
    expect(await response.json()).toEqual({ version: "v1", reason: "error" });
    expect(wrapped.counters.faults).toBe(1);
    expect(logger.entries.some((e) => e.level === "error")).toBe(true);
  });

  it("rejects bad options with one TurnoutConfigError listing every problem", () => {
    const router = createRouter(baseConfig());
    let caught: unknown;
    try {
      turnout(router, echo, { key: "x" as never, headers: { version: "bad header" }, nope: 1 } as never);
    } catch (error) {
      caught = error;
    }
    expect(isTurnoutConfigError(caught)).toBe(true);
    if (!isTurnoutConfigError(caught)) return;
    expect(caught.problems.map((p) => p.path).sort()).toEqual(["headers.version", "key", "nope"]);
    expect(() => turnout(router, "nope" as never)).toThrow(TypeError);
    expect(() => versioned({ v1: "x" as never })).toThrow(/handlers\.v1/);
  });
});

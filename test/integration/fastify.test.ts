/**
 * turnout/fastify on Fastify 5 and Fastify 4 (the same cases on each): over real HTTP (listen on 127.0.0.1, port 0)
 * and with `inject`.
 */
import Fastify, { type FastifyInstance } from "fastify";
import Fastify4 from "fastify4";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createRouter } from "../../src/router/index.js";
import { isTurnoutConfigError } from "../../src/errors.js";
import type { Decision } from "../../src/types.js";
import { turnout, validate, versioned } from "../../src/integrations/fastify.js";
import { AFTER_SUNSET, BEFORE, DEPRECATED, baseConfig, retiringConfig, userV1, userV2 } from "./fixtures.js";
import { memoryLogger, observedStats } from "./helpers.js";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Fastify 4's instance has the shape these cases use; its own types are those of another copy of the package. */
const majors = [
  ["Fastify 5", Fastify],
  ["Fastify 4", Fastify4 as unknown as typeof Fastify],
] as const;

describe.each(majors)("turnout/fastify on %s", (_name, factory) => {
  function fastify(): FastifyInstance {
    app = factory();
    return app;
  }

  it("types the decision on the request by declaration merging", () => {
    const server = fastify();
    server.get("/", async (request) => {
      expectTypeOf(request.turnout).toEqualTypeOf<Decision | null>();
      return request.turnout?.version;
    });
  });

  it("decides per request over real HTTP, exposes request.turnout and sets the version and pin headers", async () => {
    const router = createRouter(baseConfig());
    const server = fastify();
    await server.register(turnout(router, { clock: () => BEFORE, logger: memoryLogger() }));
    server.get("/users", async (request) => ({ version: request.turnout?.version, reason: request.turnout?.reason }));
    const url = await server.listen({ port: 0, host: "127.0.0.1" });
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

  it("applies where it is registered: a child context and its children, not its siblings", async () => {
    const server = fastify();
    await server.register(async (api) => {
      await api.register(turnout(createRouter(baseConfig())));
      api.get("/api/v2/inside", async (request) => ({ version: request.turnout?.version ?? null }));
      await api.register(async (nested) => {
        nested.get("/api/v2/nested", async (request) => ({ version: request.turnout?.version ?? null }));
      });
    });
    await server.register(async (other) => {
      other.get("/outside", async (request) => ({ version: request.turnout ?? null }));
    });
    const inside = await server.inject("/api/v2/inside");
    expect([inside.json(), inside.headers["x-api-version"]]).toEqual([{ version: "v2" }, "v2"]);
    expect((await server.inject("/api/v2/nested")).json()).toEqual({ version: "v2" });
    const outside = await server.inject("/outside");
    expect([outside.json(), outside.headers["x-api-version"]]).toEqual([{ version: null }, undefined]);
  });

  it("puts its headers on error replies, appends to the application's cookies, and records outcomes on response", async () => {
    const stats = observedStats();
    const server = fastify();
    await server.register(
      turnout(createRouter(baseConfig()), { stats, pin: { cookie: true }, key: (request) => request.headers["x-user-id"] as string | undefined }),
    );
    server.get("/boom", async () => {
      throw new Error("boom");
    });
    server.get("/teapot", async (_request, reply) => reply.code(418).header("set-cookie", "session=abc").send({ short: "and stout" }));
    // A header the route sets itself replaces turnout's; Set-Cookie values add up.
    server.get("/own", async (_request, reply) => reply.header("x-api-version", "v1-legacy").send({ own: true }));
    const boom = await server.inject({ url: "/boom", headers: { "x-canary": "true" } });
    expect([boom.statusCode, boom.headers["x-api-version"]]).toEqual([500, "v2"]);
    const teapot = await server.inject({ url: "/teapot", headers: { "x-user-id": "u-3" } });
    expect(teapot.statusCode).toBe(418);
    expect(teapot.headers["set-cookie"]).toEqual([expect.stringMatching(/^turnout_pin=/), "session=abc"]);
    const own = await server.inject({ url: "/own", headers: { "x-canary": "true" } });
    expect([own.statusCode, own.headers["x-api-version"], typeof own.headers["x-turnout-pin"]]).toEqual([200, "v1-legacy", "string"]);
    const missing = await server.inject({ url: "/nowhere", headers: { "x-canary": "true" } });
    expect([missing.statusCode, missing.headers["x-api-version"]]).toEqual([404, "v2"]);
    expect(stats.outcomes.map((o) => [o.outcome.status, o.outcome.error instanceof Error])).toEqual([
      [500, true],
      [418, false],
      [200, false],
      [404, false],
    ]);
    expect(stats.outcomes[1]?.outcome.client).toBe("u-3");
  });

  it("sends lifecycle headers, answers 410 after the sunset and 404 for an unknown version before the handler", async () => {
    let now = DEPRECATED;
    let reached = 0;
    const server = fastify();
    await server.register(turnout(createRouter(retiringConfig()), { clock: () => now }));
    server.get("/api/:version/users", async (request) => {
      reached++;
      return request.turnout?.version;
    });
    const url = await server.listen({ port: 0, host: "127.0.0.1" });
    const deprecated = await fetch(`${url}/api/v1/users`);
    expect(deprecated.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(deprecated.headers.get("link")).toContain('rel="deprecation"');
    now = AFTER_SUNSET;
    const gone = await fetch(`${url}/api/v1/users`);
    expect([gone.status, gone.headers.get("cache-control"), gone.headers.get("x-api-version")]).toEqual([410, "no-store", "v1"]);
    expect(await gone.json()).toMatchObject({ error: "API_VERSION_SUNSET", version: "v1", successor: "https://api.example.com/v2/" });
    const unknown = await fetch(`${url}/api/v9/users`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-api-version")).toBeNull();
    expect(await unknown.json()).toMatchObject({ error: "API_VERSION_UNKNOWN", requested: "v9", versions: ["v2"] });
    expect(reached).toBe(1);
  });

  it("versioned() dispatches per route and version with a fallback and validation; validate() is a preHandler", async () => {
    const server = fastify();
    await server.register(turnout(createRouter(baseConfig())));
    server.post("/api/:version/users", versioned({ v1: async () => "one", v2: async () => "two" }, { validate: { v1: userV1, v2: userV2 } }));
    server.get("/api/:version/only-v1", versioned({ v1: async () => "one" }));
    server.get("/api/:version/fallback", versioned({ v1: async () => "one" }, { fallback: "v1" }));
    server.put("/api/:version/users", { preHandler: validate({ v2: userV2 }) }, async (request) => request.body);
    const send = (version: string, payload: object, method: "POST" | "PUT" = "POST") => server.inject({ method, url: `/api/${version}/users`, payload });
    expect((await send("v1", { name: "Ada", email: "ada@example.com" })).body).toBe("one");
    const bad = await send("v2", { first_name: "Ada" });
    expect([bad.statusCode, bad.headers["x-api-version"]]).toEqual([400, "v2"]);
    expect((bad.json() as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(["email", "last_name"]);
    expect((await server.inject("/api/v2/only-v1")).statusCode).toBe(404);
    expect((await server.inject("/api/v2/fallback")).body).toBe("one");
    const valid = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" };
    expect((await send("v2", valid, "PUT")).json()).toEqual(valid);
    expect((await send("v2", {}, "PUT")).statusCode).toBe(400);
  });

  it("decides once when registered twice on the way, and rejects bad options with one TurnoutConfigError", async () => {
    const plugin = turnout(createRouter(baseConfig()));
    const server = fastify();
    await server.register(plugin);
    await server.register(async (child) => {
      await child.register(plugin);
      child.get("/", async (request) => request.turnout?.version);
    });
    await server.inject("/");
    expect(plugin.counters.requests).toBe(1);
    let caught: unknown;
    try {
      turnout(createRouter(baseConfig()), { headers: { variant: 7 }, enforceSunset: "yes" } as never);
    } catch (error) {
      caught = error;
    }
    expect(isTurnoutConfigError(caught) && caught.problems.map((p) => p.path).sort()).toEqual(["enforceSunset", "headers.variant"]);
  });
});

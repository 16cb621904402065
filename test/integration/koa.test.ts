/**
 * turnout/koa against real Koa 3 and Koa 2 servers on 127.0.0.1.
 */
import Koa, { type Context } from "koa";
import Koa2 from "koa2";
import { afterEach, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { createRouter } from "../../src/router/index.js";
import type { Decision, Router } from "../../src/types.js";
import { type TurnoutKoaOptions, turnout, validate, versioned } from "../../src/integrations/koa.js";
import { AFTER_SUNSET, DEPRECATED, baseConfig, retiringConfig, userV1, userV2 } from "./fixtures.js";
import { type Running, listen, memoryLogger, observedStats } from "./helpers.js";

const frameworks: [string, typeof Koa][] = [
  ["Koa 3", Koa],
  ["Koa 2", Koa2 as typeof Koa],
];

/** A tiny JSON body parser, so the tests need no extra package. */
async function jsonBody(ctx: Context, next: () => Promise<unknown>): Promise<void> {
  if (ctx.method === "POST") {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  }
  await next();
}

const echo = (ctx: Context): void => {
  ctx.body = { version: ctx.state.turnout?.version, reason: ctx.state.turnout?.reason };
};

describe.each(frameworks)("turnout/koa on %s", (_name, KoaClass) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(router: Router, options: TurnoutKoaOptions, ...rest: ((ctx: Context, next: () => Promise<unknown>) => unknown)[]) {
    const app = new KoaClass();
    app.silent = true;
    app.use(turnout(router, { logger: memoryLogger(), ...options }));
    for (const middleware of rest) app.use(middleware as never);
    running = await listen(app.listen(0, "127.0.0.1"));
    return running.url;
  }

  it("decides per request, exposes ctx.state.turnout and sets the headers", async () => {
    const router = createRouter(baseConfig());
    const url = await start(router, {}, echo);
    for (const user of ["alice", "bob", "carol", "dave", "erin"]) {
      const response = await fetch(url, { headers: { "x-user-id": user } });
      const body = (await response.json()) as { version: string };
      expect(body.version).toBe(router.decide({ headers: { "x-user-id": user } }).version);
      expect(response.headers.get("x-api-version")).toBe(body.version);
      const pin = response.headers.get("x-turnout-pin") as string;
      expect(pin.startsWith(`${body.version}~`)).toBe(true);
      expect(router.decide({ pin, headers: { "x-user-id": "someone-else" } })).toMatchObject({ reason: "pinned", version: body.version });
    }
    const experiment = await fetch(`${url}/api/checkout`, { headers: { "x-user-id": "user-42" } });
    expect(experiment.headers.get("x-ab-test")).toBe("checkout-flow-v2");
    expect(experiment.headers.get("x-ab-variant")).toBe(router.assign("checkout-flow-v2", "user-42")?.variant);
  });

  it("honours the pin cookie on the next request after a rollback", async () => {
    const router = createRouter(baseConfig({ split: { v2: 100 } }));
    const url = await start(router, { pin: { cookie: { sameSite: "strict" } } }, echo);
    const first = await fetch(url);
    const cookie = first.headers.get("set-cookie") as string;
    expect(cookie).toMatch(/^turnout_pin=v2~.*; Max-Age=900; Path=\/; HttpOnly; SameSite=Strict$/);
    router.setCanaryPercent(0);
    const next = await fetch(url, { headers: { cookie: cookie.split(";")[0] as string } });
    expect(await next.json()).toEqual({ version: "v2", reason: "pinned" });
    expect((await (await fetch(url)).json()) as object).toEqual({ version: "v1", reason: "keyless" });
  });

  it("sends lifecycle headers, then 410 Gone with the JSON body after the sunset", async () => {
    const router = createRouter(retiringConfig());
    let now = DEPRECATED;
    const url = await start(router, { clock: () => now }, echo);
    const deprecated = await fetch(`${url}/api/v1/users`);
    expect(deprecated.status).toBe(200);
    expect(deprecated.headers.get("deprecation")).toBe("@1735689600");
    expect(deprecated.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(deprecated.headers.get("link")).toContain('<https://api.example.com/v2/>; rel="successor-version"');
    now = AFTER_SUNSET;
    const gone = await fetch(`${url}/api/v1/users`);
    expect(gone.status).toBe(410);
    expect(gone.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(gone.headers.get("deprecation")).toBe("@1735689600");
    expect(await gone.json()).toMatchObject({ error: "API_VERSION_SUNSET", successor: "https://api.example.com/v2/" });
    const unknown = await fetch(`${url}/api/v3/users`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "API_VERSION_UNKNOWN", requested: "v3", versions: ["v2"] });
  });

  it("versioned() dispatches by version; validation answers 400 with the problems (zod for v1, valibot for v2)", async () => {
    const router = createRouter(baseConfig());
    const url = await start(
      router,
      {},
      jsonBody,
      versioned(
        {
          v1: (ctx) => void (ctx.body = { created: "v1" }),
          v2: async (ctx) => void (ctx.body = { created: "v2" }),
        },
        { validate: { v1: userV1, v2: userV2 } },
      ),
    );
    const post = (body: unknown, version: string) =>
      fetch(url, { method: "POST", headers: { "x-api-version": version, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(await (await post({ name: "Ada", email: "ada@example.com" }, "1")).json()).toEqual({ created: "v1" });
    expect(await (await post({ first_name: "Ada", last_name: "L", email: "ada@example.com" }, "2")).json()).toEqual({ created: "v2" });
    const bad = await post({ name: "Ada", email: "ada@example.com" }, "2");
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { version: string; problems: { path: string }[] };
    expect(body.version).toBe("v2");
    expect(body.problems.map((p) => p.path).sort()).toEqual(["first_name", "last_name"]);
  });

  it("validate() works as plain middleware, and versioned() falls through to the next middleware", async () => {
    const router = createRouter(baseConfig({ versions: ["v1", "v2", "v3"] }));
    const url = await start(
      router,
      {},
      jsonBody,
      validate({ v3: (body) => (body === null ? "a body is required" : undefined) }),
      versioned({ v2: (ctx) => void (ctx.body = "two") }),
      (ctx) => void (ctx.body = "fell through"),
    );
    expect(await (await fetch(url, { headers: { "x-api-version": "2" } })).text()).toBe("two");
    expect(await (await fetch(url, { headers: { "x-api-version": "1" } })).text()).toBe("fell through");
    const rejected = await fetch(url, { method: "POST", headers: { "x-api-version": "3" } });
    expect(rejected.status).toBe(400);
    expect(await rejected.json()).toMatchObject({ problems: [{ path: "", message: "a body is required" }] });
  });

  it("a validator that throws or rejects (a Standard Schema or a function) is an application error: 500, a failure", async () => {
    const router = createRouter(baseConfig({ versions: ["v1", "v2", "v3"] }));
    const stats = observedStats();
    const broken = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => {
          throw new Error("schema broke");
        },
      },
    };
    const url = await start(
      router,
      { stats },
      jsonBody,
      validate({ v1: broken, v2: async () => Promise.reject(new Error("validator rejected")), v3: () => true }),
      echo,
    );
    const post = (version: string) => fetch(url, { method: "POST", headers: { "x-api-version": version }, body: "{}" });
    expect((await post("1")).status).toBe(500);
    expect((await post("2")).status).toBe(500);
    expect((await post("3")).status).toBe(200);
    await expect.poll(() => stats.outcomes.length).toBe(3);
    expect(stats.outcomes.map((o) => o.outcome.status)).toEqual([500, 500, 200]);
    expect(stats.outcomes[0]?.outcome.error).toMatchObject({ message: "schema broke" });
  });

  it("records outcomes on finish: thrown errors fail, ctx.throw(4xx) does not", async () => {
    const router = createRouter(baseConfig({ split: { v1: 100 } }));
    const stats = observedStats();
    const url = await start(router, { stats, key: (ctx) => ctx.get("x-user-id") || undefined }, (ctx) => {
      if (ctx.path === "/boom") throw new Error("v1 broke");
      if (ctx.path === "/missing") ctx.throw(404, "no such thing");
      ctx.body = "ok";
    });
    expect((await fetch(`${url}/ok`, { headers: { "x-user-id": "alice" } })).status).toBe(200);
    expect((await fetch(`${url}/boom`)).status).toBe(500);
    expect((await fetch(`${url}/missing`)).status).toBe(404);
    await expect.poll(() => stats.outcomes.length).toBe(3);
    expect(stats.outcomes[0]).toEqual({ version: "v1", outcome: { status: 200, durationMs: expect.any(Number), client: "alice" } });
    expect(stats.outcomes[1]?.outcome).toMatchObject({ status: 500, error: expect.objectContaining({ message: "v1 broke" }) });
    expect(stats.outcomes[2]?.outcome).toEqual({ status: 404, durationMs: expect.any(Number) });
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 3, errors: 1, clients: 1 });
  });

  it("keeps turnout's headers on an error answered by Koa's default error handler, which removes every header first", async () => {
    const router = createRouter(retiringConfig());
    const shared = new Error("one error object thrown by every request");
    const url = await start(router, { clock: () => DEPRECATED, pin: { cookie: true } }, (ctx) => {
      if (ctx.path.endsWith("/missing")) ctx.throw(404, "no such user", { headers: { "x-reason": "gone" } });
      throw shared;
    });
    const broken = await fetch(`${url}/api/v1/users`);
    expect(broken.status).toBe(500);
    expect(broken.headers.get("x-api-version")).toBe("v1");
    expect(broken.headers.get("x-turnout-pin")).toMatch(/^v1~/);
    expect(broken.headers.get("set-cookie")).toMatch(/^turnout_pin=v1~/);
    expect(broken.headers.get("deprecation")).toBe("@1735689600");
    expect(broken.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect(broken.headers.get("link")).toContain('rel="successor-version"');
    expect(Object.hasOwn(shared, "headers")).toBe(false); // lent for the answer only, never left on the error
    const missing = await fetch(`${url}/api/v1/missing`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-reason")).toBe("gone"); // the error's own headers still apply
    expect(missing.headers.get("x-api-version")).toBe("v1");
    expect(missing.headers.get("deprecation")).toBe("@1735689600");
  });

  it("never breaks the request on a fault inside turnout", async () => {
    const router = createRouter(baseConfig({ split: { v2: 100 } }));
    const logger = memoryLogger();
    const app = new KoaClass();
    const middleware = turnout(router, {
      logger,
      attributes: () => {
        throw new Error("attributes broke");
      },
    });
    app.use(middleware);
    app.use(echo);
    running = await listen(app.listen(0, "127.0.0.1"));
    const response = await fetch(running.url);
    expect(await response.json()).toEqual({ version: "v1", reason: "error" });
    expect(middleware.counters.faults).toBe(1);
    expect(logger.entries[0]?.message).toMatch(/deciding the version failed/);
  });

  it("rejects bad options and bad versioned() arguments with every problem listed", () => {
    const router = createRouter(baseConfig());
    try {
      turnout(router, { stats: {}, clock: 5, enforceSunset: "yes" } as never);
      expect.unreachable();
    } catch (error) {
      expect(isTurnoutConfigError(error)).toBe(true);
      expect((error as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(["clock", "enforceSunset", "stats"]);
    }
    try {
      versioned({}, { fallback: "v9" } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`)).toEqual([
        "empty handlers",
        "unknown_version options.fallback",
      ]);
    }
  });

  it("types ctx.state.turnout as the Decision", () => {
    const check = (ctx: Context): Decision | undefined => ctx.state.turnout;
    expect(typeof check).toBe("function");
  });
});

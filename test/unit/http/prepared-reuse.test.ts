// Without stats the engine hands the same prepared headers to every request with the same decision and pin. What
// must never be reused: a pin from an earlier step once the clock has moved on, a Set-Cookie for a pin the client
// sent back (honoured, not re-issued), and a gone version's headers once its sunset has passed.
import { describe, expect, it } from "vitest";
import { createRouter } from "../../../src/router/index.js";
import { createEngine } from "../../../src/integrations/http/engine.js";
import type { RouterConfig } from "../../../src/types.js";
import { LIFECYCLE_V1, retiringConfig } from "../../integration/fixtures.js";

const CONFIG: RouterConfig = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 50, v2: 50 }, stickiness: ["header:x-user-id"] };
const quiet = { warn: () => undefined, error: () => undefined };
const T0 = Date.parse("2026-01-01T00:00:00Z");
const header = (pairs: readonly (readonly [string, string])[], name: string): string | undefined => pairs.find(([n]) => n === name)?.[1];

describe("prepared headers reused without stats", () => {
  it("reuses them for the same decision and pin, and issues a new pin once the clock reaches the next step", () => {
    let now = T0;
    const engine = createEngine(createRouter(CONFIG), { clock: () => now, logger: quiet });
    const request = { headers: { "x-user-id": "user-42" } };
    const first = engine.prepare(request, "/users", undefined);
    expect(engine.prepare(request, "/users", undefined)).toBe(first);
    now += 120_000; // past the pin's expiry step (15 min pins: 15 s steps)
    const later = engine.prepare(request, "/users", undefined);
    expect(later.decision).toBe(first.decision);
    expect(header(later.headers, "x-turnout-pin")).not.toBe(header(first.headers, "x-turnout-pin"));
    expect(header(later.headers, "x-turnout-pin")).toBeTruthy();
  });

  it("sends no Set-Cookie for a pin the client sent back, and a Set-Cookie again for a client without one", () => {
    const engine = createEngine(createRouter(CONFIG), { clock: () => T0, logger: quiet, pin: { cookie: true } });
    const issued = engine.prepare({ headers: { "x-user-id": "user-42" } }, "/users", undefined);
    const pin = header(issued.headers, "x-turnout-pin");
    expect(header(issued.headers, "set-cookie")).toContain(`turnout_pin=`);
    const honoured = engine.prepare({ headers: { "x-turnout-pin": pin } }, "/users", undefined);
    expect(honoured.decision.reason).toBe("pinned");
    expect(header(honoured.headers, "set-cookie")).toBeUndefined();
    const fresh = engine.prepare({ headers: { "x-user-id": "user-42" } }, "/users", undefined);
    expect(header(fresh.headers, "set-cookie")).toBe(header(issued.headers, "set-cookie"));
  });

  it("answers 410 once the sunset has passed, after serving the version from reused headers", () => {
    let now = Date.parse(LIFECYCLE_V1.sunset) - 10;
    const engine = createEngine(createRouter(retiringConfig()), { clock: () => now, logger: quiet });
    expect(engine.prepare({ headers: {} }, "/api/v1/users", undefined).answer).toBeUndefined();
    expect(engine.prepare({ headers: {} }, "/api/v1/users", undefined).answer).toBeUndefined();
    now += 10;
    expect(engine.prepare({ headers: {} }, "/api/v1/users", undefined).answer?.status).toBe(410);
  });
});

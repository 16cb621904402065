// decide(): every rule kind, the precedence between them, pins, and junk input.
import { describe, expect, it } from "vitest";
import { type Decision, type RouterConfig, bucketOf, createRouter, seedOf } from "../../../src/index.js";
import { mulberry32 } from "../../../src/internal/random.js";

const base: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-transaction-id", "header:x-user-id", "cookie:uid", "attr:userId", "key"],
};

/** A seeded generator for keyless tests: deterministic, uniform enough. */
const seeded = mulberry32;

/** A key whose decision under `router` is `version` (searched deterministically). */
function keyFor(router: ReturnType<typeof createRouter>, version: string): string {
  for (let i = 0; ; i++) if (router.decide({ key: `k-${i}` }).version === version) return `k-${i}`;
}

describe("weighted routing", () => {
  it("is deterministic and sticky per key, with the documented reason and pin", () => {
    const router = createRouter(base);
    const first = router.decide({ headers: { "x-user-id": "user-123" } });
    expect(first.reason).toBe("weighted_routing");
    expect(first.rule).toBe("split");
    expect(first.revision).toBe(1);
    expect(first.pin).toMatch(/^v[12]~1~[0-9a-z]+$/);
    for (let i = 0; i < 10; i++) expect(router.decide({ headers: { "x-user-id": "user-123" } })).toBe(first);
  });

  it("returns frozen, interned decisions", () => {
    const router = createRouter(base);
    const keys = Array.from({ length: 50 }, (_, i) => `user-${i}`).filter((key) => router.decide({ key }).version === "v1");
    expect(keys.length).toBeGreaterThan(10);
    const a = router.decide({ key: keys[0]! });
    const b = router.decide({ key: keys[1]! });
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toBe(b); // different keys, same outcome: one shared object
    expect(() => {
      (a as { version: string }).version = "v2";
    }).toThrow();
  });

  it("marks the canary's decisions", () => {
    const router = createRouter(base);
    expect(router.decide({ key: keyFor(router, "v2") }).canary).toBe(true);
    expect(router.decide({ key: keyFor(router, "v1") }).canary).toBe(false);
  });

  it("takes the first present stickiness source", () => {
    const router = createRouter(base);
    const byTransaction = router.decide({ key: "tx-9" });
    const viaHeader = router.decide({ headers: { "x-transaction-id": "tx-9", "x-user-id": "someone-else" }, key: "other" });
    expect(viaHeader.version).toBe(byTransaction.version);
    expect(router.explain({ headers: { "x-user-id": "u-1" }, cookies: { uid: "c-1" } }).key).toEqual({ source: "header:x-user-id", value: "u-1" });
    expect(router.explain({ cookies: { uid: "c-1" }, attributes: { userId: "a-1" } }).key).toEqual({ source: "cookie:uid", value: "c-1" });
    expect(router.explain({ headers: { cookie: 'theme=dark; uid="c-2"' } }).key).toEqual({ source: "cookie:uid", value: "c-2" });
    expect(router.explain({ attributes: { userId: 42 } }).key).toEqual({ source: "attr:userId", value: "42" });
    expect(router.explain({ headers: { "x-user-id": "" }, key: "k" }).key).toEqual({ source: "key", value: "k" });
  });

  it("reads Headers-like objects and arrays of header values", () => {
    const router = createRouter(base);
    const plain = router.decide({ headers: { "x-user-id": "user-7" } });
    expect(router.decide({ headers: new Headers({ "X-User-Id": "user-7" }) })).toBe(plain);
    expect(router.decide({ headers: { "x-user-id": ["user-7", "user-8"] } })).toBe(plain);
  });

  it("spreads over any number of versions", () => {
    const router = createRouter({ versions: ["a", "b", "c", "d"], stable: "a", split: { a: 10, b: 20, c: 30, d: 40 } });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) {
      const v = router.decide({ key: `user-${i}` }).version;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(counts.a! / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.d! / 20_000).toBeCloseTo(0.4, 1);
  });

  it("sends everything to the stable version when there is no split", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1" });
    for (let i = 0; i < 100; i++) expect(router.decide({ key: `k${i}` }).version).toBe("v1");
  });

  it("re-randomises every assignment when the salt changes", () => {
    const a = createRouter({ ...base, split: { v1: 50, v2: 50 } });
    const b = createRouter({ ...base, split: { v1: 50, v2: 50 }, salt: "new-experiment" });
    let same = 0;
    for (let i = 0; i < 2000; i++) if (a.decide({ key: `u${i}` }).version === b.decide({ key: `u${i}` }).version) same++;
    expect(same / 2000).toBeGreaterThan(0.4);
    expect(same / 2000).toBeLessThan(0.6);
  });
});

describe("keyless traffic", () => {
  it("random: uses the injected rng", () => {
    const router = createRouter({ ...base, stickiness: ["key"] }, { rng: () => 0.05 });
    expect(router.decide({}).version).toBe("v2"); // the canary owns buckets 0–999
    expect(router.decide({}).reason).toBe("keyless");
    const high = createRouter({ ...base, stickiness: ["key"] }, { rng: () => 0.95 });
    expect(high.decide({}).version).toBe("v1");
  });

  it("random: follows the weights", () => {
    const router = createRouter({ ...base, split: { v1: 70, v2: 30 } }, { rng: seeded(7) });
    let v2 = 0;
    for (let i = 0; i < 20_000; i++) if (router.decide({}).version === "v2") v2++;
    expect(v2 / 20_000).toBeCloseTo(0.3, 1);
  });

  it("round-robin: exact proportions, heaviest first (seed 002: the first keyless request of 80/20 is v1)", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", split: { v1: 80, v2: 20 }, keyless: "round-robin" });
    const sequence = Array.from({ length: 10 }, () => router.decide({}).version);
    expect(sequence[0]).toBe("v1");
    expect(sequence.filter((v) => v === "v2")).toHaveLength(2);
  });

  it("round-robin restarts its cycle after an update", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", split: { v1: 80, v2: 20 }, keyless: "round-robin" });
    router.decide({});
    router.setSplit({ v1: 75, v2: 25 });
    expect(Array.from({ length: 4 }, () => router.decide({}).version).sort()).toEqual(["v1", "v1", "v1", "v2"]);
  });

  it("stable: anonymous traffic never reaches the canary", () => {
    const router = createRouter({ ...base, split: { v1: 0, v2: 100 }, keyless: "stable" });
    const decision = router.decide({});
    expect(decision).toMatchObject({ version: "v1", reason: "fallback" });
    expect(router.decide({ key: "k" }).version).toBe("v2");
  });

  it("a broken rng gives the stable version with reason error, and tells the logger", () => {
    const logged: string[] = [];
    const logger = { warn: () => {}, error: (message: string) => logged.push(message) };
    const router = createRouter(base, { rng: () => Number.NaN, logger });
    expect(router.decide({})).toMatchObject({ version: "v1", reason: "error" });
    expect(logged).toHaveLength(1);
  });
});

describe("the keyless rng's range", () => {
  it("takes exactly 0 as the first bucket and 0.99999 as the last, and refuses 1, a negative number or more as a broken rng (stable, reason error)", () => {
    const logger = { warn: () => {}, error: () => {} };
    const split = { ...base, split: { v1: 10, v2: 90 } };
    // The two ends of [0, 1) are the first and the last bucket: with a 10/90 split they are the two versions.
    const first = createRouter(split, { rng: () => 0, logger }).decide({});
    const last = createRouter(split, { rng: () => 0.99999, logger }).decide({});
    expect([first.reason, last.reason]).toEqual(["keyless", "keyless"]);
    expect([first.version, last.version].sort()).toEqual(["v1", "v2"]);
    for (const r of [1, -0.0001, 1.5, Number.POSITIVE_INFINITY]) {
      const errors: unknown[] = [];
      const told = { warn: () => {}, error: (_message: string, context?: { error?: unknown }) => errors.push(context?.error) };
      expect(createRouter(split, { rng: () => r, logger: told }).decide({})).toMatchObject({ version: "v1", reason: "error" });
      // The logger is told what was wrong with the rng, not of an error deeper down.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(RangeError);
      expect((errors[0] as Error).message).toBe(`rng returned ${String(r)}, expected a number in [0, 1)`);
    }
  });
});

describe("header overrides", () => {
  const config: RouterConfig = {
    ...base,
    split: { v1: 100, v2: 0 },
    overrides: [
      { header: "x-canary", equals: "true", version: "v2" },
      { header: "x-beta", values: ["1", "yes"], version: "v2" },
      { header: "user-agent", matches: "^internal-probe/", version: "v2" },
      { header: "X-Force-Stable", version: "v1" },
    ],
  };
  const router = createRouter(config);

  it("beat the weights (seed 002: x-beta → v2, header_match)", () => {
    expect(router.decide({ key: "k", headers: { "x-canary": "true" } })).toMatchObject({ version: "v2", reason: "header_match", rule: "overrides[0]" });
    expect(router.decide({ headers: { "x-beta": "yes" } })).toMatchObject({ version: "v2", rule: "overrides[1]" });
    expect(router.decide({ headers: { "user-agent": "internal-probe/1.2" } })).toMatchObject({ version: "v2", rule: "overrides[2]" });
    expect(router.decide({ headers: { "x-force-stable": "" } })).toMatchObject({ version: "v1", reason: "header_match", rule: "overrides[3]" });
  });

  it("do not match near misses", () => {
    expect(router.decide({ key: "k", headers: { "x-canary": "TRUE" } }).reason).toBe("weighted_routing");
    expect(router.decide({ key: "k", headers: { "x-beta": "no" } }).reason).toBe("weighted_routing");
    expect(router.decide({ key: "k", headers: { "user-agent": `internal-probe/${"x".repeat(600)}` } }).reason).toBe("weighted_routing");
  });
});

describe("explicit versions", () => {
  const router = createRouter({
    ...base,
    versions: ["v1", "v2", "v3"],
    split: { v1: 100, v2: 0, v3: 0 },
    overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
    explicit: { path: { prefix: "/api" }, header: "x-api-version", accept: "api", query: "version", aliases: { "2024-06-01": "v3" } },
  });

  it("reads the path, a header, the Accept type and a query parameter", () => {
    expect(router.decide({ path: "/api/v2/users" })).toMatchObject({ version: "v2", reason: "explicit_version", rule: "explicit.path" });
    expect(router.decide({ headers: { "x-api-version": "2" } })).toMatchObject({ version: "v2", rule: "explicit.header" });
    expect(router.decide({ headers: { accept: "text/html, application/vnd.api.v3+json;q=0.9" } })).toMatchObject({ version: "v3", rule: "explicit.accept" });
    expect(router.decide({ path: "/api/users?version=3" })).toMatchObject({ version: "v3", rule: "explicit.query" });
    expect(router.decide({ path: "/api/users", query: new URLSearchParams("version=v2") })).toMatchObject({ version: "v2" });
    expect(router.decide({ headers: { "x-api-version": "2024-06-01" } })).toMatchObject({ version: "v3" });
  });

  it("beats everything else, including overrides and pins", () => {
    const pin = router.decide({ path: "/api/v3/x" }).pin;
    expect(router.decide({ path: "/api/v2/users", headers: { "x-canary": "false" }, pin })).toMatchObject({ version: "v2", reason: "explicit_version" });
    expect(router.decide({ path: "/api/v1/users", headers: { "x-canary": "true" } })).toMatchObject({ version: "v1", reason: "explicit_version" });
  });

  it("answers unknown_version (stable version, the token asked for) instead of throwing", () => {
    expect(router.decide({ path: "/api/v9/users" })).toMatchObject({ version: "v1", reason: "unknown_version", requested: "v9", rule: "explicit.path" });
    expect(router.decide({ headers: { "x-api-version": "banana" } })).toMatchObject({ reason: "unknown_version", requested: "banana" });
    expect(router.decide({ headers: { "x-api-version": "x".repeat(5000) } }).requested).toHaveLength(64);
  });

  it("reports one requested name for an unknown version asked for by path, header, query or Accept (v9, not 9)", () => {
    for (const request of [
      { path: "/api/v9/users" },
      { headers: { "x-api-version": "9" } },
      { headers: { "x-api-version": "v9" } },
      { path: "/api/users?version=9" },
      { headers: { accept: "application/vnd.api.9+json" } },
    ]) {
      expect(router.decide(request)).toMatchObject({ version: "v1", reason: "unknown_version", requested: "v9" });
      expect(router.explain(request).decision.requested).toBe("v9");
    }
    expect(router.decide({ headers: { "x-api-version": "beta" } }).requested).toBe("beta");
    expect(router.decide({ headers: { "x-api-version": "9".repeat(100) } }).requested).toBe(`v${"9".repeat(63)}`);
    // Versions not named "v…": a bare number is reported as sent.
    const dated = createRouter({ versions: ["2024", "2025"], stable: "2024", split: { "2024": 100 }, explicit: { header: "x-api-version" } });
    expect(dated.decide({ headers: { "x-api-version": "9" } })).toMatchObject({ reason: "unknown_version", requested: "9" });
  });

  it('lets an alias win over the version its token would name by "v" + token (regression: no test had a clash)', () => {
    const clash = createRouter({
      versions: ["v1", "v2"],
      stable: "v1",
      split: { v1: 100, v2: 0 },
      explicit: { header: "x-api-version", aliases: { "2": "v1" } },
    });
    expect(clash.decide({ headers: { "x-api-version": "2" } })).toMatchObject({ version: "v1", reason: "explicit_version" });
    expect(clash.decide({ headers: { "x-api-version": "v2" } })).toMatchObject({ version: "v2", reason: "explicit_version" });
  });

  it("matches the vendor media type in Accept case-insensitively (regression: never tested)", () => {
    for (const accept of ["application/VND.API.v3+json", "Application/Vnd.Api.v3+JSON", "application/vnd.api.v3+json"]) {
      expect(router.decide({ headers: { accept } }), accept).toMatchObject({ version: "v3", rule: "explicit.accept" });
    }
  });

  it("accepts a version name of exactly 64 characters in the path, and no longer one (regression: never tested)", () => {
    const long = `v${"x".repeat(63)}`;
    const r = createRouter({
      versions: ["v1", long],
      stable: "v1",
      split: { v1: 100 },
      stickiness: ["key"],
      explicit: { path: { prefix: "/api", pattern: "^v.+$" } },
    });
    expect(r.decide({ path: `/api/${long}/users` })).toMatchObject({ version: long, reason: "explicit_version" });
    expect(r.decide({ key: "k", path: `/api/${long}x/users` }).reason).toBe("weighted_routing");
  });

  it("does not treat ordinary paths as version requests", () => {
    expect(router.decide({ key: "k", path: "/api/users/v2" }).reason).toBe("weighted_routing");
    expect(router.decide({ key: "k", path: "/apiv2/users" }).reason).toBe("weighted_routing");
    expect(router.decide({ key: "k", path: "/api/" }).reason).toBe("weighted_routing");
  });
});

describe("pins (seed 003: every step of a payment reaches one version)", () => {
  it("keep a transaction on its version while the weights change", () => {
    const router = createRouter({ ...base, split: { v1: 50, v2: 50 } });
    const key = keyFor(router, "v2");
    const create = router.decide({ key });
    router.setCanaryPercent(0); // rollback: new traffic goes to v1, v2 drains
    expect(router.decide({ key }).version).toBe("v1");
    const authorize = router.decide({ key, pin: create.pin });
    expect(authorize).toMatchObject({ version: "v2", reason: "pinned", revision: 2 });
    const capture = router.decide({ key, pin: authorize.pin });
    expect(capture.version).toBe("v2");
    expect(authorize.pin).not.toBe(create.pin); // re-issued at the new revision
  });

  it("are ignored, with a reason, when the version is no longer live", () => {
    const router = createRouter({ ...base, versions: ["v1", "v2", "v3"], split: { v1: 50, v2: 0, v3: 50 } });
    const pin = router.decide({ path: "/", headers: {}, key: keyFor(router, "v3") }).pin;
    router.update({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 } });
    expect(router.decide({ key: "k", pin })).toMatchObject({ version: "v1", reason: "weighted_routing", pinIgnored: "not_live" });
  });

  it("are ignored when garbled or forged", () => {
    const router = createRouter(base);
    const pin = router.decide({ key: "k" }).pin;
    const forged = pin.replace(/^v[12]/, (v) => (v === "v1" ? "v2" : "v1"));
    for (const bad of [forged, `${pin}x`, "v2", "v2~1", "~~", "v2~1~", "x".repeat(1000), "v2~zzzzzzzzzzzz~1"]) {
      const decision = router.decide({ key: "k", pin: bad });
      expect(decision.reason).toBe("weighted_routing");
      expect(decision.pinIgnored).toBe("invalid");
    }
  });

  it("depend on the pin secret", () => {
    const a = createRouter(base, { pinSecret: "a" });
    const b = createRouter(base, { pinSecret: "b" });
    const pin = a.decide({ path: "", key: keyFor(a, "v2") }).pin;
    expect(b.decide({ key: "k", pin }).pinIgnored).toBe("invalid");
  });

  it("lose to header overrides and beat segments", () => {
    const router = createRouter({
      ...base,
      overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
      segments: [{ version: "v1", include: [{ attr: "plan", equals: "free" }] }],
    });
    const pinV2 = router.decide({ headers: { "x-canary": "true" } }).pin;
    expect(router.decide({ pin: pinV2, attributes: { plan: "free" } })).toMatchObject({ version: "v2", reason: "pinned" });
    const pinV1 = router.decide({ attributes: { plan: "free" } }).pin;
    expect(router.decide({ pin: pinV1, headers: { "x-canary": "true" } })).toMatchObject({ version: "v2", reason: "header_match" });
  });
});

describe("draining (a live version at weight 0)", () => {
  it("gets no new traffic but still serves explicit and pinned requests", () => {
    const router = createRouter({ ...base, split: { v1: 100, v2: 0 }, explicit: { header: "x-api-version" } });
    for (let i = 0; i < 500; i++) expect(router.decide({ key: `u${i}` }).version).toBe("v1");
    expect(router.decide({ headers: { "x-api-version": "v2" } }).version).toBe("v2");
  });
});

describe("segments", () => {
  const router = createRouter({
    ...base,
    split: { v1: 100, v2: 0 },
    segments: [
      {
        name: "paid",
        version: "v2",
        include: [{ header: "x-user-plan", values: ["pro", "enterprise"] }],
        exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
      },
      {
        name: "staff",
        version: "v2",
        include: [
          { attr: "email", matches: "@example\\.com$" },
          { attr: "verified", equals: "true" },
        ],
      },
    ],
  });

  it("route matching users (include all, exclude any)", () => {
    expect(router.decide({ headers: { "x-user-plan": "pro" } })).toMatchObject({ version: "v2", reason: "segment_match", rule: "segments[0]" });
    expect(router.decide({ key: "k", headers: { "x-user-plan": "pro", "x-user-country": "CN" } }).reason).toBe("weighted_routing");
    expect(router.decide({ key: "k", headers: { "x-user-plan": "free" } }).reason).toBe("weighted_routing");
    expect(router.decide({ attributes: { email: "a@example.com", verified: true } })).toMatchObject({ rule: "segments[1]" });
    expect(router.decide({ key: "k", attributes: { email: "a@example.com", verified: false } }).reason).toBe("weighted_routing");
  });

  it("lose to header overrides", () => {
    const withOverride = createRouter({
      ...base,
      overrides: [{ header: "x-stable", version: "v1" }],
      segments: [{ version: "v2", include: [{ header: "x-user-plan", equals: "pro" }] }],
    });
    expect(withOverride.decide({ headers: { "x-stable": "1", "x-user-plan": "pro" } })).toMatchObject({ version: "v1", reason: "header_match" });
  });
});

describe("experiments", () => {
  const config: RouterConfig = {
    ...base,
    split: { v1: 100, v2: 0 },
    experiments: [
      {
        name: "checkout-flow-v2",
        salt: "checkout-v2-2024",
        paths: ["/api/v1/checkout", "/api/v1/cart"],
        variants: [
          { name: "control", weight: 50, version: "v1" },
          { name: "treatment", weight: 50, version: "v2" },
        ],
        include: [{ header: "x-user-plan", values: ["pro", "enterprise"] }],
        exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
      },
      {
        name: "copy-test",
        variants: [
          { name: "A", weight: 1 },
          { name: "B", weight: 1 },
        ],
      },
    ],
  };
  const router = createRouter(config);
  const eligible = (user: string) => ({ path: "/api/v1/checkout", headers: { "x-user-id": user, "x-user-plan": "pro" } });

  it("assign a sticky variant to eligible users, matching assign()", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const decision = router.decide(eligible(`user-${i}`));
      expect(decision.reason).toBe("experiment");
      expect(decision.experiment?.name).toBe("checkout-flow-v2");
      const assignment = router.assign("checkout-flow-v2", `user-${i}`)!;
      expect(decision.experiment?.variant).toBe(assignment.variant);
      expect(decision.version).toBe(assignment.version);
      seen.add(assignment.variant);
    }
    expect(seen).toEqual(new Set(["control", "treatment"]));
  });

  it("respect paths and targeting", () => {
    expect(router.decide({ path: "/api/v1/orders", headers: { "x-user-id": "u", "x-user-plan": "pro" } }).experiment?.name).toBe("copy-test");
    expect(router.decide({ path: "/api/v1/checkoutX", headers: { "x-user-id": "u", "x-user-plan": "pro" } }).experiment?.name).toBe("copy-test");
    expect(router.decide({ ...eligible("u"), headers: { "x-user-id": "u", "x-user-plan": "pro", "x-user-country": "RU" } }).experiment?.name).toBe("copy-test");
    expect(router.decide({ path: "/api/v1/cart/items", headers: { "x-user-id": "u", "x-user-plan": "enterprise" } }).experiment?.name).toBe("checkout-flow-v2");
  });

  it("annotate the decision when the variant names no version", () => {
    const decision = router.decide({ headers: { "x-user-id": "someone" }, path: "/other" });
    expect(decision.reason).toBe("weighted_routing");
    expect(decision.version).toBe("v1");
    expect(decision.experiment).toEqual({ name: "copy-test", variant: router.assign("copy-test", "someone")!.variant });
  });

  it("skip keyless requests", () => {
    const decision = createRouter(config, { rng: () => 0.5 }).decide({ path: "/api/v1/checkout", headers: { "x-user-plan": "pro" } });
    expect(decision.experiment).toBeUndefined();
    expect(decision.reason).toBe("keyless");
  });

  it("assign() answers undefined for unknown experiments and bad keys", () => {
    expect(router.assign("nope", "u")).toBeUndefined();
    expect(router.assign("copy-test", "")).toBeUndefined();
    expect(router.assign("copy-test", 42 as never)).toBeUndefined();
  });

  it("change assignments when their own salt changes, not the router's", () => {
    const resalted = createRouter({ ...config, salt: "other" });
    for (let i = 0; i < 50; i++) expect(resalted.assign("copy-test", `u${i}`)).toEqual(router.assign("copy-test", `u${i}`));
  });
});

describe("mirror", () => {
  it("marks the share of decisions to copy, sticky per key", () => {
    const router = createRouter({ ...base, split: { v1: 100, v2: 0 }, mirror: { version: "v2", percent: 25 } });
    let mirrored = 0;
    for (let i = 0; i < 8000; i++) {
      const decision = router.decide({ key: `u${i}` });
      if (decision.mirror === "v2") mirrored++;
      expect(router.decide({ key: `u${i}` }).mirror).toBe(decision.mirror);
    }
    expect(mirrored / 8000).toBeCloseTo(0.25, 1);
  });

  it("without a key, marks a request for copying by the rng: the first `percent` of [0, 1), not one bucket more", () => {
    const mirrored = (r: number) =>
      createRouter({ ...base, split: { v1: 100, v2: 0 }, mirror: { version: "v2", percent: 25 } }, { rng: () => r }).decide({}).mirror;
    expect([0, 0.1, 0.2499].map(mirrored)).toEqual(["v2", "v2", "v2"]);
    expect([0.25, 0.5, 0.9999].map(mirrored)).toEqual([undefined, undefined, undefined]);
    const share = createRouter({ ...base, split: { v1: 100, v2: 0 }, mirror: { version: "v2", percent: 25 } }, { rng: seeded(11) });
    let copies = 0;
    for (let i = 0; i < 8000; i++) if (share.decide({}).mirror === "v2") copies++;
    expect(copies / 8000).toBeCloseTo(0.25, 1);
  });

  it("with a key, marks the keys whose mirror bucket is below percent × 100: the boundary bucket itself is not copied", () => {
    // The mirror's buckets come from its own seed (`mirror:` + the router's salt), apart from the split's.
    const seed = seedOf("mirror:");
    const inBucket = (bucket: number): string => {
      for (let i = 0; i < 3_000_000; i++) if (bucketOf(`k${i}`, seed) === bucket) return `k${i}`;
      throw new Error(`no key in bucket ${bucket}`);
    };
    const router = createRouter({ ...base, split: { v1: 100, v2: 0 }, mirror: { version: "v2", percent: 12.34 } });
    expect([1233, 1234, 0, 9999].map((bucket) => router.decide({ key: inBucket(bucket) }).mirror)).toEqual(["v2", undefined, "v2", undefined]);
  });

  it("never mirrors a version to itself, and honours `from`", () => {
    const router = createRouter({ ...base, split: { v1: 50, v2: 50 }, mirror: { version: "v2", percent: 100 } });
    expect(router.decide({ key: keyFor(router, "v2") }).mirror).toBeUndefined();
    expect(router.decide({ key: keyFor(router, "v1") }).mirror).toBe("v2");
    const none = createRouter({ ...base, mirror: { version: "v2", percent: 0 } });
    expect(none.decide({ key: "u" }).mirror).toBeUndefined();
  });
});

describe("lifecycle", () => {
  it("rides on the decision with epoch times and the configured links", () => {
    const router = createRouter({
      ...base,
      split: { v1: 0, v2: 100 },
      lifecycle: {
        v2: {
          deprecated: "2025-01-01T00:00:00Z",
          sunset: "2025-06-01T00:00:00Z",
          migrationGuide: "https://docs.example.com/migration/v1-to-v2",
        },
      },
    });
    const decision = router.decide({ key: "u" });
    expect(decision.lifecycle?.deprecatedAt).toBe(Date.UTC(2025, 0, 1));
    expect(decision.lifecycle?.sunsetAt).toBe(Date.UTC(2025, 5, 1));
    expect(decision.lifecycle?.config.migrationGuide).toBe("https://docs.example.com/migration/v1-to-v2");
  });
});

describe("update, setSplit, setCanaryPercent, subscribe", () => {
  it("bump the revision and notify subscribers", () => {
    const router = createRouter(base);
    const changes: number[] = [];
    const stop = router.subscribe((change) => changes.push(change.revision));
    expect(router.setSplit({ v1: 80, v2: 20 })).toBe(2);
    expect(router.canaryPercent).toBe(20);
    expect(router.setCanaryPercent(35)).toBe(3);
    expect(router.config.split).toEqual({ v1: 65, v2: 35 });
    expect(router.update(base, { revision: 10 })).toBe(10);
    stop();
    router.setCanaryPercent(1);
    expect(changes).toEqual([2, 3, 10]);
  });

  it("a throwing subscriber does not break the update", () => {
    const router = createRouter(base, { logger: { warn: () => {}, error: () => {} } });
    router.subscribe(() => {
      throw new Error("bad listener");
    });
    expect(router.setCanaryPercent(50)).toBe(2);
    expect(router.canaryPercent).toBe(50);
  });

  it("setCanaryPercent keeps other versions' shares, refuses impossible values", () => {
    const router = createRouter({ versions: ["v1", "v2", "v3"], stable: "v1", canary: "v3", split: { v1: 60, v2: 30, v3: 10 } });
    router.setCanaryPercent(40);
    expect(router.config.split).toEqual({ v1: 30, v2: 30, v3: 40 });
    expect(() => router.setCanaryPercent(80)).toThrow(/at most 70/);
    expect(() => router.setCanaryPercent(-1)).toThrow(/0–100/);
    expect(() => router.setCanaryPercent(Number.NaN)).toThrow();
    expect(router.canaryPercent).toBe(40);
  });

  it("setCanaryPercent infers the canary of a two-version config", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1" });
    router.setCanaryPercent(10);
    expect(router.config.canary).toBe("v2");
    expect(router.canaryPercent).toBe(10);
    const three = createRouter({ versions: ["v1", "v2", "v3"], stable: "v1" });
    expect(() => three.setCanaryPercent(10)).toThrow(/canary/);
  });

  it("exposes a deep-frozen copy of the config", () => {
    const input = { ...base, split: { v1: 90, v2: 10 } };
    const router = createRouter(input);
    input.split.v1 = 0;
    expect(router.config.split).toEqual({ v1: 90, v2: 10 });
    expect(Object.isFrozen(router.config.split)).toBe(true);
    expect(Object.isFrozen(router.config.versions)).toBe(true);
  });

  it("decide can be detached from the router", () => {
    const { decide } = createRouter(base);
    expect(decide({ key: "u" }).version).toMatch(/^v[12]$/);
  });
});

describe("explain", () => {
  it("agrees with decide and shows every rule considered", () => {
    const router = createRouter({
      ...base,
      overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
      segments: [{ name: "paid", version: "v2", include: [{ header: "x-plan", equals: "pro" }] }],
    });
    const request = { headers: { "x-user-id": "user-42", "x-plan": "free" } };
    const explanation = router.explain(request);
    expect(explanation.decision).toBe(router.decide(request));
    expect(explanation.steps.map((s) => `${s.rule}:${s.matched}`)).toEqual(["overrides[0]:false", "pin:false", "segments[0]:false", "split:true"]);
    expect(explanation.bucket).toBeGreaterThanOrEqual(0);
    expect(explanation.key).toEqual({ source: "header:x-user-id", value: "user-42" });
  });

  it("does not advance round-robin", () => {
    const router = createRouter({ ...base, keyless: "round-robin", split: { v1: 50, v2: 50 } });
    router.explain({});
    router.explain({});
    expect(router.decide({}).version).toBe("v1");
  });
});

describe("junk input never throws", () => {
  const router = createRouter(
    {
      ...base,
      overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
      explicit: { path: {}, header: "x-api-version", accept: "api", query: "version" },
      segments: [{ version: "v2", include: [{ attr: "plan", values: ["pro"] }] }],
      experiments: [{ name: "e", variants: [{ name: "A", weight: 1 }] }],
      mirror: { version: "v2", percent: 50 },
    },
    { rng: () => 0.5 },
  );

  const junk: unknown[] = [
    undefined,
    null,
    0,
    -1,
    Number.NaN,
    "string",
    true,
    [],
    [1, 2],
    Symbol("s"),
    () => 1,
    new Date(),
    { headers: null },
    { headers: 5 },
    { headers: "x-canary: true" },
    { headers: [["x-canary", "true"]] },
    { headers: { "x-user-id": 5 } },
    { headers: { "x-user-id": ["a", 1] } },
    { headers: { "x-user-id": [1, "a"] } },
    { headers: { "x-user-id": { toString: () => "u" } } },
    { headers: { __proto__: { "x-canary": "true" } } },
    { headers: JSON.parse('{"__proto__": "x", "constructor": "y"}') },
    { headers: Object.create(null) },
    { headers: { get: "not a function" } },
    { headers: { get: () => 5 } },
    { key: 5 },
    { key: "" },
    { key: "x".repeat(1_000_000) },
    { key: "\ud800" },
    { pin: 7 },
    { pin: "" },
    { pin: "~".repeat(500) },
    { path: 7 },
    { path: "/v1".repeat(10_000) },
    { path: "?version=" },
    { path: "/%%%?version=%zz" },
    { query: { version: ["2", "3"] } },
    { query: { version: 2 } },
    { query: null },
    { cookies: "uid=1" },
    { cookies: { uid: 5 } },
    { cookies: null, headers: { cookie: ";;;==;" } },
    { attributes: { plan: Number.NaN } },
    { attributes: { plan: { toString: () => "pro" } } },
    { attributes: "plan=pro" },
  ];

  it.each(junk.map((value, i) => [i, value] as const))("case %i gets a defined decision", (_, value) => {
    const decision: Decision = router.decide(value as never);
    expect(router.config.versions).toContain(decision.version);
    expect(typeof decision.reason).toBe("string");
  });

  it("a throwing getter gives reason error, not an exception", () => {
    const hostile = {
      get headers(): never {
        throw new Error("gotcha");
      },
    };
    expect(router.decide(hostile as never)).toMatchObject({ version: "v1", reason: "error" });
    expect(router.explain(hostile as never).decision.reason).toBe("error");
  });
});

describe("fractional bucket boundaries (regression: rounding down instead of round() slipped through)", () => {
  it("split { v2: 2, v1: 1 }: the boundary is round(10000 × 2/3) = 6667, so bucket 6666 is still in the first range", () => {
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v2: 2, v1: 1 }, stickiness: ["key"] });
    const found = new Map<number, string>();
    for (let i = 0; found.size < 3 && i < 2_000_000; i++) {
      const explained = router.explain({ key: `k${i}` });
      if (explained.bucket === 0 || explained.bucket === 6666 || explained.bucket === 6667) found.set(explained.bucket, explained.decision.version);
    }
    expect(found.size).toBe(3);
    expect(found.get(6666)).toBe(found.get(0));
    expect(found.get(6667)).not.toBe(found.get(0));
  });
});

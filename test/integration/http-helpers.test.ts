/**
 * Properties of the pure helpers behind the HTTP integrations: junk in, a defined answer out.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withoutHopByHop } from "../../src/integrations/http/forward.js";
import { readCookie, splitTarget } from "../../src/integrations/http/request.js";
import { lifecycleHeaders } from "../../src/integrations/http/respond.js";
import { isStandardSchema, runValidator } from "../../src/integrations/http/validate.js";
import type { Decision } from "../../src/types.js";

const HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

describe("withoutHopByHop", () => {
  it("drops every hop-by-hop header and every header named in Connection, and keeps the rest unchanged", () => {
    fc.assert(
      fc.property(fc.dictionary(token, fc.string()), fc.subarray(HOP), fc.array(token, { maxLength: 4 }), (plain, hops, named) => {
        const headers: Record<string, string> = { ...plain };
        for (const hop of hops) headers[hop] = "x";
        for (const name of named) headers[name] = "y";
        headers.connection = [" Keep-Alive", ...named.map((n) => n.toUpperCase()), ""].join(" ,");
        const out = withoutHopByHop(headers);
        for (const name of [...HOP, ...named]) expect(out[name]).toBeUndefined();
        for (const [name, value] of Object.entries(headers)) {
          if (!HOP.includes(name) && !named.includes(name)) expect(out[name]).toBe(value);
        }
      }),
    );
  });
});

describe("splitTarget", () => {
  it("always gives a path starting with / and never keeps the query or fragment in it", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.webPath()), (target) => {
        const { path, query } = splitTarget(target);
        expect(path.startsWith("/")).toBe(true);
        expect(path.includes("?")).toBe(false);
        expect(path.includes("#")).toBe(false);
        expect(query.includes("#")).toBe(false);
      }),
    );
    expect(splitTarget(undefined)).toEqual({ path: "/", query: "" });
    expect(splitTarget("http://h:1/a/b?x=1#f")).toEqual({ path: "/a/b", query: "x=1" });
  });

  it("a target with a non-http scheme (A:, found by fast-check) keeps a path starting with /", () => {
    expect(splitTarget("A:")).toEqual({ path: "/A:", query: "" });
    expect(splitTarget("mailto:x?y=1")).toEqual({ path: "/mailto:x", query: "y=1" });
    expect(splitTarget("https://h/p?q")).toEqual({ path: "/p", query: "q" });
  });
});

describe("readCookie", () => {
  it("finds a cookie among others whatever their order, and never throws on junk", () => {
    const value = fc.stringMatching(/^[A-Za-z0-9~._-]{1,40}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(token, value), { maxLength: 6 }), value, fc.nat(6), (others, pin, at) => {
        const pairs = others.filter(([name]) => name !== "turnout_pin").map(([n, v]) => `${n}=${v}`);
        pairs.splice(Math.min(at, pairs.length), 0, `turnout_pin=${pin}`);
        expect(readCookie(pairs.join("; "), "turnout_pin")).toBe(pin);
      }),
    );
    fc.assert(fc.property(fc.string(), (junk) => void readCookie(junk, "turnout_pin")));
    expect(readCookie("a=%E0%A4%A; turnout_pin=%E2%9C%93", "turnout_pin")).toBe("✓");
    expect(readCookie("turnout_pin=%E0%A4%A", "turnout_pin")).toBe("%E0%A4%A");
    expect(readCookie("x".repeat(10_000), "turnout_pin")).toBeUndefined();
  });
});

describe("lifecycleHeaders", () => {
  it("writes Deprecation as @epoch-seconds and Sunset as an HTTP-date of the same second", () => {
    const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
    fc.assert(
      fc.property(instant, instant, (deprecatedAt, sunsetAt) => {
        const pairs = new Map(lifecycleHeaders({ deprecatedAt, sunsetAt, config: { policy: "https://example.com/p" } }));
        expect(pairs.get("deprecation")).toBe(`@${Math.floor(deprecatedAt / 1000)}`);
        expect(Date.parse(pairs.get("sunset") as string)).toBe(Math.floor(sunsetAt / 1000) * 1000);
        expect(pairs.get("sunset")).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      }),
    );
  });

  it("leaves out links that are not absolute http(s) URLs and never emits a newline", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (policy, successorUrl) => {
        for (const [, value] of lifecycleHeaders({ config: { policy, successorUrl } })) expect(value).not.toMatch(/[\r\n]/);
      }),
    );
    expect(lifecycleHeaders({ config: { policy: "javascript:alert(1)", successorUrl: "https://x.example/a b" } })).toEqual([
      ["link", '<https://x.example/a%20b>; rel="successor-version"'],
    ]);
  });
});

describe("runValidator", () => {
  const context = { version: "v1", decision: { version: "v1" } as Decision, request: {} };
  it("turns any function result into a list of at most 100 problems", () => {
    fc.assert(
      fc.property(fc.anything(), (result) => {
        const problems = runValidator(() => result as never, {}, context);
        expect(Array.isArray(problems)).toBe(true);
        for (const problem of problems as { path: unknown; message: unknown }[]) {
          expect(typeof problem.path).toBe("string");
          expect(typeof problem.message).toBe("string");
        }
        expect((problems as unknown[]).length).toBeLessThanOrEqual(100);
      }),
    );
  });

  it("reads Standard Schema issue paths, sync and async", async () => {
    const schema = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => ({ issues: [{ message: "bad", path: ["items", 2, { key: "sku" }] }, { message: "root" }] }),
      },
    };
    expect(isStandardSchema(schema)).toBe(true);
    expect(runValidator(schema, {}, context)).toEqual([
      { path: "items[2].sku", message: "bad" },
      { path: "", message: "root" },
    ]);
    const later = { "~standard": { ...schema["~standard"], validate: async () => ({ value: 1 }) } };
    expect(await runValidator(later, {}, context)).toEqual([]);
    expect(runValidator(() => Array.from({ length: 500 }, (_, i) => `p${i}`), {}, context)).toHaveLength(100);
  });
});

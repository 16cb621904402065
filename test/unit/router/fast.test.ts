// The generated decide: injection-proof source, the fallback where code generation from strings is refused, the
// `codegen` option, and compiled code reused across updates that change only values (weights, salt, revision).
import { createContext, runInContext } from "node:vm";
import { hmacSha256 } from "../../../src/router/hmac.js";
import { pinKeys } from "../../../src/router/pin.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type RouterConfig, TurnoutConfigError, createRouter } from "../../../src/index.js";
import { compile } from "../../../src/router/compile.js";
import { generate } from "../../../src/router/fast.js";
import { loadInRealm } from "./realm.js";

const base: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-user-id"],
  overrides: [
    { header: "x-canary", equals: "true", version: "v2" },
    { header: "x-force-version", values: ["v1", "stable"], version: "v1" },
  ],
};

/** Text that would run code if it reached the generated source unescaped, each a valid value or name somewhere. */
const SENTINEL = "__turnoutInjected";
const hostileValues = [
  `"; globalThis.${SENTINEL} = 1; "`,
  `'; globalThis.${SENTINEL} = 1; '`,
  `\`; globalThis.${SENTINEL} = 1; \``,
  `\${globalThis.${SENTINEL} = 1}`,
  `*/ globalThis.${SENTINEL} = 1; /*`,
  `\\"; globalThis.${SENTINEL} = 1; //`,
  `line\nbreak\u2028and\u2029separators\r`,
  "</script><script>alert(1)</script>",
  "\u0000nul",
];
/** Valid header names (HTTP tokens) made of every punctuation a token allows. */
const hostileHeaders = ["x-'quoted'", "x-`tick`", "x-a|b~c^d", "x-*#$%&!+.", "0", "123"];
/** Valid attribute and query names: anything but whitespace. */
const hostileFields = [`a"b`, "c\\d", `e');globalThis.${SENTINEL}=1;('`, "</script>", "${x}", "*/"];

function hostileConfig(): RouterConfig {
  return {
    versions: ["v1", "v2", "v3"],
    stable: "v1",
    canary: "v2",
    split: { v1: 50, v2: 30, v3: 20 },
    salt: hostileValues[0],
    stickiness: [
      ...hostileHeaders.map((name) => `header:${name}` as const),
      ...hostileFields.slice(0, 4).map((name) => `attr:${name}` as const), // stickiness holds 16 sources at most
      ...hostileFields.slice(2).map((name) => `query:${name}` as const),
      "cookie:x-'quoted'",
      "key",
    ],
    overrides: [
      ...hostileValues.map((equals, i) => ({ header: hostileHeaders[i % hostileHeaders.length]!, equals, version: "v3" })),
      { header: "x-`tick`", values: hostileValues, version: "v2" },
      { header: "x-a|b~c^d", values: [...hostileValues, "a", "b", "c", "d", "e"], version: "v2" },
    ],
    explicit: { header: "x-'quoted'", query: hostileFields[2]!, aliases: { [hostileValues[0]!]: "v2" } },
    mirror: { version: "v3", percent: 50 },
  };
}

afterEach(() => {
  delete (globalThis as Record<string, unknown>)[SENTINEL];
  vi.restoreAllMocks();
});

const testPinKeys = pinKeys(hmacSha256, "turnout", [], () => 0);

describe("generated source", () => {
  it("keeps hostile-but-valid names and values inside string literals", () => {
    const config = hostileConfig();
    const { source } = generate(compile(config, 1, testPinKeys));
    // Names and values are in the text only as JSON string literals (U+2028/2029 escaped as well)…
    for (const name of hostileHeaders) expect(source).toContain(`bag[${JSON.stringify(name)}]`);
    for (const name of hostileFields.slice(0, 4)) expect(source).toContain(`readAttribute(request, ${JSON.stringify(name)})`);
    for (const name of hostileFields.slice(2)) expect(source).toContain(`readQuery(request, ${JSON.stringify(name)})`);
    for (const text of hostileValues.slice(0, 6)) expect(source).toContain(`=== ${JSON.stringify(text)}`);
    expect(source).not.toMatch(/[\u2028\u2029\n\r]\s*and/);
    expect(source).toContain("\\u2028and\\u2029separators");
    // …and compiling and running it runs none of them.
    expect(() => new Function("kit", source)).not.toThrow();

    const generated = createRouter(config, { rng: () => 0.5 });
    const generic = createRouter(config, { rng: () => 0.5, codegen: false });
    const requests = [
      ...hostileValues.map((value, i) => ({ headers: { [hostileHeaders[i % hostileHeaders.length]!]: value } })),
      ...hostileValues.map((value) => ({ headers: { "x-`tick`": value } })),
      ...hostileFields.map((name, i) => ({ attributes: { [name]: `user-${i}` } })),
      ...hostileFields.map((name, i) => ({ query: { [name]: `user-${i}` } })),
      ...hostileHeaders.map((name, i) => ({ headers: { [name]: `user-${i}` } })),
      { headers: { cookie: `x-'quoted'=u-1` } },
      { headers: { "x-'quoted'": hostileValues[0] } },
      { path: `/x?${encodeURIComponent(hostileFields[2]!)}=2` },
      { key: hostileValues[1] },
    ];
    for (const request of requests) expect(generated.decide(request)).toEqual(generic.decide(request));
    expect(generated.decide({ headers: { "x-'quoted'": "x" } }).reason).not.toBe("header_match");
    expect(generated.decide({ headers: { [hostileHeaders[1]!]: hostileValues[1] } })).toMatchObject({ reason: "header_match", version: "v3" });
    expect(generated.decide({ headers: { "x-'quoted'": hostileValues[0] } })).toMatchObject({ reason: "explicit_version", version: "v2" }); // an alias
    expect(generated.decide({ headers: { "x-`tick`": hostileValues[6] } })).toMatchObject({ reason: "header_match" });
    expect((globalThis as Record<string, unknown>)[SENTINEL]).toBeUndefined();
  });

  it("is the same text for configs that differ only in weights, salt, revision and lifecycle (the compiled code is reused)", () => {
    const a = generate(compile(base, 1, testPinKeys)).source;
    const b = generate(compile({ ...base, split: { v1: 40, v2: 60 }, salt: "other", lifecycle: { v2: { deprecated: "2030-01-01" } } }, 7, testPinKeys)).source;
    const c = generate(compile({ ...base, overrides: [{ header: "x-beta", equals: "true", version: "v2" }] }, 1, testPinKeys)).source;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it("reads a Headers bag (a Request's) with literal names in the generated code, deciding as the generic decide", () => {
    const config: RouterConfig = { ...base, stickiness: ["header:x-user-id", "cookie:uid"], keyless: "stable", explicit: { header: "x-api-version" } };
    const source = generate(compile(config, 1, testPinKeys)).source;
    expect(source).toContain('get.call(bag, "x-canary")');
    expect(source).toContain('get.call(bag, "x-user-id")');
    const generated = createRouter(config);
    const generic = createRouter(config, { codegen: false });
    const bags: Record<string, string>[] = [
      { "x-user-id": "user-7" },
      { cookie: "a=1; uid=user-9" },
      { "x-canary": "true", "x-user-id": "user-7" },
      { "x-force-version": "stable" },
      { "x-api-version": "v2" },
      { "x-api-version": "v9" },
      {},
    ];
    for (const entries of bags) {
      const decision = generated.decide({ headers: new Headers(entries), path: "/users" });
      expect(decision).toEqual(generic.decide({ headers: new Headers(entries), path: "/users" }));
      expect(decision).toEqual(generic.decide({ headers: entries, path: "/users" }));
    }
  });

  it("a canary ramp through setCanaryPercent decides as the generic decide at every step", () => {
    const generated = createRouter(base);
    const generic = createRouter(base, { codegen: false });
    for (const percent of [0, 1, 5, 25, 50, 99.99, 100, 10, 0]) {
      generated.setCanaryPercent(percent);
      generic.setCanaryPercent(percent);
      for (let i = 0; i < 300; i++) {
        const request = { headers: { "x-user-id": `user-${i * 7919}` } };
        expect(generated.decide(request)).toEqual(generic.decide(request));
      }
    }
  });
});

describe("where code generation from strings is refused", () => {
  it("the router detects it, decides with the generic code, and does not ask again", async () => {
    vi.resetModules(); // a fresh module: the refusal is remembered per module instance
    const { createRouter: fresh } = await import("../../../src/index.js");
    const refused = vi.fn(() => {
      throw new EvalError("Code generation from strings disallowed for this context");
    });
    const original = globalThis.Function;
    (globalThis as { Function: unknown }).Function = refused;
    let first;
    let second;
    try {
      first = fresh(base);
      second = fresh({ ...base, split: { v1: 50, v2: 50 } });
    } finally {
      globalThis.Function = original;
    }
    expect(refused).toHaveBeenCalledTimes(1);
    const reference = createRouter(base, { codegen: false });
    for (let i = 0; i < 200; i++) {
      const request = { headers: { "x-user-id": `user-${i}`, ...(i % 7 === 0 ? { "x-canary": "true" } : {}) } };
      expect(first.decide(request)).toEqual(reference.decide(request));
    }
    expect(second.decide({ headers: { "x-force-version": "stable" } })).toMatchObject({ version: "v1", reason: "header_match" });
  });

  it("the built package routes in a realm that forbids eval and new Function (as Cloudflare Workers and a strict CSP do)", () => {
    const context = createContext({ URL, URLSearchParams }, { codeGeneration: { strings: false, wasm: false } });
    expect(() => runInContext("new Function('return 1')", context)).toThrow();
    const { createRouter: sandboxed } = loadInRealm(context, "index.cjs") as { createRouter: typeof createRouter };
    const inside = sandboxed(base);
    const outside = createRouter(base);
    for (let i = 0; i < 200; i++) {
      const request = { headers: { "x-user-id": `user-${i}` } };
      expect(JSON.stringify(inside.decide(request))).toBe(JSON.stringify(outside.decide(request)));
    }
    expect(inside.decide({ headers: { "x-canary": "true", "x-user-id": "u" } }).reason).toBe("header_match");
  });
});

describe("the codegen option", () => {
  it("codegen: false never calls new Function", () => {
    const spy = vi.fn();
    const original = globalThis.Function;
    (globalThis as { Function: unknown }).Function = spy;
    try {
      const router = createRouter(base, { codegen: false });
      router.update({ ...base, split: { v1: 1, v2: 1 } });
      expect(router.decide({ headers: { "x-user-id": "user-1" } }).reason).toBe("weighted_routing");
    } finally {
      globalThis.Function = original;
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("must be a boolean", () => {
    const attempt = () => createRouter(base, { codegen: "yes" as unknown as boolean });
    expect(attempt).toThrow(TurnoutConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as TurnoutConfigError).problems).toContainEqual(expect.objectContaining({ code: "type", path: "options.codegen" }));
    }
  });
});

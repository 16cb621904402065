// Bad configuration: one TurnoutConfigError listing every problem, each with a stable code and path.
import { describe, expect, it } from "vitest";
import { type ConfigProblem, type RouterConfig, TurnoutConfigError, createRouter, isTurnoutConfigError } from "../../../src/index.js";

const base = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } };

function problemsOf(config: unknown): ConfigProblem[] {
  try {
    createRouter(config as RouterConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(TurnoutConfigError);
    return [...(error as TurnoutConfigError).problems];
  }
  throw new Error("expected the config to be refused");
}

const pairs = (config: unknown) => problemsOf(config).map((p) => `${p.code} ${p.path || "(root)"}`);

// Each row: a kind of bad configuration, and a problem it must produce (code + path).
const cases: [string, unknown, string][] = [
  ["not an object", 42, "type (root)"],
  ["null", null, "type (root)"],
  ["an array", [], "type (root)"],
  ["versions missing", { stable: "v1" }, "required versions"],
  ["versions not an array", { versions: "v1,v2", stable: "v1" }, "type versions"],
  ["versions empty", { versions: [], stable: "v1" }, "empty versions"],
  ["a version is not a string", { versions: ["v1", 2], stable: "v1" }, "type versions[1]"],
  ["an empty version name", { versions: ["v1", ""], stable: "v1" }, "empty versions[1]"],
  ["duplicate version names", { versions: ["v1", "v1"], stable: "v1" }, "duplicate versions[1]"],
  ["an invalid version name", { versions: ["v1", "v 2"], stable: "v1" }, "invalid_name versions[1]"],
  ["a version named __proto__", { versions: ["v1", "__proto__"], stable: "v1" }, "forbidden_key versions[1]"],
  ["stable missing", { versions: ["v1"] }, "required stable"],
  ["stable not in versions", { versions: ["v1"], stable: "v0" }, "unknown_version stable"],
  ["stable of the wrong type", { versions: ["v1"], stable: 1 }, "type stable"],
  ["canary unknown", { ...base, canary: "v3" }, "unknown_version canary"],
  ["canary equals stable", { ...base, canary: "v1" }, "conflict canary"],
  ["unknown version in the split", { ...base, split: { v1: 90, v3: 10 } }, "unknown_version split.v3"],
  ["a negative weight", { ...base, split: { v1: 110, v2: -10 } }, "negative split.v2"],
  ["a NaN weight", { ...base, split: { v1: 90, v2: Number.NaN } }, "not_finite split.v2"],
  ["an Infinity weight", { ...base, split: { v1: Number.POSITIVE_INFINITY, v2: 10 } }, "not_finite split.v1"],
  ["a string weight", { ...base, split: { v1: "90", v2: 10 } }, "type split.v1"],
  ["all weights 0", { ...base, split: { v1: 0, v2: 0 } }, "zero_total split"],
  ["an empty split", { ...base, split: {} }, "empty split"],
  ["a weight below the resolution", { ...base, split: { v1: 1_000_000, v2: 1 } }, "out_of_range split.v2"],
  ["__proto__ as a split key", { ...base, split: JSON.parse('{"v1": 1, "__proto__": 1}') }, "forbidden_key split.__proto__"],
  ["an unknown top-level field (typo)", { ...base, spilt: { v1: 1 } }, "unknown_field spilt"],
  ["__proto__ at the top level", JSON.parse('{"versions": ["v1"], "stable": "v1", "__proto__": {"x": 1}}'), "forbidden_key __proto__"],
  ["salt of the wrong type", { ...base, salt: 7 }, "type salt"],
  ["keyless mode unknown", { ...base, keyless: "sometimes" }, "invalid_value keyless"],
  ["stickiness source unknown", { ...base, stickiness: ["ip:x"] }, "invalid_source stickiness[0]"],
  ["stickiness source without a name", { ...base, stickiness: ["header:"] }, "empty stickiness[0]"],
  ["stickiness listed twice", { ...base, stickiness: ["key", "key"] }, "duplicate stickiness[1]"],
  ["stickiness on a forbidden name", { ...base, stickiness: ["attr:constructor"] }, "forbidden_key stickiness[0]"],
  ["override without a header", { ...base, overrides: [{ equals: "true", version: "v2" }] }, "required overrides[0].header"],
  ["override to an unknown version", { ...base, overrides: [{ header: "x-canary", version: "v9" }] }, "unknown_version overrides[0].version"],
  ["override with two matchers", { ...base, overrides: [{ header: "x", equals: "a", values: ["a"], version: "v2" }] }, "conflict overrides[0]"],
  ["override header name with spaces", { ...base, overrides: [{ header: "x canary", version: "v2" }] }, "invalid_name overrides[0].header"],
  ["an empty values list", { ...base, overrides: [{ header: "x", values: [], version: "v2" }] }, "empty overrides[0].values"],
  ["a regex that does not compile", { ...base, overrides: [{ header: "x", matches: "(", version: "v2" }] }, "invalid_regex overrides[0].matches"],
  ["an unsafe (catastrophic) regex", { ...base, overrides: [{ header: "ua", matches: "^(a+)+$", version: "v2" }] }, "unsafe_regex overrides[0].matches"],
  [
    "a repeated group around a group that repeats",
    { ...base, overrides: [{ header: "ua", matches: "^((a+))+$", version: "v2" }] },
    "unsafe_regex overrides[0].matches",
  ],
  ["a regex with a backreference", { ...base, overrides: [{ header: "ua", matches: "(a)\\1", version: "v2" }] }, "unsafe_regex overrides[0].matches"],
  ["a polynomial regex", { ...base, overrides: [{ header: "ua", matches: ".*.*.*x", version: "v2" }] }, "unsafe_regex overrides[0].matches"],
  ["present that is not a boolean", { ...base, overrides: [{ header: "x", present: "yes", version: "v2" }] }, "type overrides[0].present"],
  ["explicit with no channel", { ...base, explicit: {} }, "empty explicit"],
  ["explicit path prefix without a slash", { ...base, explicit: { path: { prefix: "api" } } }, "invalid_value explicit.path.prefix"],
  ["explicit alias to an unknown version", { ...base, explicit: { query: "version", aliases: { "3": "v3" } } }, 'unknown_version explicit.aliases["3"]'],
  ["explicit alias shadowing a version", { ...base, explicit: { query: "version", aliases: { v1: "v2" } } }, "conflict explicit.aliases.v1"],
  ["a condition with no source", { ...base, segments: [{ version: "v2", include: [{ equals: "pro" }] }] }, "required segments[0].include[0]"],
  ["a condition with two sources", { ...base, segments: [{ version: "v2", include: [{ header: "a", attr: "b" }] }] }, "conflict segments[0].include[0]"],
  ["a segment to an unknown version", { ...base, segments: [{ version: "v7" }] }, "unknown_version segments[0].version"],
  [
    "duplicate segment names",
    {
      ...base,
      segments: [
        { name: "paid", version: "v2" },
        { name: "paid", version: "v1" },
      ],
    },
    "duplicate segments[1].name",
  ],
  ["an experiment without a name", { ...base, experiments: [{ variants: [{ name: "A", weight: 1 }] }] }, "required experiments[0].name"],
  ["an experiment with no variants", { ...base, experiments: [{ name: "e", variants: [] }] }, "empty experiments[0].variants"],
  [
    "duplicate variant names",
    {
      ...base,
      experiments: [
        {
          name: "e",
          variants: [
            { name: "A", weight: 1 },
            { name: "A", weight: 1 },
          ],
        },
      ],
    },
    "duplicate experiments[0].variants[1].name",
  ],
  ["variants all weight 0", { ...base, experiments: [{ name: "e", variants: [{ name: "A", weight: 0 }] }] }, "zero_total experiments[0].variants"],
  [
    "a variant to an unknown version",
    { ...base, experiments: [{ name: "e", variants: [{ name: "A", weight: 1, version: "v5" }] }] },
    "unknown_version experiments[0].variants[0].version",
  ],
  [
    "an experiment path without a slash",
    { ...base, experiments: [{ name: "e", paths: ["checkout"], variants: [{ name: "A", weight: 1 }] }] },
    "invalid_value experiments[0].paths[0]",
  ],
  [
    "duplicate experiment names",
    {
      ...base,
      experiments: [
        { name: "e", variants: [{ name: "A", weight: 1 }] },
        { name: "e", variants: [{ name: "A", weight: 1 }] },
      ],
    },
    "duplicate experiments[1].name",
  ],
  ["mirror percent above 100", { ...base, mirror: { version: "v2", percent: 150 } }, "out_of_range mirror.percent"],
  ["mirror to an unknown version", { ...base, mirror: { version: "v3", percent: 10 } }, "unknown_version mirror.version"],
  ["mirror from itself", { ...base, mirror: { version: "v2", percent: 10, from: ["v2"] } }, "conflict mirror.from[0]"],
  ["lifecycle of an unknown version", { ...base, lifecycle: { v0: { deprecated: "2025-01-01" } } }, "unknown_version lifecycle.v0"],
  ["a date that does not parse", { ...base, lifecycle: { v2: { deprecated: "next tuesday" } } }, "invalid_date lifecycle.v2.deprecated"],
  ["an impossible date", { ...base, lifecycle: { v2: { sunset: "2025-13-45T00:00:00Z" } } }, "invalid_date lifecycle.v2.sunset"],
  ["sunset before deprecation", { ...base, lifecycle: { v2: { deprecated: "2025-06-01", sunset: "2025-01-01" } } }, "date_order lifecycle.v2.sunset"],
  ["a sunset on the stable version", { ...base, lifecycle: { v1: { sunset: "2025-06-01T00:00:00Z" } } }, "conflict lifecycle.v1.sunset"],
  ["a successor that is not a version", { ...base, lifecycle: { v1: { successor: "v9" } } }, "unknown_version lifecycle.v1.successor"],
  ["a link that is not a URL", { ...base, lifecycle: { v1: { migrationGuide: "see the wiki" } } }, "invalid_url lifecycle.v1.migrationGuide"],
  ["a javascript: link", { ...base, lifecycle: { v1: { policy: "javascript:alert(1)" } } }, "invalid_url lifecycle.v1.policy"],
];

describe("config validation", () => {
  it.each(cases)("%s", (_, config, expected) => {
    expect(pairs(config)).toContain(expected);
  });

  it("covers more than 25 distinct kinds of bad configuration", () => {
    expect(cases.length).toBeGreaterThan(25);
    expect(new Set(cases.map(([, , expected]) => expected.split(" ")[0])).size).toBeGreaterThanOrEqual(18);
  });

  it("lists every problem of a config at once, in config order", () => {
    const found = pairs({
      versions: ["v1", "v1", "v 3"],
      stable: "v0",
      split: { v1: -1, v9: 2 },
      keyless: "never",
      overrides: [{ header: "x", matches: "(a+)+", version: "v2" }],
      lifecycle: { v1: { sunset: "soon" } },
    });
    expect(found).toEqual([
      "duplicate versions[1]",
      "invalid_name versions[2]",
      "unknown_version stable",
      "negative split.v1",
      "unknown_version split.v9",
      "invalid_value keyless",
      "unknown_version overrides[0].version",
      "unsafe_regex overrides[0].matches",
      "invalid_date lifecycle.v1.sunset",
    ]);
  });

  it("names a variant's missing name, and reports a name of the wrong type once, not also as a duplicate", () => {
    const experiment = (variants: unknown[], name: unknown = "e") => ({ name, variants });
    expect(pairs({ ...base, experiments: [experiment([{ weight: 1 }])] })).toEqual(["required experiments[0].variants[0].name"]);
    expect(
      pairs({
        ...base,
        experiments: [
          experiment([
            { name: 5, weight: 1 },
            { name: 5, weight: 1 },
          ]),
        ],
      }),
    ).toEqual(["type experiments[0].variants[0].name", "type experiments[0].variants[1].name"]);
    expect(pairs({ ...base, experiments: [experiment([{ name: "A", weight: 1 }], 7), experiment([{ name: "A", weight: 1 }], 7)] })).toEqual([
      "type experiments[0].name",
      "type experiments[1].name",
    ]);
  });

  it("without a split, takes the stable version as the one with weight when checking a bucketing scheme's order", () => {
    const three = { versions: ["v1", "v2", "v3"], stable: "v3", canary: "v2" };
    expect(pairs({ ...three, bucketing: { scheme: "unleash", groupId: "g", order: ["v1", "v2"] } })).toEqual(["conflict split.v3"]);
    expect(() => createRouter({ ...three, bucketing: { scheme: "unleash", groupId: "g", order: ["v2", "v3"] } } as RouterConfig)).not.toThrow();
  });

  it("gives every problem a message that starts with its path", () => {
    for (const problem of problemsOf({ ...base, split: { v1: Number.NaN, v3: 1 } })) {
      expect(problem.message.startsWith(`${problem.path}:`)).toBe(true);
    }
  });

  it("reads JSON with __proto__ keys without touching prototypes", () => {
    const config = JSON.parse('{"versions":["v1"],"stable":"v1","lifecycle":{"__proto__":{"polluted":true}}}');
    expect(pairs(config)).toContain("forbidden_key lifecycle.__proto__");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("turns a hostile object into the same documented error", () => {
    const hostile = {
      get versions(): string[] {
        throw new Error("boom");
      },
      stable: "v1",
    };
    expect(pairs(hostile)).toContain("type (root)");
  });

  it("refuses bad options with paths under options.", () => {
    expect(() => createRouter(base as RouterConfig, { rng: 4 as never, revision: -1, logger: {} as never })).toThrow(TurnoutConfigError);
    try {
      createRouter(base as RouterConfig, { rng: 4 as never, revision: 1.5, logger: {} as never });
    } catch (error) {
      expect((error as TurnoutConfigError).problems.map((p) => p.path)).toEqual(["options.rng", "options.revision", "options.logger"]);
    }
  });

  it("is recognised across builds by isTurnoutConfigError", () => {
    const foreign = Object.assign(new Error("x"), { code: "TURNOUT_CONFIG_INVALID", problems: [] });
    expect(isTurnoutConfigError(foreign)).toBe(true);
    expect(isTurnoutConfigError(new Error("x"))).toBe(false);
  });
});

describe("update is atomic", () => {
  it("keeps serving the previous config and revision when the new one is invalid", () => {
    const router = createRouter(base as RouterConfig);
    const before = router.decide({ key: "user-1" });
    expect(() => router.update({ ...base, split: { v1: 50, v3: 50 } } as RouterConfig)).toThrow(TurnoutConfigError);
    expect(router.revision).toBe(1);
    expect(router.config.split).toEqual({ v1: 90, v2: 10 });
    expect(router.decide({ key: "user-1" })).toBe(before);
  });

  it("lists an invalid explicit revision together with the config problems", () => {
    const router = createRouter(base as RouterConfig);
    try {
      router.update({ ...base, stable: "v7" } as RouterConfig, { revision: -3 });
      throw new Error("expected a TurnoutConfigError");
    } catch (error) {
      expect((error as TurnoutConfigError).problems.map((p) => `${p.code} ${p.path}`)).toEqual(["unknown_version stable", "out_of_range revision"]);
    }
  });
});

describe("unknown fields (regression: a typo got no hint)", () => {
  it("suggest the field a typo most likely meant, keeping the code and path", () => {
    const problems = problemsOf({ ...base, spilt: { v1: 1 }, stickyness: ["key"], zzz: 1 });
    expect(problems.map((p) => `${p.code} ${p.path}`)).toEqual(["unknown_field spilt", "unknown_field stickyness", "unknown_field zzz"]);
    expect(problems[0]?.message).toContain('did you mean "split"?');
    expect(problems[1]?.message).toContain('did you mean "stickiness"?');
    expect(problems[2]?.message).not.toContain("did you mean");
  });
});

// The generated decide (src/router/fast.ts) is an optimisation only: on any config and any request it must answer
// exactly what the generic decide answers — the same interned decision object, the same fault, the same round-robin
// state afterwards. Random configs use every rule kind; requests are structured around the config's own names and
// values (so rules do match), with junk mixed in: arrays, numbers, null, Map and Headers-like bags, inherited and
// `__proto__` properties, throwing getters, forged and stale pins.
import fc from "fast-check";
import { hmacSha256 } from "../../src/router/hmac.js";
import { pinKeys } from "../../src/router/pin.js";
import { describe, expect, it } from "vitest";
import { type Decision, type RouterConfig, createRouter } from "../../src/index.js";
import { compile } from "../../src/router/compile.js";
import { decideWith } from "../../src/router/decide.js";
import { fastDecide, generate } from "../../src/router/fast.js";

const VERSIONS = ["v1", "v2", "v3", "v4"];
/** Header names a config may use; a request draws from the same pool, plus names no rule reads. */
const HEADERS = ["x-user-id", "x-canary", "x-plan", "x-api-version", "accept", "cookie", "x-b'q`|~^*", "0", "get", "tostring"];
/** Names no config may use (they are refused), but requests carry. */
const HOSTILE = ["__proto__", "constructor", "prototype", "hasOwnProperty"];
const FIELDS = ["uid", "user", "plan", "region", "version", 'we"ird\\name</script>'];
const VALUES = ["", "true", "yes", "pro", "v1", "v2", "2", "beta", "aaa", "application/vnd.acme.v2+json", "uid=u-7; plan=pro", "\u2028\"'\\"];
const PATTERNS = ["^a+$", "^(yes|true)$", "^v[0-9]$", "pro"];

const versionsArb = fc.shuffledSubarray(VERSIONS, { minLength: 1, maxLength: 4 });
const value = fc.constantFrom(...VALUES);

function matcherArb(): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    value.map((equals) => ({ equals })),
    fc.uniqueArray(value, { minLength: 1, maxLength: 10 }).map((values) => ({ values })),
    fc.constantFrom(...PATTERNS).map((matches) => ({ matches })),
    fc.boolean().map((present) => ({ present })),
    fc.constant({}),
  );
}

const conditionArb = fc
  .tuple(fc.constantFrom("header", "cookie", "attr", "query"), fc.constantFrom(...HEADERS, ...FIELDS), matcherArb())
  .filter(([source, name]) => (source === "header" || source === "cookie" ? /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) : true))
  .map(([source, name, matcher]) => ({ [source]: name, ...matcher }));

const sourceArb = fc.oneof(
  fc.constant("key"),
  fc.constantFrom("x-user-id", "x-plan", "x-b'q`|~^*", "0").map((name) => `header:${name}`),
  fc.constantFrom("uid", "plan").map((name) => `cookie:${name}`),
  fc.constantFrom(...FIELDS).map((name) => `attr:${name}`),
  fc.constantFrom(...FIELDS).map((name) => `query:${name}`),
);

const configArb: fc.Arbitrary<RouterConfig> = versionsArb.chain((versions) => {
  const version = fc.constantFrom(...versions);
  return fc
    .record(
      {
        stable: version,
        canary: version,
        split: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: versions.length, maxLength: versions.length }),
        salt: fc.string({ maxLength: 6 }),
        stickiness: fc.uniqueArray(sourceArb, { minLength: 1, maxLength: 4 }),
        keyless: fc.constantFrom("random", "round-robin", "stable"),
        overrides: fc.array(fc.tuple(fc.constantFrom(...HEADERS), matcherArb(), version), { maxLength: 3 }),
        explicit: fc.record(
          {
            header: fc.constant("x-api-version"),
            query: fc.constant("version"),
            accept: fc.constant("acme"),
            path: fc.constantFrom({}, { prefix: "/api" }),
            aliases: fc.constant({ beta: versions[versions.length - 1]! }),
          },
          { requiredKeys: ["header"] },
        ),
        segments: fc.array(fc.record({ version, include: fc.array(conditionArb, { maxLength: 2 }), exclude: fc.array(conditionArb, { maxLength: 2 }) }), {
          maxLength: 2,
        }),
        experiments: fc.array(
          fc.record(
            {
              variants: fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.option(version, { nil: undefined })), { minLength: 1, maxLength: 3 }),
              include: fc.array(conditionArb, { maxLength: 1 }),
              exclude: fc.array(conditionArb, { maxLength: 1 }),
              paths: fc.constantFrom(["/api"], ["/api/cart", "/shop"]),
              stickiness: fc.uniqueArray(sourceArb, { minLength: 1, maxLength: 2 }),
            },
            { requiredKeys: ["variants"] },
          ),
          { maxLength: 2 },
        ),
        mirror: fc.record({ version, percent: fc.constantFrom(0, 30, 100) }),
        lifecycle: fc.record({ version, deprecated: fc.constant("2030-01-01T00:00:00Z") }),
      },
      { requiredKeys: ["stable", "split", "stickiness"] },
    )
    .map((draw): RouterConfig => {
      const weights = draw.split.some((w) => w > 0) ? draw.split : draw.split.map((_, i) => (i === 0 ? 1 : 0));
      const config: Record<string, unknown> = {
        versions,
        stable: draw.stable,
        split: Object.fromEntries(versions.map((v, i) => [v, weights[i]!])),
        stickiness: draw.stickiness,
      };
      if (draw.canary !== undefined && draw.canary !== draw.stable) config.canary = draw.canary;
      if (draw.salt !== undefined) config.salt = draw.salt;
      if (draw.keyless !== undefined) config.keyless = draw.keyless;
      if (draw.overrides !== undefined) config.overrides = draw.overrides.map(([header, matcher, to]) => ({ header, ...matcher, version: to }));
      if (draw.explicit !== undefined) config.explicit = draw.explicit;
      if (draw.segments !== undefined) config.segments = draw.segments;
      if (draw.experiments !== undefined) {
        config.experiments = draw.experiments.map((experiment, i) => ({
          ...experiment,
          name: `e${i}`,
          variants: experiment.variants.map(([weight, to], j) => (to === undefined ? { name: `n${j}`, weight } : { name: `n${j}`, weight, version: to })),
        }));
      }
      if (draw.mirror !== undefined && versions.length > 1) config.mirror = draw.mirror;
      if (draw.lifecycle !== undefined) config.lifecycle = { [draw.lifecycle.version]: { deprecated: draw.lifecycle.deprecated } };
      return config as unknown as RouterConfig;
    });
});

/** A header value as clients send it, or junk. */
const headerValue = fc.oneof(
  { weight: 6, arbitrary: value },
  { weight: 2, arbitrary: fc.array(fc.oneof(value, fc.integer()), { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.object({ maxDepth: 0 })) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
);
const record = fc.dictionary(fc.constantFrom(...HEADERS, ...HOSTILE, "x-other"), headerValue, { maxKeys: 6 });
const fieldRecord = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(value, fc.integer(), fc.boolean(), fc.double()), { maxKeys: 3 });

/** A header bag in every shape decide accepts (and some it must shrug off). */
const bagArb = fc.oneof(
  { weight: 8, arbitrary: record },
  { weight: 1, arbitrary: record.map((entries) => new Map(Object.entries(entries))) },
  { weight: 1, arbitrary: record.map((entries) => ({ get: (name: string) => (typeof entries[name] === "string" ? entries[name] : null) })) },
  { weight: 1, arbitrary: record.map((entries) => Object.assign(Object.create(null) as object, entries)) },
  { weight: 1, arbitrary: record.map((entries) => Object.create(entries) as object) }, // every header inherited
  {
    weight: 1,
    arbitrary: record.map(
      (entries) => JSON.parse(`{"__proto__":"own"${JSON.stringify(entries).slice(1) === "}" ? "" : ","}${JSON.stringify(entries).slice(1)}`) as object,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(record, fc.constantFrom(...HEADERS)).map(([entries, name]) =>
      Object.defineProperty({ ...entries }, name, {
        get: () => {
          throw new Error("getter");
        },
        enumerable: true,
      }),
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.constant(undefined), fc.string(), fc.integer(), fc.constant([])) },
);

function requestArb(pins: readonly string[]): fc.Arbitrary<unknown> {
  const structured = fc.record(
    {
      key: fc.oneof(value, fc.string({ maxLength: 10 }), fc.integer()),
      headers: bagArb,
      cookies: fc.oneof(fc.dictionary(fc.constantFrom("uid", "plan"), fc.oneof(value, fc.integer()), { maxKeys: 2 }), fc.constant(null)),
      path: fc.constantFrom("/", "/api/v2/users", "/api/beta", "/api/cart/items?version=2", "/shop", "/v9/x", "/api/x?uid=u&version=v1"),
      query: fc.oneof(
        fieldRecord,
        fieldRecord.map((entries) => new URLSearchParams(Object.entries(entries).map(([k, v]): [string, string] => [k, String(v)]))),
      ),
      attributes: fieldRecord,
      pin: fc.oneof(fc.constantFrom(...pins), fc.string({ maxLength: 12 }), fc.constant("v1~0~0")),
    },
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 12, arbitrary: structured }, { weight: 1, arbitrary: fc.anything() });
}

/** Draws for `rng`, replayed from the start before each call (so both decides see the same draws). */
function replayer(draws: readonly number[]): { rng: () => number; reset: () => void } {
  let at = 0;
  return { rng: () => draws[at++ % draws.length]!, reset: () => (at = 0) };
}

type Outcome = { decision: Decision } | { fault: string };
function run(decide: () => Decision): Outcome {
  try {
    return { decision: decide() };
  } catch (error) {
    return { fault: String(error) };
  }
}

const testPinKeys = pinKeys(hmacSha256, "turnout", [], () => 0);

describe("the generated decide answers exactly as the generic decide", () => {
  it("same decision object (or fault), same round-robin state, on random configs and random or junk requests", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(fc.oneof(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(1, -0.5, Number.NaN)), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        (config, draws, revision) => {
          const router = createRouter(config, { revision }); // validates, and gives real pins
          const pins = [router.decide({ key: "a" }).pin, router.decide({ key: "b" }).pin, router.decide({ headers: { "x-api-version": "v1" } }).pin];
          router.update(config);
          pins.push(router.decide({ key: "c" }).pin);
          const c = compile(config, revision + 1, testPinKeys);
          const { rng, reset } = replayer(draws);
          const fast = fastDecide(c, rng);
          expect(fast, generate(c).source).toBeTypeOf("function");
          fc.assert(
            fc.property(requestArb(pins), (request) => {
              const before = Int32Array.from(c.roundRobin.current);
              reset();
              const generated = run(() => fast!(request));
              const after = Int32Array.from(c.roundRobin.current);
              c.roundRobin.current.set(before);
              reset();
              const generic = run(() => decideWith(c, request, rng, undefined));
              expect(Array.from(c.roundRobin.current)).toEqual(Array.from(after));
              if ("fault" in generic) {
                expect(generated).toEqual(generic);
              } else if (generic.decision.reason === "unknown_version") {
                expect(generated).toEqual(generic); // made per call (it carries the requested token)
              } else {
                expect("decision" in generated && generated.decision).toBe(generic.decision);
              }
            }),
            { numRuns: 40 },
          );
        },
      ),
      { numRuns: 250 },
    );
  }, 120_000); // CPU-bound: a busy machine makes it slow, not wrong

  it("a router with codegen and one with codegen: false decide alike, call after call", () => {
    fc.assert(
      fc.property(configArb, fc.integer(), fc.array(requestArb(["v1~1~x"]), { minLength: 1, maxLength: 40 }), (config, seed, requests) => {
        const seeded = (s: number) => () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8) / 16_777_216;
        const generated = createRouter(config, { rng: seeded(seed) });
        const generic = createRouter(config, { rng: seeded(seed), codegen: false });
        for (const request of requests) {
          expect(generated.decide(request as never)).toEqual(generic.decide(request as never));
        }
      }),
      { numRuns: 250 },
    );
  });
});

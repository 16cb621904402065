/**
 * A decide specialised to one compiled config, generated as source text and compiled with `new Function` — the
 * approach of ajv and fast-json-stringify. The generic `decideWith` reads headers with names that vary at run time
 * (keyed property loads that V8 can only serve through its slow megamorphic path) and walks every rule list; the
 * generated function reads each header with a literal name (a named load with its own inline cache), contains only
 * the rules the config has, unrolled, and returns the interned decisions directly.
 *
 * It is an optimisation only: it must decide exactly as `decideWith` does (a differential property test holds it to
 * that), and where code generation from strings is refused (Cloudflare Workers, a Content-Security-Policy without
 * 'unsafe-eval') the router falls back to `decideWith`. Steps the generated code does not specialise (explicit
 * versions, pins, experiments, segments, keyless draws, mirroring) call the generic code's own functions.
 *
 * Injection: configuration text (header, cookie, attribute and query names, match values) enters the generated text
 * only as string literals made by `JSON.stringify` (see `literal`); numbers only as indexes this module counts itself;
 * everything else (decisions, seeds, bounds, sets, patterns) reaches the function as values, never as text.
 *
 * Compiled code is reused: the factory for a given source text is kept (a few at most), and the text depends only on
 * the config's shape — a new split, salt or revision gives the same text, so V8's optimised code and feedback carry
 * over to the next revision.
 */
import type { Decision } from "../types.js";
import { type Compiled, type CompiledCondition, MatchKind, type Slot } from "./compile.js";
import { EMPTY, afterOverrides, afterPin, decideRequest, explicitChoice, finish, nextRoundRobin, randomSlot } from "./decide.js";
import { bucketOf, hashBound, murmur3Signed } from "./hash.js";
import { MAX_MATCH_INPUT } from "./regex.js";
import { FieldSource, readAttribute, readCookie, readQuery, stringOf } from "./request.js";

/** A decide for one compiled config: same contract as `decideWith(c, input, rng, undefined)`. */
export type FastDecide = (input: unknown) => Decision;

/** What the generated factory receives: helpers and the config's values (decisions, sets, patterns, numbers). */
const HELPERS = {
  EMPTY,
  stringOf,
  bucketOf,
  murmur3Signed,
  readCookie,
  readAttribute,
  readQuery,
  decideRequest,
  explicitChoice,
  afterOverrides,
  afterPin,
  finish,
  randomSlot,
  nextRoundRobin,
} as const;
const KIT_HELPERS = ["c", "rng", ...Object.keys(HELPERS)];

interface Kit extends Readonly<typeof HELPERS> {
  readonly c: Compiled;
  readonly rng: () => number;
  readonly values: readonly unknown[];
}

type Factory = (kit: Kit) => FastDecide;

/** Sets with at most this many values are tested with unrolled `===` comparisons instead of `Set.has`. */
const UNROLL_VALUES = 8;
/** Factories by source text: a config that changes only in weights, salt or revision reuses the compiled code. */
const FACTORIES = new Map<string, Factory>();
const MAX_FACTORIES = 16;
/** Set once the runtime has refused to compile code from a string: it is not asked again. */
let refused = false;

/**
 * The generated decide for `c`, or `undefined` when this runtime refuses code generation from strings.
 *
 * @example
 * ```ts
 * const fast = fastDecide(compiled, Math.random) ?? ((input) => decideWith(compiled, input, Math.random, undefined));
 * ```
 */
export function fastDecide(c: Compiled, rng: () => number): FastDecide | undefined {
  if (refused) return undefined;
  const { source, values } = generate(c);
  let factory = FACTORIES.get(source);
  if (factory === undefined) {
    try {
      factory = new Function("kit", source) as Factory;
    } catch (error) {
      // EvalError (Workers, CSP) means never; a SyntaxError would be this module's bug: fall back for this config.
      if (!(error instanceof SyntaxError)) refused = true;
      return undefined;
    }
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.delete(FACTORIES.keys().next().value as string);
    FACTORIES.set(source, factory);
  }
  return factory({ ...HELPERS, c, rng, values });
}

/** The factory's source text for `c`, and the values its `values` array must hold. */
export function generate(c: Compiled): { source: string; values: unknown[] } {
  const values: unknown[] = [];
  /** A value for the generated code: its name there (`$3`), never its text. */
  const value = (v: unknown): string => {
    values.push(v);
    return `$${values.length - 1}`;
  };
  /** The decision steps after the bag is classified; `get` is the bag's getter's name in the code, or "undefined". */
  const steps = (get: string): string[] => {
    const body: string[] = [];
    const line = (text: string): void => {
      body.push(text);
    };
    /** The statement returning a rule's outcome: its interned decision, or through `finish` when it may be mirrored. */
    const outcome = (slot: Slot, key: string): string => {
      const mirror = c.mirror;
      return mirror !== undefined && mirror.from[slot.versionIndex] === true && mirror.threshold > 0
        ? `return mirrored(${value(slot)}, request, ${key}, bag, ${get});`
        : `return ${value(slot.decision(false, 0))};`;
    };
    line("let v;");
    if (c.explicit !== undefined) {
      line(`const explicit = explicitChoice(c, request, bag, ${get}, rng, undefined);`);
      line("if (explicit !== undefined) return explicit;");
    }
    for (const override of c.overrides) {
      line(readHeader("v", override.condition.name, get));
      line(`if (${test(override.condition, "v", value)}) ${outcome(override.slot, "null")}`);
    }
    line("const pin = request.pin;");
    line(`if (typeof pin === "string" && pin !== "") return fromPin(request, bag, ${get});`);
    if (c.experiments.length > 0 || c.segments.length > 0) {
      line(`return fromExperiments(request, bag, ${get});`);
      return body;
    }
    // The first present sticky key ("" counts as absent), as readKey reads it.
    line("let key;");
    c.keySources.forEach((source, i) => {
      const indent = "  ".repeat(i);
      line(`${indent}${readSource("key", source.source, source.name, get)}`);
      if (i < c.keySources.length - 1) line(`${indent}if (key === undefined || key === "") {`);
      else line(`${indent}if (key === "") key = undefined;`);
    });
    for (let i = c.keySources.length - 2; i >= 0; i--) line(`${"  ".repeat(i)}}`);
    line("if (key !== undefined) {");
    const compat = c.compat;
    if (compat !== undefined) {
      // A compatibility scheme: its chooser gives an entry (-1: not enrolled, the stable version); versionOf[entry + 1].
      const versionOf = value(Int32Array.from([c.stable, ...compat.entries]));
      const pick = `${versionOf}[${value(compat.chooser)}.choose(key) + 1]`;
      if (c.mirror !== undefined) line(`  return mirrored(c.weighted[${pick}], request, key, bag, ${get});`);
      else line(`  return ${value(c.weighted.map((slot) => slot.decision(false, 0)))}[${pick}];`);
    } else {
      // The split in bucket order, comparing the hash itself with each range's first hash (see hashBound).
      line(`  const hash = murmur3Signed(key, ${value(c.seed)}) >>> 0;`);
      const ranges = c.layout;
      if (ranges.length === 0) line(`  return mirrored(c.weighted[c.table[bucketOf(key, c.seed)]], request, key, bag, ${get});`);
      ranges.forEach((range, i) => {
        const ret = outcome(c.weighted[range.version]!, "key");
        line(i === ranges.length - 1 ? `  ${ret}` : `  if (hash < ${value(hashBound(range.to))}) ${ret}`);
      });
    }
    line("}");
    if (compat !== undefined && compat.chooser.sdkKeyless) {
      line(`return fromExperiments(request, bag, ${get});`); // the source SDK's keyless behaviour, in the generic code
    } else if (c.keyless === "stable") {
      line(outcome(c.fallback, "undefined"));
    } else if (c.keyless === "round-robin") {
      line(`return roundRobin(request, bag, ${get});`);
    } else {
      line(`return random(request, bag, ${get});`);
    }
    return body;
  };

  const body = ['const request = typeof input === "object" && input !== null ? input : EMPTY;'];
  let getterDecide = "";
  if (c.readsHeaders) {
    // The bag is read and classified once, as decideWith does: a plain record is read with named loads, a bag with
    // a get(name) method (Headers, Map) through that method with literal names, anything else by the generic code.
    body.push("const bag = request.headers;");
    body.push('if (typeof bag !== "object" || bag === null) return generic(request, bag, undefined);');
    body.push("const method = bag.get;");
    body.push('if (typeof method === "function") return decideWithGetter(request, bag, method);');
    getterDecide = `var decideWithGetter = function (request, bag, get) {\n  ${steps("get").join("\n  ")}\n};`;
  } else {
    body.push("const bag = undefined;");
  }
  body.push(...steps("undefined"));

  // `var`, not `const`: a closure's reads of an outer `const` carry a hole check (temporal dead zone); of a `var`, none.
  const prelude = [
    '"use strict";',
    `var { ${KIT_HELPERS.join(", ")} } = kit;`,
    ...values.map((_, i) => `var $${i} = kit.values[${i}];`),
    // The generic steps, as closures over the config so that each call site in decide is short.
    'var generic = (request, bag, get) => decideRequest(c, request, typeof bag === "object" && bag !== null ? bag : undefined, get, rng, undefined);',
    "var fromPin = (request, bag, get) => afterOverrides(c, request, bag, get, rng, undefined);",
    "var fromExperiments = (request, bag, get) => afterPin(c, request, bag, get, rng, 0, undefined);",
    "var mirrored = (slot, request, key, bag, get) => finish(c, slot, request, key, rng, 0, undefined, bag, get);",
    "var roundRobin = (request, bag, get) => mirrored(c.keylessSlots[nextRoundRobin(c, false)], request, undefined, bag, get);",
    "var random = (request, bag, get) => mirrored(randomSlot(c, rng), request, undefined, bag, get);",
    ...(getterDecide === "" ? [] : [getterDecide]),
  ];
  const source = `${prelude.join("\n")}\nreturn function decide(input) {\n  ${body.join("\n  ")}\n};`;
  return { source, values };
}

/**
 * A string as a JavaScript string literal: JSON's escaping, plus U+2028 and U+2029, which JSON leaves raw and engines
 * before ES2019 refuse in a literal.
 */
function literal(text: string): string {
  return JSON.stringify(text)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * `target = <header, as readBagWith reads it>`: from a record, a named load; from a bag with a getter (`get` is its
 * name in the code), a call with the name as a literal.
 */
function readHeader(target: string, name: string, get: string): string {
  const read = get === "undefined" ? `bag[${literal(name)}]` : `${get}.call(bag, ${literal(name)})`;
  return `${target} = ${read}; if (${target} !== undefined && typeof ${target} !== "string") ${target} = stringOf(${target});`;
}

/** `target = <field, as readField reads it>`. */
function readSource(target: string, source: FieldSource, name: string, get: string): string {
  const quoted = literal(name);
  switch (source) {
    case FieldSource.Key:
      return `${target} = request.key; if (typeof ${target} !== "string") ${target} = undefined;`;
    case FieldSource.Header:
      return readHeader(target, name, get);
    case FieldSource.Cookie:
      return `${target} = readCookie(request, ${quoted}, bag, ${get});`;
    case FieldSource.Attr:
      return `${target} = readAttribute(request, ${quoted});`;
    default:
      return `${target} = readQuery(request, ${quoted});`;
  }
}

/** The expression `matches(condition, subject)` with the condition's values as literals. */
function test(condition: CompiledCondition, subject: string, value: (v: unknown) => string): string {
  switch (condition.kind) {
    case MatchKind.Present:
      return `${subject} !== undefined`;
    case MatchKind.Absent:
      return `${subject} === undefined`;
    case MatchKind.Equals:
      return `${subject} === ${literal(condition.equals)}`;
    case MatchKind.Values: {
      const set = condition.values as ReadonlySet<string>;
      if (set.size === 0) return "false";
      if (set.size <= UNROLL_VALUES) return `(${[...set].map((item) => `${subject} === ${literal(item)}`).join(" || ")})`;
      return `(${subject} !== undefined && ${value(set)}.has(${subject}))`;
    }
    case MatchKind.Secret:
      return `(${subject} !== undefined && ${value(condition.secret)}(${subject}))`;
    default:
      return `(${subject} !== undefined && ${subject}.length <= ${MAX_MATCH_INPUT} && ${value(condition.regex)}.test(${subject}))`;
  }
}

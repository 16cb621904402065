/**
 * Compilation: everything `decide` needs, computed once per config — bucket tables, version indexes, condition
 * matchers, and the frozen decision objects that `decide` hands out without allocating.
 */
import type {
  Condition,
  Decision,
  DecisionExperiment,
  DecisionLifecycle,
  DecisionReason,
  Lifecycle,
  PinIgnored,
  RouterConfig,
  StickinessSource,
} from "../types.js";
import { BUCKETS, seedOf } from "./hash.js";
import { type PinKeys, encodePin } from "./pin.js";
import { FieldSource } from "./request.js";
import { MAX_MATCH_INPUT } from "./regex.js";
import { type Chooser, compileScheme } from "./schemes/scheme.js";
import { compatScheme, splitOrder } from "./schemes/validate.js";

// ---------------------------------------------------------------------------------------------------------------
// Interned decisions
// ---------------------------------------------------------------------------------------------------------------

/** The parts of a decision fixed by the rule that made it. */
interface DecisionBase {
  readonly version: string;
  readonly reason: DecisionReason;
  readonly canary: boolean;
  readonly rule: string | undefined;
  readonly experiment: DecisionExperiment | undefined;
  readonly lifecycle: DecisionLifecycle | undefined;
  readonly pin: string;
  readonly revision: number;
}

/** `pinIgnored` as a small index: 0 none, 1 not live, 2 invalid, 3 expired. */
export type PinNote = 0 | 1 | 2 | 3;
const PIN_NOTES: readonly (PinIgnored | undefined)[] = [undefined, "not_live", "invalid", "expired"];

/**
 * One rule outcome and its frozen decision objects: plain, mirrored, and with a pin note — eight at most, each made
 * the first time it is needed and then returned forever (for this revision).
 */
export class Slot {
  private readonly made: (Decision | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  private readonly withExperiments: (Slot | undefined)[] = [];

  constructor(
    readonly base: DecisionBase,
    readonly versionIndex: number,
    private readonly mirrorVersion: string | undefined,
  ) {}

  /** The decision, mirrored or not, with a pin note or not. */
  decision(mirrored: boolean, pinNote: PinNote): Decision {
    const index = (mirrored ? 1 : 0) + pinNote * 2;
    return (this.made[index] ??= makeDecision(this.base, mirrored ? this.mirrorVersion : undefined, PIN_NOTES[pinNote]));
  }

  /** The same outcome, annotated with an experiment variant that did not choose the version itself. */
  withExperiment(code: number, experiment: DecisionExperiment): Slot {
    return (this.withExperiments[code] ??= new Slot({ ...this.base, experiment }, this.versionIndex, this.mirrorVersion));
  }
}

function makeDecision(base: DecisionBase, mirror: string | undefined, pinIgnored: PinIgnored | undefined): Decision {
  return Object.freeze({
    version: base.version,
    reason: base.reason,
    canary: base.canary,
    ...(base.rule === undefined ? {} : { rule: base.rule }),
    ...(base.experiment === undefined ? {} : { experiment: base.experiment }),
    ...(mirror === undefined ? {} : { mirror }),
    ...(base.lifecycle === undefined ? {} : { lifecycle: base.lifecycle }),
    pin: base.pin,
    revision: base.revision,
    ...(pinIgnored === undefined ? {} : { pinIgnored }),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions and key sources
// ---------------------------------------------------------------------------------------------------------------

/** How a compiled condition tests its field. */
export const MatchKind = { Present: 0, Absent: 1, Equals: 2, Values: 3, Matches: 4, Secret: 5 } as const;
export type MatchKind = (typeof MatchKind)[keyof typeof MatchKind];

export interface CompiledCondition {
  readonly source: FieldSource;
  readonly name: string;
  readonly kind: MatchKind;
  readonly equals: string;
  readonly values: ReadonlySet<string> | undefined;
  readonly regex: RegExp | undefined;
  /** For `Secret`: whether a value is one of the override secrets. */
  readonly secret?: (value: string) => boolean;
  /** `header x-user-plan in [pro, enterprise]`, for explanations. */
  readonly label: string;
}

/** Tests a field value against a compiled condition. */
export function matches(condition: CompiledCondition, value: string | undefined): boolean {
  switch (condition.kind) {
    case MatchKind.Present:
      return value !== undefined;
    case MatchKind.Absent:
      return value === undefined;
    case MatchKind.Equals:
      return value === condition.equals;
    case MatchKind.Values:
      return value !== undefined && (condition.values as ReadonlySet<string>).has(value);
    case MatchKind.Secret:
      return value !== undefined && (condition.secret as (value: string) => boolean)(value);
    default:
      return value !== undefined && value.length <= MAX_MATCH_INPUT && (condition.regex as RegExp).test(value);
  }
}

function compileCondition(source: FieldSource, rawName: string, condition: Omit<Condition, "header" | "cookie" | "attr" | "query">): CompiledCondition {
  const name = source === FieldSource.Header ? rawName.toLowerCase() : rawName;
  const field = `${["key", "header", "cookie", "attr", "query"][source]} ${name}`;
  if (condition.equals !== undefined) {
    return {
      source,
      name,
      kind: MatchKind.Equals,
      equals: condition.equals,
      values: undefined,
      regex: undefined,
      label: `${field} = ${JSON.stringify(condition.equals)}`,
    };
  }
  if (condition.values !== undefined) {
    return {
      source,
      name,
      kind: MatchKind.Values,
      equals: "",
      values: new Set(condition.values),
      regex: undefined,
      label: `${field} in [${condition.values.join(", ")}]`,
    };
  }
  if (condition.matches !== undefined) {
    return {
      source,
      name,
      kind: MatchKind.Matches,
      equals: "",
      values: undefined,
      regex: new RegExp(condition.matches),
      label: `${field} ~ /${condition.matches}/`,
    };
  }
  const absent = condition.present === false;
  return {
    source,
    name,
    kind: absent ? MatchKind.Absent : MatchKind.Present,
    equals: "",
    values: undefined,
    regex: undefined,
    label: `${field} ${absent ? "absent" : "present"}`,
  };
}

function compileConditionRule(condition: Condition): CompiledCondition {
  if (condition.header !== undefined) return compileCondition(FieldSource.Header, condition.header, condition);
  if (condition.cookie !== undefined) return compileCondition(FieldSource.Cookie, condition.cookie, condition);
  if (condition.attr !== undefined) return compileCondition(FieldSource.Attr, condition.attr, condition);
  return compileCondition(FieldSource.Query, condition.query as string, condition);
}

export interface KeySource {
  readonly source: FieldSource;
  readonly name: string;
  readonly label: StickinessSource;
}

function compileKeySources(sources: readonly StickinessSource[]): KeySource[] {
  return sources.map((label) => {
    if (label === "key") return { source: FieldSource.Key, name: "", label };
    const colon = label.indexOf(":");
    const kind = label.slice(0, colon);
    const name = label.slice(colon + 1);
    const source = kind === "header" ? FieldSource.Header : kind === "cookie" ? FieldSource.Cookie : kind === "attr" ? FieldSource.Attr : FieldSource.Query;
    return { source, name: source === FieldSource.Header ? name.toLowerCase() : name, label };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The compiled router
// ---------------------------------------------------------------------------------------------------------------

export interface CompiledOverride {
  readonly condition: CompiledCondition;
  readonly slot: Slot;
  readonly rule: string;
}

export interface CompiledSegment {
  readonly include: readonly CompiledCondition[];
  readonly exclude: readonly CompiledCondition[];
  readonly slot: Slot;
  readonly rule: string;
  readonly name: string | undefined;
}

export interface CompiledVariant {
  readonly name: string;
  /** The variant's own version slot, when the variant names a version. */
  readonly slot: Slot | undefined;
  readonly experiment: DecisionExperiment;
}

export interface CompiledExperiment {
  readonly name: string;
  readonly rule: string;
  readonly seed: number;
  /** bucket → variant index */
  readonly table: Uint8Array;
  readonly variants: readonly CompiledVariant[];
  readonly include: readonly CompiledCondition[];
  readonly exclude: readonly CompiledCondition[];
  readonly paths: readonly string[] | undefined;
  /** `undefined`: the router's own key. */
  readonly keySources: readonly KeySource[] | undefined;
  /** Index base for `Slot.withExperiment`: variant `v` of this experiment is `codeBase + v`. */
  readonly codeBase: number;
  /** A compatibility scheme's chooser (variant index or -1: not enrolled), replacing `seed` and `table`. */
  readonly chooser: Chooser | undefined;
}

/** The split under a compatibility scheme: the chooser picks an entry; entries are version indexes. */
export interface CompiledCompat {
  readonly chooser: Chooser;
  /** entry → version index (entry -1, not enrolled, is the stable version) */
  readonly entries: Int32Array;
}

export const ExplicitChannel = { Path: 0, Header: 1, Accept: 2, Query: 3 } as const;
export type ExplicitChannel = (typeof ExplicitChannel)[keyof typeof ExplicitChannel];
export const EXPLICIT_RULES = ["explicit.path", "explicit.header", "explicit.accept", "explicit.query"] as const;

export interface CompiledExplicit {
  /** `"/"` or `"/api/"`: the version token follows it. */
  readonly pathPrefix: string | undefined;
  readonly pathPattern: RegExp;
  readonly header: string | undefined;
  /** `vnd.<vendor>.` */
  readonly acceptNeedle: string | undefined;
  readonly query: string | undefined;
  /** token → version index */
  readonly tokens: ReadonlyMap<string, number>;
  /** Whether versions are named `"v" + token` (so an unknown bare `9` is reported as `v9`). */
  readonly vNamed: boolean;
  /** channel → version index → slot */
  readonly slots: readonly (readonly Slot[])[];
}

export interface CompiledMirror {
  readonly version: string;
  /** Buckets below this are mirrored. */
  readonly threshold: number;
  /** version index → eligible */
  readonly from: readonly boolean[];
  readonly seed: number;
}

export interface Compiled {
  readonly config: RouterConfig;
  readonly revision: number;
  readonly versions: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  readonly stable: number;
  readonly canary: number;
  readonly seed: number;
  readonly pinKeys: PinKeys;
  /** bucket → version index */
  readonly table: Uint8Array;
  /** Buckets owned per version index. */
  readonly bucketCounts: readonly number[];
  /** Version indexes in bucket order, with the first bucket of each: for explanations. */
  readonly layout: readonly { readonly version: number; readonly from: number; readonly to: number }[];
  readonly keySources: readonly KeySource[];
  readonly keyless: "random" | "round-robin" | "stable";
  /** Whether any rule reads `request.headers` (a header or cookie field, an override, an explicit header or Accept). */
  readonly readsHeaders: boolean;
  /** Smooth weighted round-robin: integer weights, and the running state (reset by every update). */
  readonly roundRobin: { readonly weights: Int32Array; readonly current: Int32Array; readonly total: number };
  readonly overrides: readonly CompiledOverride[];
  readonly explicit: CompiledExplicit | undefined;
  readonly segments: readonly CompiledSegment[];
  readonly experiments: readonly CompiledExperiment[];
  readonly experimentsByName: ReadonlyMap<string, CompiledExperiment>;
  readonly mirror: CompiledMirror | undefined;
  /**
   * Pins known to be authentic → their version index and expiry: this revision's pins without expiry (from the
   * start), then pins issued or verified since (the fast path for pins: a map lookup, no HMAC, no allocation).
   */
  readonly knownPins: Map<string, KnownPin>;
  /** Per version index, the last pin issued with an expiry (see `Router.issuePin`). */
  readonly issuedPins: (IssuedPin | undefined)[];
  /** The split's compatibility scheme, when `bucketing` names one. */
  readonly compat: CompiledCompat | undefined;
  readonly weighted: readonly Slot[];
  readonly keylessSlots: readonly Slot[];
  readonly pinned: readonly Slot[];
  readonly fallback: Slot;
  readonly error: Slot;
}

/**
 * Cumulative bucket boundaries for relative weights: boundary k = round(10 000 × (w_1 + … + w_k) / W), the last
 * forced to 10 000. Entry i of the result is the first bucket *after* item i.
 */
export function boundaries(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  const result = weights.map((weight) => {
    cumulative += weight;
    return Math.round((BUCKETS * cumulative) / total);
  });
  if (result.length > 0) result[result.length - 1] = BUCKETS;
  return result;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Compiles a validated config. */
/** A pin the router has verified or made. */
export interface KnownPin {
  readonly version: number;
  /** Epoch ms; `Infinity` for a pin without expiry. */
  readonly expiresAt: number;
}

/** The last pin issued for a version, and the second it expires at. */
export interface IssuedPin {
  readonly seconds: number;
  readonly pin: string;
}

/** Most pins the router remembers per revision; when full it starts again from this revision's own pins. */
export const KNOWN_PINS_LIMIT = 4096;

/** This revision's own pins without expiry. */
export function ownPins(c: Compiled): void {
  c.versions.forEach((_, i) => c.knownPins.set(c.pinned[i]!.base.pin, { version: i, expiresAt: Number.POSITIVE_INFINITY }));
}

/** Whether `value` equals one of `secrets`; the time taken depends on the secrets' lengths, not on where they differ. */
export function secretMatcher(secrets: readonly string[]): (value: string) => boolean {
  return (value) => {
    let found = false;
    for (const secret of secrets) {
      let difference = value.length ^ secret.length;
      for (let i = 0; i < secret.length; i++) difference |= (value.charCodeAt(i) | 0) ^ secret.charCodeAt(i);
      found = found || difference === 0;
    }
    return found;
  };
}

export function compile(config: RouterConfig, revision: number, pinKeys: PinKeys, overrideSecrets: readonly string[] = []): Compiled {
  const versions = config.versions;
  const index = new Map(versions.map((name, i) => [name, i] as const));
  const stable = index.get(config.stable) as number;
  const canary = config.canary === undefined ? -1 : (index.get(config.canary) as number);

  const lifecycles = versions.map((name) => compileLifecycle(config.lifecycle?.[name]));
  const pins = versions.map((name) => encodePin(name, revision, pinKeys));
  const mirrorVersion = config.mirror?.version;
  const slot = (version: number, reason: DecisionReason, rule: string | undefined): Slot =>
    new Slot(
      {
        version: versions[version] as string,
        reason,
        canary: version === canary,
        rule,
        experiment: undefined,
        lifecycle: lifecycles[version],
        pin: pins[version] as string,
        revision,
      },
      version,
      mirrorVersion,
    );

  // The split, laid out as [other versions in `versions` order][canary][stable]: moving weight between the canary
  // and the stable moves only the keys at their common boundary (a monotone ramp).
  const weights = versions.map((name) => config.split?.[name] ?? (config.split === undefined && name === config.stable ? 1 : 0));
  const order = versions.map((_, i) => i).filter((i) => i !== stable && i !== canary);
  if (canary >= 0) order.push(canary);
  order.push(stable);
  const bounds = boundaries(order.map((i) => weights[i] as number));
  const table = new Uint8Array(BUCKETS);
  const bucketCounts = versions.map(() => 0);
  const layout: { version: number; from: number; to: number }[] = [];
  let from = 0;
  order.forEach((version, k) => {
    const to = bounds[k] as number;
    table.fill(version, from, to);
    bucketCounts[version] = to - from;
    if (to > from) layout.push({ version, from, to });
    from = to;
  });

  const divisor = bucketCounts.reduce((acc, count) => (count > 0 ? gcd(acc, count) : acc), 0) || 1;
  const rrWeights = Int32Array.from(bucketCounts, (count) => count / divisor);
  const roundRobin = { weights: rrWeights, current: new Int32Array(versions.length), total: rrWeights.reduce((a, b) => a + b, 0) };

  const overrides = (config.overrides ?? []).map((override, i): CompiledOverride => {
    const rule = `overrides[${i}]`;
    return {
      condition:
        override.secret === true
          ? {
              source: FieldSource.Header,
              name: override.header.toLowerCase(),
              kind: MatchKind.Secret,
              equals: "",
              values: undefined,
              regex: undefined,
              secret: secretMatcher(overrideSecrets),
              label: `header ${override.header.toLowerCase()} = the override secret`,
            }
          : compileCondition(FieldSource.Header, override.header, override),
      slot: slot(index.get(override.version) as number, "header_match", rule),
      rule,
    };
  });

  const segments = (config.segments ?? []).map((segment, i): CompiledSegment => {
    const rule = `segments[${i}]`;
    return {
      include: (segment.include ?? []).map(compileConditionRule),
      exclude: (segment.exclude ?? []).map(compileConditionRule),
      slot: slot(index.get(segment.version) as number, "segment_match", rule),
      rule,
      name: segment.name,
    };
  });

  let codeBase = 0;
  const experiments = (config.experiments ?? []).map((experiment, i): CompiledExperiment => {
    const rule = `experiments[${i}]`;
    const variantTable = new Uint8Array(BUCKETS);
    let start = 0;
    boundaries(experiment.variants.map((variant) => variant.weight)).forEach((end, v) => {
      variantTable.fill(v, start, end);
      start = end;
    });
    const compiled: CompiledExperiment = {
      name: experiment.name,
      rule,
      seed: seedOf(experiment.salt ?? experiment.name),
      table: variantTable,
      variants: experiment.variants.map((variant) => {
        const info = Object.freeze({ name: experiment.name, variant: variant.name });
        const own = variant.version === undefined ? undefined : slot(index.get(variant.version) as number, "experiment", rule);
        return { name: variant.name, slot: own === undefined ? undefined : own.withExperiment(0, info), experiment: info };
      }),
      include: (experiment.include ?? []).map(compileConditionRule),
      exclude: (experiment.exclude ?? []).map(compileConditionRule),
      paths: experiment.paths,
      keySources: experiment.stickiness === undefined ? undefined : compileKeySources(experiment.stickiness),
      codeBase,
      chooser: chooserFor(
        experiment.bucketing,
        experiment.variants.map((variant) => variant.weight),
      ),
    };
    codeBase += experiment.variants.length;
    return compiled;
  });

  const explicit = config.explicit === undefined ? undefined : compileExplicit(config, index, slot);

  const mirror: CompiledMirror | undefined =
    config.mirror === undefined
      ? undefined
      : {
          version: config.mirror.version,
          threshold: Math.round(config.mirror.percent * 100),
          from: versions.map((name) => (config.mirror!.from === undefined ? name !== config.mirror!.version : config.mirror!.from.includes(name))),
          seed: seedOf(`mirror:${config.salt ?? ""}`),
        };

  const splitScheme = compatScheme(config.bucketing);
  const schemeOrder = splitScheme === undefined ? undefined : splitOrder(splitScheme, config, undefined, "bucketing");
  const compat: CompiledCompat | undefined =
    splitScheme === undefined || schemeOrder === undefined
      ? undefined
      : {
          chooser: compileScheme(
            splitScheme,
            schemeOrder.map((name) => weights[index.get(name) as number] as number),
          ),
          entries: Int32Array.from(schemeOrder, (name) => index.get(name) as number),
        };

  const keySources = compileKeySources(config.stickiness ?? ["key"]);
  const fromHeaders = (field: { readonly source: FieldSource }): boolean => field.source === FieldSource.Header || field.source === FieldSource.Cookie;
  const readsHeaders =
    overrides.length > 0 ||
    keySources.some(fromHeaders) ||
    segments.some((segment) => segment.include.some(fromHeaders) || segment.exclude.some(fromHeaders)) ||
    experiments.some(
      (experiment) => experiment.include.some(fromHeaders) || experiment.exclude.some(fromHeaders) || (experiment.keySources ?? []).some(fromHeaders),
    ) ||
    (explicit !== undefined && (explicit.header !== undefined || explicit.acceptNeedle !== undefined));

  return {
    config,
    revision,
    versions,
    index,
    stable,
    canary,
    seed: seedOf(config.salt ?? ""),
    pinKeys,
    table,
    bucketCounts,
    layout,
    keySources,
    keyless: config.keyless ?? "random",
    readsHeaders,
    roundRobin,
    overrides,
    explicit,
    segments,
    experiments,
    experimentsByName: new Map(experiments.map((experiment) => [experiment.name, experiment] as const)),
    mirror,
    knownPins: new Map(pins.map((pin, i) => [pin, { version: i, expiresAt: Number.POSITIVE_INFINITY }] as const)),
    issuedPins: versions.map(() => undefined),
    compat,
    weighted: versions.map((_, i) => slot(i, "weighted_routing", "split")),
    keylessSlots: versions.map((_, i) => slot(i, "keyless", "split")),
    pinned: versions.map((_, i) => slot(i, "pinned", "pin")),
    fallback: slot(stable, "fallback", "keyless"),
    error: slot(stable, "error", undefined),
  };
}

/** The chooser of a compatibility scheme over `weights` (in the SDK's order), or `undefined` for turnout's own. */
function chooserFor(bucketing: unknown, weights: readonly number[]): Chooser | undefined {
  const spec = compatScheme(bucketing);
  return spec === undefined ? undefined : compileScheme(spec, weights);
}

function compileLifecycle(lifecycle: Lifecycle | undefined): DecisionLifecycle | undefined {
  if (lifecycle === undefined) return undefined;
  const result: { -readonly [K in keyof DecisionLifecycle]: DecisionLifecycle[K] } = { config: lifecycle };
  if (lifecycle.deprecated !== undefined) result.deprecatedAt = Date.parse(lifecycle.deprecated);
  if (lifecycle.sunset !== undefined) result.sunsetAt = Date.parse(lifecycle.sunset);
  return Object.freeze(result);
}

function compileExplicit(
  config: RouterConfig,
  index: ReadonlyMap<string, number>,
  slot: (version: number, reason: DecisionReason, rule: string) => Slot,
): CompiledExplicit {
  const explicit = config.explicit!;
  // Token resolution: `"v" + token` names a version, then exact names, then aliases (later entries win).
  const tokens = new Map<string, number>();
  for (const [name, i] of index) if (/^v./.test(name)) tokens.set(name.slice(1), i);
  for (const [name, i] of index) tokens.set(name, i);
  for (const [token, name] of Object.entries(explicit.aliases ?? {})) tokens.set(token, index.get(name) as number);
  return {
    pathPrefix: explicit.path === undefined ? undefined : `${explicit.path.prefix ?? ""}/`,
    pathPattern: new RegExp(explicit.path?.pattern ?? "^v[0-9]+$"),
    header: explicit.header?.toLowerCase(),
    acceptNeedle: explicit.accept === undefined ? undefined : `vnd.${explicit.accept.toLowerCase()}.`,
    query: explicit.query,
    tokens,
    vNamed: config.versions.some((name) => /^v./.test(name)),
    slots: EXPLICIT_RULES.map((rule) => config.versions.map((_, i) => slot(i, "explicit_version", rule))),
  };
}

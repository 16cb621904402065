/**
 * Compatibility bucketing: each feature-flag SDK's assignment of a key to one of its variants, reproduced exactly,
 * compiled once per config into a {@link Chooser}. The formulas (and which SDK each option matches) are in
 * docs/compatibility-bucketing.md; every one is held to the SDK's own published cases and to the SDK itself in the
 * test suite.
 *
 * Weights arrive as turnout's relative weights, in the SDK's variant order, and are converted into the SDK's units
 * (whole percents, thousandths, fractions…). A weight that has no exact equivalent is a problem for validation,
 * never silently rounded: `toUnits` reports it.
 */
import type { Bucketing } from "../../types.js";
import { FNV_OFFSET, FnvEncoding, fnvDigits, fnvFeed } from "./fnv.js";
import { MurmurEncoding, type MurmurPrefix, murmurAfter, murmurPrefix } from "./murmur.js";
import { sha1Top60 } from "./sha1.js";

/** A compiled scheme: key → entry index (in the SDK's order), or -1 when the key is not enrolled. */
export interface Chooser {
  /** The scheme's name, for explanations. */
  readonly scheme: Exclude<Bucketing["scheme"], "turnout">;
  /** Whether requests without a key are decided by `keyless` (the SDK's way) rather than the router's mode. */
  readonly sdkKeyless: boolean;
  /** The entry for `key`, or -1 (outside coverage, namespace or every bucket). Hot path: no allocation, no throw. */
  choose(key: string): number;
  /** What the source SDK does without a key; -1 is "not enrolled". */
  keyless(rng: () => number): number;
  /** The key's position in the scheme's space, in [0, 1], for explanations and `assign`. */
  position(key: string): number;
}

/** Unleash's seed for variants (its strategies use 0). */
export const UNLEASH_VARIANT_SEED = 86028157;
const TWO_32 = 4294967296;
/** How close a converted weight must be to a whole unit to count as one (absorbs decimal noise such as 0.1 + 0.2). */
const WHOLE = 1e-9;

/** The weights in the scheme's units, or the entries that have no exact equivalent. */
export type Units =
  | { readonly ok: true; readonly units: readonly number[] }
  | { readonly ok: false; readonly problems: readonly { readonly index: number; readonly message: string }[] };

function wholeUnits(weights: readonly number[], scale: number, what: (index: number, value: number) => string): Units {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const problems: { index: number; message: string }[] = [];
  const units = weights.map((weight, index) => {
    const value = total > 0 ? (weight * scale) / total : 0;
    const rounded = Math.round(value);
    if (Math.abs(value - rounded) > WHOLE * Math.max(1, scale)) problems.push({ index, message: what(index, value) });
    return rounded;
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, units };
}

/** The widths themselves as units, when `weights` have the same shares as `widths` (else a problem per entry that differs). */
function sameShares(weights: readonly number[], widths: readonly number[], what: (index: number, share: number) => string): Units {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const width = widths.reduce((sum, value) => sum + value, 0);
  if (widths.length !== weights.length || total <= 0 || width <= 0) return { ok: true, units: [...widths] };
  const problems: { index: number; message: string }[] = [];
  weights.forEach((weight, index) => {
    const share = widths[index]! / width;
    if (Math.abs(weight / total - share) > WHOLE) problems.push({ index, message: what(index, share) });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, units: [...widths] };
}

/**
 * GrowthBook's weights: fractions used exactly as given when they sum to 0.99–1.01 (the SDK's own tolerance), else
 * relative weights (percents, say) divided by their total.
 *
 * @example
 * ```ts
 * fractions([90, 10]); // [0.9, 0.1]
 * ```
 */
export function fractions(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return total >= 0.99 && total <= 1.01 ? [...weights] : weights.map((weight) => weight / total);
}

/**
 * Converts relative weights (in the SDK's order) to the scheme's units; for two-entry rollouts, entry 1 is "on".
 *
 * @example
 * ```ts
 * toUnits({ scheme: "unleash", groupId: "g" }, [99.5, 0.5]); // { ok: false, … } — Unleash rolls out whole percents
 * ```
 */
export function toUnits(spec: Exclude<Bucketing, { scheme: "turnout" }>, weights: readonly number[]): Units {
  const percent = (value: number): string => `${+value.toPrecision(12)}`;
  switch (spec.scheme) {
    case "unleash":
      if ((spec.mode ?? "rollout") === "rollout") {
        return wholeUnits(weights, 100, (_, value) => `Unleash rolls out in whole percents; ${percent(value)} % cannot be expressed`);
      }
      return wholeUnits(
        weights,
        spec.totalWeight ?? 1000,
        (_, value) => `Unleash variant weights are whole numbers out of ${spec.totalWeight ?? 1000}; ${percent(value)} cannot be expressed`,
      );
    case "growthbook": {
      const widths =
        spec.mode === "rollout"
          ? spec.range === undefined
            ? undefined
            : [1 - (spec.range[1] - spec.range[0]), spec.range[1] - spec.range[0]]
          : spec.ranges?.map(([start, end]) => end - start);
      if (widths === undefined) return { ok: true, units: fractions(weights) };
      return sameShares(
        weights,
        widths,
        (index, width) => `with explicit GrowthBook ranges the weights are the ranges' widths; this entry's share must be ${percent(width * 100)} %`,
      );
    }
    case "flagd":
      return wholeUnits(
        weights,
        spec.totalWeight ?? 100,
        (_, value) => `flagd weights are whole numbers (here out of ${spec.totalWeight ?? 100}); ${percent(value)} cannot be expressed`,
      );
    case "launchdarkly":
      return wholeUnits(weights, 100_000, (_, value) => `LaunchDarkly weights are thousandths of a percent; ${percent(value / 1000)} % cannot be expressed`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Unleash
// ---------------------------------------------------------------------------------------------------------------

class UnleashRollout implements Chooser {
  readonly scheme = "unleash";
  constructor(
    private readonly prefix: MurmurPrefix,
    private readonly percent: number,
    readonly sdkKeyless: boolean,
  ) {}

  choose(key: string): number {
    // Hot path. normalizedValue = hash % 100 + 1; on when rollout > 0 and normalizedValue ≤ rollout.
    const value = ((murmurAfter(this.prefix, key) >>> 0) % 100) + 1;
    return this.percent > 0 && value <= this.percent ? 1 : 0;
  }

  keyless(rng: () => number): number {
    const value = Math.floor(rng() * 100) + 1;
    return this.percent > 0 && value <= this.percent ? 1 : 0;
  }

  position(key: string): number {
    return ((murmurAfter(this.prefix, key) >>> 0) % 100) / 100;
  }
}

class UnleashVariants implements Chooser {
  readonly scheme = "unleash";
  /** Running weights; an entry of weight 0 is skipped, as Unleash does. */
  private readonly ends: Float64Array;
  private readonly total: number;

  constructor(
    private readonly prefix: MurmurPrefix,
    private readonly weights: readonly number[],
    /** The rollout strategy that enables the flag first (its group's prefix, seed 0, and whole percent), if any. */
    private readonly gate: { readonly prefix: MurmurPrefix; readonly percent: number } | undefined,
    readonly sdkKeyless: boolean,
  ) {
    let running = 0;
    this.ends = Float64Array.from(weights, (weight) => (running += weight));
    this.total = running;
  }

  private pick(target: number): number {
    const ends = this.ends;
    for (let i = 0; i < ends.length; i++) if (this.weights[i]! > 0 && ends[i]! >= target) return i;
    return -1;
  }

  choose(key: string): number {
    // Hot path. The rollout first (off: not enrolled); then target = hash % totalWeight + 1, the first variant whose
    // running weight reaches it.
    const gate = this.gate;
    if (gate !== undefined && !(gate.percent > 0 && ((murmurAfter(gate.prefix, key) >>> 0) % 100) + 1 <= gate.percent)) return -1;
    return this.pick(((murmurAfter(this.prefix, key) >>> 0) % this.total) + 1);
  }

  keyless(rng: () => number): number {
    const gate = this.gate;
    if (gate !== undefined && !(gate.percent > 0 && Math.floor(rng() * 100) + 1 <= gate.percent)) return -1;
    return this.pick(Math.floor(rng() * this.total) + 1);
  }

  position(key: string): number {
    return ((murmurAfter(this.prefix, key) >>> 0) % this.total) / this.total;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// GrowthBook
// ---------------------------------------------------------------------------------------------------------------

const NOT_ENROLLED = 255;

/** A hash GrowthBook takes of a key: its version, seed, and the state after the seed (version 2 hashes seed + key). */
interface GrowthBookHash {
  readonly version: 1 | 2;
  readonly seed: string;
  readonly seedState: number;
}

/** A compiled filter: its hash, and hash value → 1 when one of its ranges holds it. */
interface Filter extends GrowthBookHash {
  readonly included: Uint8Array;
}

/** GrowthBook's hash of `key`: 0–999 (version 1, `fnv(key + seed)`) or 0–9999 (version 2, `fnv(String(fnv(seed + key)))`). */
function growthbookValue(hash: GrowthBookHash, key: string, encoding: FnvEncoding): number {
  if (hash.version === 2) return (fnvDigits(FNV_OFFSET, fnvFeed(hash.seedState, key, encoding) >>> 0) >>> 0) % 10_000;
  return (fnvFeed(fnvFeed(FNV_OFFSET, key, encoding), hash.seed, encoding) >>> 0) % 1000;
}

/** For each hash value of `version` (as the fraction GrowthBook compares), 1 when `holds` it. */
function valueTable(version: 1 | 2, holds: (n: number) => boolean): Uint8Array {
  const size = version === 2 ? 10_000 : 1000;
  const table = new Uint8Array(size);
  for (let m = 0; m < size; m++) table[m] = holds(m / size) ? 1 : 0;
  return table;
}

class GrowthBook implements Chooser {
  readonly scheme = "growthbook";
  /** Hash value (0–999 or 0–9999) → entry, or NOT_ENROLLED: the SDK's ranges, evaluated once for every value. */
  private readonly table: Uint8Array;
  readonly seedState: number;

  constructor(
    readonly version: 1 | 2,
    readonly seed: string,
    private readonly encoding: FnvEncoding,
    table: (n: number) => number,
    /** Namespace hash (0–999) → included, or undefined without a namespace. */
    private readonly namespace: { readonly suffix: string; readonly included: Uint8Array } | undefined,
    /** The filters, each with its hash and the values it includes; a key any filter excludes gets `excluded`. */
    private readonly filters: readonly Filter[],
    /** What a filtered-out key gets: -1 in an experiment, 0 (off) in a rollout rule. */
    private readonly excluded: number,
    readonly sdkKeyless: boolean,
  ) {
    const size = version === 2 ? 10_000 : 1000;
    this.table = new Uint8Array(size);
    for (let m = 0; m < size; m++) this.table[m] = table(m / size);
    this.seedState = fnvFeed(FNV_OFFSET, seed, encoding);
  }

  /** The hash value: 0–999 (version 1) or 0–9999 (version 2). */
  private value(key: string): number {
    return growthbookValue(this, key, this.encoding);
  }

  choose(key: string): number {
    // Hot path. Filters or the namespace first (its own version-1 hash of key + "__" + id), then the variation table.
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) if (filters[i]!.included[growthbookValue(filters[i]!, key, this.encoding)] === 0) return this.excluded;
    const namespace = this.namespace;
    if (namespace !== undefined) {
      const n = (fnvFeed(fnvFeed(FNV_OFFSET, key, this.encoding), namespace.suffix, this.encoding) >>> 0) % 1000;
      if (namespace.included[n] === 0) return -1;
    }
    const entry = this.table[this.value(key)]!;
    return entry === NOT_ENROLLED ? -1 : entry;
  }

  keyless(): number {
    return -1; // GrowthBook skips a rule (or returns "not in experiment") when the hash attribute is empty
  }

  position(key: string): number {
    return this.value(key) / (this.version === 2 ? 10_000 : 1000);
  }
}

/**
 * GrowthBook's bucket ranges: `[start, start + coverage × weight)` over the cumulative weights.
 *
 * @example
 * ```ts
 * bucketRanges(0.5, [0.5, 0.5]); // [[0, 0.25], [0.5, 0.75]]
 * ```
 */
export function bucketRanges(coverage: number, weights: readonly number[]): [number, number][] {
  let cumulative = 0;
  return weights.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + coverage * weight];
  });
}

/**
 * The first range holding `n` (`start ≤ n < end`), or -1: GrowthBook's variation choice.
 *
 * @example
 * ```ts
 * rangeIndex(0.6, [[0, 0.5], [0.5, 1]]); // 1
 * ```
 */
export function rangeIndex(n: number, ranges: readonly (readonly [number, number])[]): number {
  return ranges.findIndex(([start, end]) => n >= start && n < end);
}

// ---------------------------------------------------------------------------------------------------------------
// flagd
// ---------------------------------------------------------------------------------------------------------------

class FlagdV2 implements Chooser {
  readonly scheme = "flagd";
  /** Entry i wins when the unsigned hash is below bounds[i] = ⌈end_i × 2^32 / totalWeight⌉ (bucket < end_i, exactly). */
  private readonly bounds: Float64Array;

  constructor(
    private readonly prefix: MurmurPrefix,
    weights: readonly number[],
    readonly sdkKeyless: boolean,
  ) {
    const total = BigInt(weights.reduce((sum, weight) => sum + weight, 0));
    let end = BigInt(0);
    this.bounds = Float64Array.from(weights, (weight) => {
      end += BigInt(weight);
      return Number((end * BigInt(TWO_32) + total - BigInt(1)) / total);
    });
  }

  choose(key: string): number {
    // Hot path: bucket = hash × totalWeight >> 32, compared through precomputed hash bounds.
    const hash = murmurAfter(this.prefix, key) >>> 0;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) if (hash < bounds[i]!) return i;
    return -1;
  }

  keyless(): number {
    return -1; // no targeting key: flagd's fractional returns null and the flag its default variant
  }

  position(key: string): number {
    return (murmurAfter(this.prefix, key) >>> 0) / TWO_32;
  }
}

class FlagdV1 implements Chooser {
  readonly scheme = "flagd";
  /** Running percentages, accumulated in floating point exactly as the SDK does. */
  private readonly ends: Float64Array;

  constructor(
    private readonly prefix: MurmurPrefix,
    private readonly weights: readonly number[],
    /** `go`: |h| / (2^31 − 1), `bucket < end`; `js`: |h| / 2^31, `end ≥ bucket`. */
    private readonly js: boolean,
    readonly sdkKeyless: boolean,
  ) {
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    let running = 0;
    this.ends = Float64Array.from(weights, (weight) => (running += weight === 0 && js ? 0 : (100 * weight) / total));
  }

  private bucket(key: string): number {
    return (Math.abs(murmurAfter(this.prefix, key)) / (this.js ? 2147483648 : 2147483647)) * 100;
  }

  choose(key: string): number {
    // Hot path.
    const bucket = this.bucket(key);
    const ends = this.ends;
    if (this.js) {
      for (let i = 0; i < ends.length; i++) if (ends[i]! >= bucket) return i;
    } else {
      for (let i = 0; i < ends.length; i++) if (bucket < ends[i]!) return i;
    }
    return -1;
  }

  keyless(): number {
    return -1;
  }

  position(key: string): number {
    return this.bucket(key) / 100;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// LaunchDarkly
// ---------------------------------------------------------------------------------------------------------------

class LaunchDarkly implements Chooser {
  readonly scheme = "launchdarkly";
  /** Running sums `sum += weight / 100000`, in floating point exactly as the SDKs accumulate them. */
  private readonly sums: Float64Array;

  constructor(
    private readonly prefix: string,
    weights: readonly number[],
    readonly sdkKeyless: boolean,
  ) {
    let sum = 0;
    this.sums = Float64Array.from(weights, (weight) => (sum += weight / 100_000));
  }

  private pick(bucket: number): number {
    const sums = this.sums;
    for (let i = 0; i < sums.length; i++) if (bucket < sums[i]!) return i;
    return sums.length - 1; // past every sum (rounding): the last variation, as the SDKs do
  }

  choose(key: string): number {
    // Hot path: the first 60 bits of SHA-1, scaled by 0xFFFFFFFFFFFFFFF (which is 2^60 as a double).
    return this.pick(sha1Top60(this.prefix, key) / 1152921504606847e3);
  }

  keyless(): number {
    return this.pick(0); // an unbucketable attribute buckets at 0
  }

  position(key: string): number {
    return sha1Top60(this.prefix, key) / 1152921504606847e3;
  }
}

/**
 * Compiles a (validated) compatibility scheme over entries in the SDK's order with their relative weights.
 *
 * @example
 * ```ts
 * const chooser = compileScheme({ scheme: "growthbook", seed: "exp" }, [0.5, 0.5]);
 * chooser.choose("user-1"); // 0 or 1, as GrowthBook's SDK assigns user-1
 * ```
 */
export function compileScheme(spec: Exclude<Bucketing, { scheme: "turnout" }>, weights: readonly number[]): Chooser {
  const converted = toUnits(spec, weights);
  if (!converted.ok) throw new RangeError(converted.problems[0]!.message); // validation refuses these first
  const units = converted.units;
  const sdkKeyless = spec.keyless === "sdk";
  switch (spec.scheme) {
    case "unleash": {
      const encoding = spec.encoding === "latin1" ? MurmurEncoding.Latin1 : MurmurEncoding.Utf8;
      if ((spec.mode ?? "rollout") === "rollout") {
        return new UnleashRollout(murmurPrefix(`${spec.groupId}:`, 0, encoding), units[1]!, sdkKeyless);
      }
      const gate =
        spec.rollout === undefined ? undefined : { prefix: murmurPrefix(`${spec.rolloutGroupId ?? spec.groupId}:`, 0, encoding), percent: spec.rollout };
      return new UnleashVariants(murmurPrefix(`${spec.groupId}:`, UNLEASH_VARIANT_SEED, encoding), units, gate, sdkKeyless);
    }
    case "growthbook": {
      const encoding = spec.encoding === "utf8" ? FnvEncoding.Utf8 : spec.encoding === "codepoint" ? FnvEncoding.CodePoint : FnvEncoding.Utf16;
      let table: (n: number) => number;
      const range = spec.range;
      if (spec.mode === "rollout" && range !== undefined) {
        table = (n) => (n >= range[0] && n < range[1] ? 1 : 0);
      } else if (spec.mode === "rollout") {
        const coverage = units[1]!;
        table = (n) => (coverage > 0 && n <= coverage ? 1 : 0);
      } else {
        const coverage = Math.min(1, Math.max(0, spec.coverage ?? 1));
        const ranges = spec.ranges ?? bucketRanges(coverage, units);
        table = (n) => {
          const index = rangeIndex(n, ranges);
          return index < 0 ? NOT_ENROLLED : index;
        };
      }
      let namespace: { suffix: string; included: Uint8Array } | undefined;
      if (spec.namespace !== undefined && spec.mode !== "rollout") {
        const [id, start, end] = spec.namespace;
        const included = new Uint8Array(1000);
        for (let m = 0; m < 1000; m++) included[m] = m / 1000 >= start && m / 1000 < end ? 1 : 0;
        namespace = { suffix: `__${id}`, included };
      }
      const filters = (spec.filters ?? []).map((filter): Filter => {
        const version = filter.hashVersion ?? 2;
        return {
          version,
          seed: filter.seed,
          seedState: fnvFeed(FNV_OFFSET, filter.seed, encoding),
          included: valueTable(version, (n) => filter.ranges.some(([start, end]) => n >= start && n < end)),
        };
      });
      return new GrowthBook(spec.hashVersion ?? 1, spec.seed, encoding, table, namespace, filters, spec.mode === "rollout" ? 0 : -1, sdkKeyless);
    }
    case "flagd": {
      const js = spec.implementation === "js";
      const prefix = murmurPrefix(spec.flagKey, 0, js ? MurmurEncoding.Imurmur : MurmurEncoding.Utf8);
      return spec.bucketing === "v1" ? new FlagdV1(prefix, units, js, sdkKeyless) : new FlagdV2(prefix, units, sdkKeyless);
    }
    case "launchdarkly": {
      const prefix = spec.seed ? `${spec.seed}.` : `${spec.flagKey}.${spec.salt}.`;
      return new LaunchDarkly(prefix, units, sdkKeyless);
    }
  }
}

/**
 * Validation of `bucketing` (on the router, for the split, and on experiments): the scheme's fields, the order of
 * its entries, and whether every weight has an exact equivalent in the scheme's units.
 */
import { type Problems, checkFields, child, isRecord, typeName } from "../../internal/problems.js";
import type { Bucketing } from "../../types.js";
import { toUnits } from "./scheme.js";

const SCHEMES = ["turnout", "unleash", "growthbook", "flagd", "launchdarkly"] as const;
const KEYLESS = ["router", "sdk"];
const MAX_TEXT = 1024;
const MAX_WEIGHT_TOTAL = 2147483647;
const MAX_FILTERS = 16;
const MAX_RANGES = 64;
/** GrowthBook's sticky-bucketing fields: accepted as names so that each is refused with the reason (see `stickyBucketing`). */
const STICKY_BUCKETING = ["fallbackAttribute", "bucketVersion", "minBucketVersion"] as const;
const STICKY_REASON: Readonly<Record<(typeof STICKY_BUCKETING)[number], string>> = {
  fallbackAttribute:
    "GrowthBook hashes the fallback attribute only under sticky bucketing, whose stored assignments turnout does not read; list the fallback as a later stickiness source instead (its first assignment is the same)",
  bucketVersion:
    "sticky bucketing (assignments stored per bucket version) cannot be expressed: turnout keeps a version for a client with pins, not with GrowthBook's stored assignments",
  minBucketVersion:
    "sticky bucketing (excluding assignments of earlier bucket versions) cannot be expressed: turnout keeps a version for a client with pins, not with GrowthBook's stored assignments",
};

/** The fields each scheme accepts (`order` only where the entries are versions: the split). */
const FIELDS: Readonly<Record<(typeof SCHEMES)[number], readonly string[]>> = {
  turnout: ["scheme"],
  unleash: ["scheme", "mode", "groupId", "order", "totalWeight", "rollout", "rolloutGroupId", "encoding", "keyless"],
  growthbook: [
    "scheme",
    "mode",
    "seed",
    "hashVersion",
    "coverage",
    "namespace",
    "ranges",
    "range",
    "filters",
    "order",
    "encoding",
    "keyless",
    ...STICKY_BUCKETING,
  ],
  flagd: ["scheme", "flagKey", "bucketing", "implementation", "totalWeight", "order", "keyless"],
  launchdarkly: ["scheme", "flagKey", "salt", "seed", "order", "keyless"],
};

/** A compatibility scheme (any scheme but turnout's own). */
export type CompatBucketing = Exclude<Bucketing, { scheme: "turnout" }>;

/** Whether a scheme decides between exactly two entries, [off, on]. */
export function isRollout(spec: CompatBucketing): boolean {
  return (spec.scheme === "unleash" && (spec.mode ?? "rollout") === "rollout") || (spec.scheme === "growthbook" && spec.mode === "rollout");
}

/** A compatibility scheme, if `value` names one (validated or not: for choosing which checks apply). */
export function compatScheme(value: unknown): CompatBucketing | undefined {
  return isRecord(value) && typeof value.scheme === "string" && value.scheme !== "turnout" && (SCHEMES as readonly string[]).includes(value.scheme)
    ? (value as unknown as CompatBucketing)
    : undefined;
}

function text(problems: Problems, value: unknown, path: string, required: boolean, allowEmpty: boolean): void {
  if (value === undefined) {
    if (required) problems.add("required", path, "required by this scheme");
    return;
  }
  if (typeof value !== "string") problems.add("type", path, `expected a string, got ${typeName(value)}`);
  else if (value === "" && !allowEmpty) problems.add("empty", path, "cannot be empty");
  else if (value.length > MAX_TEXT) problems.add("too_long", path, `at most ${MAX_TEXT} characters`);
}

function oneOf(problems: Problems, value: unknown, path: string, allowed: readonly unknown[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    problems.add(
      "invalid_value",
      path,
      `expected one of ${allowed.map((item) => JSON.stringify(item)).join(", ")}, got ${JSON.stringify(value) ?? typeName(value)}`,
    );
  }
}

function positiveInteger(problems: Problems, value: unknown, path: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value)) problems.add("type", path, `expected a whole number, got ${typeName(value)}`);
  else if (!Number.isInteger(value) || value < 1 || value > MAX_WEIGHT_TOTAL)
    problems.add("out_of_range", path, `expected a whole number from 1 to ${MAX_WEIGHT_TOTAL}, got ${value}`);
}

/** A GrowthBook range: `[start, end]` with 0 ≤ start ≤ end ≤ 1. */
function checkRange(problems: Problems, range: unknown, path: string): void {
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    typeof range[0] !== "number" ||
    typeof range[1] !== "number" ||
    !(range[0] >= 0 && range[0] <= range[1] && range[1] <= 1)
  ) {
    problems.add("invalid_value", path, "expected [start, end] with 0 ≤ start ≤ end ≤ 1");
  }
}

/** GrowthBook's `filters`: each `{ seed, ranges, hashVersion? }`, hashing the bucketing's own key. */
function checkFilters(problems: Problems, filters: unknown, path: string): void {
  if (!Array.isArray(filters) || filters.length > MAX_FILTERS) {
    problems.add("type", path, `expected a list of at most ${MAX_FILTERS} filters { seed, ranges, hashVersion }`);
    return;
  }
  filters.forEach((filter: unknown, i) => {
    const at = child(path, i);
    if (!isRecord(filter)) {
      problems.add("type", at, `expected a filter { seed, ranges, hashVersion }, got ${typeName(filter)}`);
      return;
    }
    if (filter.attribute !== undefined) {
      problems.add(
        "not_expressible",
        child(at, "attribute"),
        "a filter hashes the same sticky key as the bucketing; a filter on another attribute would need a second key per request",
      );
    }
    checkFields(problems, filter, at, ["seed", "ranges", "hashVersion", "attribute"]);
    text(problems, filter.seed, child(at, "seed"), true, true);
    oneOf(problems, filter.hashVersion, child(at, "hashVersion"), [1, 2]);
    const ranges = filter.ranges;
    if (!Array.isArray(ranges) || ranges.length > MAX_RANGES)
      problems.add("type", child(at, "ranges"), `expected a list of at most ${MAX_RANGES} [start, end] ranges`);
    else ranges.forEach((range: unknown, j) => checkRange(problems, range, child(child(at, "ranges"), j)));
  });
}

/**
 * Checks the shape of a `bucketing` object. Returns the compatibility scheme when its shape is valid (so that weights
 * can be checked against it), `undefined` for turnout's own scheme or when there were problems.
 */
export function checkBucketingShape(
  problems: Problems,
  value: unknown,
  path: string,
  allowOrder: boolean,
  versions: ReadonlySet<string>,
): CompatBucketing | undefined {
  if (!isRecord(value)) {
    problems.add("type", path, `expected an object such as { "scheme": "unleash", … }, got ${typeName(value)}`);
    return undefined;
  }
  const before = problems.size;
  if (!(SCHEMES as readonly unknown[]).includes(value.scheme)) {
    problems.add(value.scheme === undefined ? "required" : "invalid_value", child(path, "scheme"), `expected one of ${SCHEMES.join(", ")}`);
    return undefined;
  }
  const scheme = value.scheme as (typeof SCHEMES)[number];
  checkFields(
    problems,
    value,
    path,
    FIELDS[scheme].filter((field) => allowOrder || field !== "order"),
  );
  if (scheme === "turnout") return undefined;
  oneOf(problems, value.keyless, child(path, "keyless"), KEYLESS);
  switch (scheme) {
    case "unleash":
      text(problems, value.groupId, child(path, "groupId"), true, true);
      oneOf(problems, value.mode, child(path, "mode"), ["rollout", "variants"]);
      oneOf(problems, value.encoding, child(path, "encoding"), ["utf8", "latin1"]);
      positiveInteger(problems, value.totalWeight, child(path, "totalWeight"));
      if (value.totalWeight !== undefined && value.mode !== "variants")
        problems.add("conflict", child(path, "totalWeight"), 'totalWeight applies to mode "variants" only');
      if (value.rollout !== undefined) {
        const at = child(path, "rollout");
        if (typeof value.rollout !== "number" || !Number.isFinite(value.rollout))
          problems.add("type", at, `expected a whole percent, got ${typeName(value.rollout)}`);
        else if (value.rollout < 0 || value.rollout > 100) problems.add("out_of_range", at, `expected 0–100, got ${value.rollout}`);
        else if (!Number.isInteger(value.rollout))
          problems.add("not_expressible", at, `Unleash rolls out in whole percents; ${value.rollout} % cannot be expressed`);
        if (value.mode !== "variants") problems.add("conflict", at, 'rollout applies to mode "variants" (in mode "rollout" the split is the rollout)');
      }
      text(problems, value.rolloutGroupId, child(path, "rolloutGroupId"), false, true);
      if (value.rolloutGroupId !== undefined && value.rollout === undefined)
        problems.add("conflict", child(path, "rolloutGroupId"), "rolloutGroupId needs rollout");
      break;
    case "growthbook":
      text(problems, value.seed, child(path, "seed"), true, false);
      oneOf(problems, value.mode, child(path, "mode"), ["experiment", "rollout"]);
      oneOf(problems, value.hashVersion, child(path, "hashVersion"), [1, 2]);
      oneOf(problems, value.encoding, child(path, "encoding"), ["utf16", "utf8", "codepoint"]);
      if (value.coverage !== undefined) {
        if (typeof value.coverage !== "number" || !Number.isFinite(value.coverage))
          problems.add("type", child(path, "coverage"), `expected a number from 0 to 1, got ${typeName(value.coverage)}`);
        else if (value.coverage < 0 || value.coverage > 1) problems.add("out_of_range", child(path, "coverage"), `expected 0–1, got ${value.coverage}`);
        if (value.mode === "rollout")
          problems.add("conflict", child(path, "coverage"), 'in mode "rollout" the coverage is the split\'s share of the second version');
      }
      if (value.namespace !== undefined) {
        const namespace = value.namespace;
        const at = child(path, "namespace");
        if (
          !Array.isArray(namespace) ||
          namespace.length !== 3 ||
          typeof namespace[0] !== "string" ||
          typeof namespace[1] !== "number" ||
          typeof namespace[2] !== "number" ||
          !(namespace[1] >= 0 && namespace[1] <= namespace[2] && namespace[2] <= 1)
        ) {
          problems.add("invalid_value", at, "expected [id, start, end] with 0 ≤ start ≤ end ≤ 1");
        } else if (value.mode === "rollout") problems.add("conflict", at, "namespaces apply to experiments, not to rollout rules");
        if (value.filters !== undefined) problems.add("conflict", at, "GrowthBook ignores the namespace when filters are given: give one of them");
      }
      if (value.ranges !== undefined) {
        const at = child(path, "ranges");
        if (!Array.isArray(value.ranges) || value.ranges.length === 0 || value.ranges.length > MAX_RANGES) {
          problems.add("type", at, `expected a list of 1–${MAX_RANGES} [start, end] ranges, one per version of the order`);
        } else value.ranges.forEach((range: unknown, i) => checkRange(problems, range, child(at, i)));
        if (value.mode === "rollout") problems.add("conflict", at, 'ranges apply to experiments; a rollout rule has one "range"');
        if (value.coverage !== undefined)
          problems.add("conflict", child(path, "coverage"), "GrowthBook ignores the coverage when ranges are given: give one of them");
      }
      if (value.range !== undefined) {
        checkRange(problems, value.range, child(path, "range"));
        if (value.mode !== "rollout") problems.add("conflict", child(path, "range"), 'range applies to mode "rollout"; an experiment has "ranges"');
      }
      if (value.filters !== undefined) checkFilters(problems, value.filters, child(path, "filters"));
      for (const field of STICKY_BUCKETING) if (value[field] !== undefined) problems.add("not_expressible", child(path, field), STICKY_REASON[field]);
      break;
    case "flagd":
      text(problems, value.flagKey, child(path, "flagKey"), true, true);
      oneOf(problems, value.bucketing, child(path, "bucketing"), ["v2", "v1"]);
      oneOf(problems, value.implementation, child(path, "implementation"), ["go", "js"]);
      positiveInteger(problems, value.totalWeight, child(path, "totalWeight"));
      break;
    case "launchdarkly":
      text(problems, value.flagKey, child(path, "flagKey"), true, false);
      text(problems, value.salt, child(path, "salt"), true, true);
      if (value.seed !== undefined && (typeof value.seed !== "number" || !Number.isSafeInteger(value.seed))) {
        problems.add("type", child(path, "seed"), `expected a whole number (the rollout's seed), got ${typeName(value.seed)} ${String(value.seed)}`);
      }
      break;
  }
  if (allowOrder && value.order !== undefined) {
    const at = child(path, "order");
    if (!Array.isArray(value.order) || value.order.length === 0 || value.order.length > 64) {
      problems.add("type", at, "expected a list of 1–64 version names, in the SDK's variant order");
    } else {
      const seen = new Set<unknown>();
      value.order.forEach((name: unknown, index) => {
        if (typeof name !== "string" || !versions.has(name))
          problems.add("unknown_version", child(at, index), `unknown version ${JSON.stringify(name) ?? typeName(name)}`);
        else if (seen.has(name)) problems.add("duplicate", child(at, index), `"${name}" is listed twice`);
        seen.add(name);
      });
    }
  }
  return problems.size === before ? (value as unknown as CompatBucketing) : undefined;
}

/**
 * The split's entries in the scheme's order: `order`, else [stable, canary] for a rollout, else `versions`. Returns
 * `undefined` (and adds a problem) when a rollout has no second version.
 */
export function splitOrder(
  spec: CompatBucketing,
  config: { readonly versions: readonly string[]; readonly stable: string; readonly canary?: string | undefined },
  problems: Problems | undefined,
  path: string,
): readonly string[] | undefined {
  if (spec.order !== undefined) {
    if (isRollout(spec) && spec.order.length !== 2) {
      problems?.add("invalid_value", child(path, "order"), "a rollout has exactly two entries: [off, on]");
      return undefined;
    }
    return spec.order;
  }
  if (!isRollout(spec)) return config.versions;
  const on = config.canary ?? (config.versions.length === 2 ? config.versions.find((name) => name !== config.stable) : undefined);
  if (on === undefined) {
    problems?.add("required", child(path, "order"), "a rollout needs a canary (or exactly two versions) or an explicit order [off, on]");
    return undefined;
  }
  return [config.stable, on];
}

/**
 * Checks that `entries` (weights in the scheme's order) can be expressed in the scheme's units, reporting each
 * weight that cannot (`not_expressible`) at its own path.
 */
export function checkSchemeWeights(
  problems: Problems,
  spec: CompatBucketing,
  entries: readonly { readonly path: string; readonly weight: number }[],
  path: string,
  specPath: string = path,
): void {
  if (isRollout(spec) && entries.length !== 2) {
    problems.add("invalid_value", path, `a rollout has exactly two entries, [off, on]; got ${entries.length}`);
    return;
  }
  const ranges = spec.scheme === "growthbook" && spec.mode !== "rollout" ? spec.ranges : undefined;
  if (ranges !== undefined && ranges.length !== entries.length) {
    problems.add("invalid_value", child(specPath, "ranges"), `expected one range per entry of the order (${entries.length}), got ${ranges.length}`);
    return;
  }
  const weights = entries.map((entry) => entry.weight);
  if (weights.reduce((sum, weight) => sum + weight, 0) <= 0) return; // reported as zero_total by the weight checks
  const units = toUnits(spec, weights);
  if (!units.ok) {
    for (const problem of units.problems) problems.add("not_expressible", entries[problem.index]!.path, problem.message);
  }
  if ((spec.scheme === "flagd" || spec.scheme === "unleash") && spec.totalWeight !== undefined && spec.totalWeight > MAX_WEIGHT_TOTAL) {
    problems.add("out_of_range", path, `the total weight is at most ${MAX_WEIGHT_TOTAL}`);
  }
}

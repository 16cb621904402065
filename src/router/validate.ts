/**
 * Router configuration validation: reads untrusted JSON, lists every problem with a stable code and a path, and
 * never throws anything but {@link TurnoutConfigError}.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- named by {@link} in the TSDoc below
import type { TurnoutConfigError } from "../errors.js";
import { FORBIDDEN_KEYS, Problems, checkFields, child, isRecord, typeName } from "../internal/problems.js";
import type { RouterConfig } from "../types.js";
import { urlProtocol } from "../internal/web.js";
import { BUCKETS } from "./hash.js";
import { vetPattern } from "./regex.js";
import { checkBucketingShape, checkSchemeWeights, compatScheme, splitOrder } from "./schemes/validate.js";

/** Version names: a letter or digit, then letters, digits, `.`, `_`, `-`; at most 64 characters. */
export const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** HTTP header and cookie names: RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Attribute and query parameter names. */
const FIELD_NAME = /^[^\s]{1,128}$/;
/** ISO 8601 date or date-time with an explicit zone. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

export const LIMITS = {
  versions: 64,
  rules: 1024,
  conditions: 64,
  values: 4096,
  variants: 64,
  stringLength: 1024,
  weight: 1e12,
} as const;

const TOP_FIELDS = [
  "versions",
  "stable",
  "canary",
  "split",
  "salt",
  "stickiness",
  "keyless",
  "overrides",
  "explicit",
  "segments",
  "experiments",
  "mirror",
  "lifecycle",
  "bucketing",
] as const;
const CONDITION_SOURCES = ["header", "cookie", "attr", "query"] as const;
const MATCHERS = ["equals", "values", "matches", "present"] as const;
const KEYLESS_MODES = ["random", "round-robin", "stable"];

/** Everything the checks below need to know about the config being read. */
interface Context {
  readonly problems: Problems;
  readonly versions: ReadonlySet<string>;
  readonly versionList: string;
}

/**
 * Validates `input` as a {@link RouterConfig}. Returns it typed when valid; otherwise throws one
 * {@link TurnoutConfigError} listing every problem.
 */
export function validateConfig(input: unknown): RouterConfig {
  const problems = configProblems(input);
  problems.throwIfAny("router configuration");
  return input as RouterConfig;
}

/** Collects the problems of `input` without throwing, so callers can add their own (an invalid revision, say). */
export function configProblems(input: unknown): Problems {
  const problems = new Problems();
  try {
    check(input, problems);
  } catch (error) {
    // A hostile object (a throwing getter, a proxy) must still produce the one documented error type.
    problems.add("type", "", `the configuration could not be read: ${describeError(error)}`);
  }
  return problems;
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unreadable error";
  }
}

function check(input: unknown, problems: Problems): void {
  if (!isRecord(input)) {
    problems.add("type", "", `expected an object, got ${typeName(input)}`);
    return;
  }
  checkFields(problems, input, "", TOP_FIELDS);

  const versions = checkVersions(input.versions, problems);
  const ctx: Context = { problems, versions, versionList: [...versions].join(", ") || "(none)" };

  checkVersionRef(ctx, input.stable, "stable", true);
  if (input.canary !== undefined) {
    checkVersionRef(ctx, input.canary, "canary", false);
    if (input.canary === input.stable && typeof input.canary === "string") {
      problems.add("conflict", "canary", `the canary cannot also be the stable version ("${input.canary}")`);
    }
  }
  const compat = compatScheme(input.bucketing);
  if (input.split !== undefined) checkSplit(ctx, input.split, compat === undefined);
  if (input.bucketing !== undefined) checkSplitBucketing(ctx, input);
  if (input.salt !== undefined) checkString(ctx, input.salt, "salt", { allowEmpty: true });
  if (input.stickiness !== undefined) checkStickiness(ctx, input.stickiness, "stickiness");
  if (input.keyless !== undefined && !KEYLESS_MODES.includes(input.keyless as string)) {
    problems.add("invalid_value", "keyless", `expected one of ${KEYLESS_MODES.join(", ")}, got ${JSON.stringify(input.keyless)}`);
  }
  if (input.overrides !== undefined) checkOverrides(ctx, input.overrides);
  if (input.explicit !== undefined) checkExplicit(ctx, input.explicit);
  if (input.segments !== undefined) checkSegments(ctx, input.segments);
  if (input.experiments !== undefined) checkExperiments(ctx, input.experiments);
  if (input.mirror !== undefined) checkMirror(ctx, input.mirror);
  if (input.lifecycle !== undefined) checkLifecycle(ctx, input.lifecycle, input.stable);
}

function checkVersions(value: unknown, problems: Problems): Set<string> {
  const names = new Set<string>();
  if (value === undefined) {
    problems.add("required", "versions", 'list the live versions, e.g. ["v1", "v2"]');
    return names;
  }
  if (!Array.isArray(value)) {
    problems.add("type", "versions", `expected an array of version names, got ${typeName(value)}`);
    return names;
  }
  if (value.length === 0) problems.add("empty", "versions", "at least one version is required");
  if (value.length > LIMITS.versions) problems.add("too_long", "versions", `at most ${LIMITS.versions} versions`);
  value.forEach((name: unknown, index) => {
    const path = child("versions", index);
    if (typeof name !== "string") problems.add("type", path, `expected a string, got ${typeName(name)}`);
    else if (name === "") problems.add("empty", path, "a version name cannot be empty");
    else if (FORBIDDEN_KEYS.has(name)) problems.add("forbidden_key", path, `"${name}" cannot be a version name`);
    else if (!VERSION_NAME.test(name)) {
      problems.add("invalid_name", path, `"${truncate(name)}" is not a valid version name (letters, digits, ".", "_", "-"; at most 64)`);
    } else if (names.has(name)) problems.add("duplicate", path, `"${name}" is listed twice`);
    else names.add(name);
  });
  return names;
}

function checkVersionRef(ctx: Context, value: unknown, path: string, required: boolean): value is string {
  if (value === undefined) {
    if (required) ctx.problems.add("required", path, "name the version");
    return false;
  }
  if (typeof value !== "string") {
    ctx.problems.add("type", path, `expected a version name, got ${typeName(value)}`);
    return false;
  }
  if (value === "") {
    ctx.problems.add("empty", path, "a version name cannot be empty");
    return false;
  }
  if (!ctx.versions.has(value)) {
    ctx.problems.add("unknown_version", path, `unknown version "${truncate(value)}" (versions are ${ctx.versionList})`);
    return false;
  }
  return true;
}

function checkString(ctx: Context, value: unknown, path: string, options: { allowEmpty?: boolean; pattern?: RegExp; what?: string } = {}): value is string {
  if (typeof value !== "string") {
    ctx.problems.add("type", path, `expected a string, got ${typeName(value)}`);
    return false;
  }
  if (value === "" && !options.allowEmpty) {
    ctx.problems.add("empty", path, "cannot be empty");
    return false;
  }
  if (value.length > LIMITS.stringLength) {
    ctx.problems.add("too_long", path, `at most ${LIMITS.stringLength} characters`);
    return false;
  }
  if (options.pattern && value !== "" && !options.pattern.test(value)) {
    ctx.problems.add("invalid_name", path, `"${truncate(value)}" is not a valid ${options.what ?? "name"}`);
    return false;
  }
  if (FORBIDDEN_KEYS.has(value.toLowerCase()) && options.pattern) {
    ctx.problems.add("forbidden_key", path, `"${value}" cannot be used as a name`);
    return false;
  }
  return true;
}

function checkArray(ctx: Context, value: unknown, path: string, max: number, allowEmpty = false): value is unknown[] {
  if (!Array.isArray(value)) {
    ctx.problems.add("type", path, `expected an array, got ${typeName(value)}`);
    return false;
  }
  if (value.length === 0 && !allowEmpty) {
    ctx.problems.add("empty", path, "cannot be empty");
    return false;
  }
  if (value.length > max) {
    ctx.problems.add("too_long", path, `at most ${max} entries`);
    return false;
  }
  return true;
}

function checkObject(ctx: Context, value: unknown, path: string): value is Record<string, unknown> {
  if (!isRecord(value)) {
    ctx.problems.add("type", path, `expected an object, got ${typeName(value)}`);
    return false;
  }
  return true;
}

/** Checks one weight; returns it when usable. */
function checkWeight(ctx: Context, value: unknown, path: string): number | undefined {
  if (typeof value !== "number") {
    ctx.problems.add("type", path, `expected a number, got ${typeName(value)}`);
    return undefined;
  }
  if (!Number.isFinite(value)) {
    ctx.problems.add("not_finite", path, `expected a finite number, got ${value}`);
    return undefined;
  }
  if (value < 0) {
    ctx.problems.add("negative", path, `weights cannot be negative (got ${value})`);
    return undefined;
  }
  if (value > LIMITS.weight) {
    ctx.problems.add("out_of_range", path, `weights are at most ${LIMITS.weight}`);
    return undefined;
  }
  return value;
}

/**
 * Checks a table of relative weights (the split, an experiment's variants): every weight valid, at least one
 * positive, and every positive weight large enough to own at least one of the {@link BUCKETS} buckets.
 */
function checkWeightTable(ctx: Context, weights: readonly { path: string; weight: number | undefined }[], path: string, resolution = true): void {
  const usable = weights.filter((entry): entry is { path: string; weight: number } => entry.weight !== undefined);
  if (usable.length !== weights.length) return;
  const total = usable.reduce((sum, entry) => sum + entry.weight, 0);
  if (total <= 0) {
    ctx.problems.add("zero_total", path, "every weight is 0: nothing would receive traffic");
    return;
  }
  // A compatibility scheme has its own units (checked with the scheme); turnout's buckets are 0.01 %.
  for (const entry of resolution ? usable : []) {
    if (entry.weight > 0 && (entry.weight / total) * BUCKETS < 0.5) {
      ctx.problems.add("out_of_range", entry.path, `weight ${entry.weight} of ${total} is below the 0.01 % resolution and would receive no traffic`);
    }
  }
}

function checkSplit(ctx: Context, value: unknown, resolution: boolean): void {
  if (!checkObject(ctx, value, "split")) return;
  const entries: { path: string; weight: number | undefined }[] = [];
  for (const name of Object.keys(value)) {
    const path = child("split", name);
    if (FORBIDDEN_KEYS.has(name)) {
      ctx.problems.add("forbidden_key", path, `"${name}" is not allowed as a key`);
      continue;
    }
    if (!ctx.versions.has(name)) {
      ctx.problems.add("unknown_version", path, `unknown version "${truncate(name)}" (versions are ${ctx.versionList})`);
    }
    entries.push({ path, weight: checkWeight(ctx, value[name], path) });
  }
  if (entries.length === 0) ctx.problems.add("empty", "split", "give at least one version a weight");
  else checkWeightTable(ctx, entries, "split", resolution);
}

/**
 * The split's `bucketing`: its shape, then its entries in the scheme's order — every version with a weight must be
 * among them, and every weight must have an exact equivalent in the scheme's units. The same check runs on every
 * `update`, `setSplit` and `setCanaryPercent`, so a rollout step the scheme cannot express is refused there too.
 */
function checkSplitBucketing(ctx: Context, input: Record<string, unknown>): void {
  const spec = checkBucketingShape(ctx.problems, input.bucketing, "bucketing", true, ctx.versions);
  if (spec === undefined || typeof input.stable !== "string" || !ctx.versions.has(input.stable)) return;
  const split = isRecord(input.split) ? input.split : undefined;
  const canary = typeof input.canary === "string" && ctx.versions.has(input.canary) ? input.canary : undefined;
  const order = splitOrder(spec, { versions: [...ctx.versions], stable: input.stable, canary }, ctx.problems, "bucketing");
  if (order === undefined) return;
  const weightOf = (name: string): unknown => (split === undefined ? (name === input.stable ? 1 : 0) : (split[name] ?? 0));
  for (const name of ctx.versions) {
    const weight = weightOf(name);
    if (!order.includes(name) && typeof weight === "number" && weight > 0) {
      ctx.problems.add("conflict", child("split", name), `"${name}" has a weight but is not in bucketing.order (${order.join(", ")})`);
    }
  }
  const entries = order.map((name) => ({ path: split === undefined ? "split" : child("split", name), weight: weightOf(name) }));
  if (
    entries.every((entry): entry is { path: string; weight: number } => typeof entry.weight === "number" && Number.isFinite(entry.weight) && entry.weight >= 0)
  ) {
    checkSchemeWeights(ctx.problems, spec, entries, "bucketing");
  }
}

function checkStickiness(ctx: Context, value: unknown, path: string): void {
  if (!checkArray(ctx, value, path, 16)) return;
  const seen = new Set<string>();
  value.forEach((source, index) => {
    const at = child(path, index);
    if (typeof source !== "string") {
      ctx.problems.add("type", at, `expected a source such as "header:x-user-id", got ${typeName(source)}`);
      return;
    }
    if (seen.has(source)) ctx.problems.add("duplicate", at, `"${truncate(source)}" is listed twice`);
    seen.add(source);
    if (source === "key") return;
    const colon = source.indexOf(":");
    const kind = colon < 0 ? source : source.slice(0, colon);
    const name = colon < 0 ? "" : source.slice(colon + 1);
    if (!["header", "cookie", "attr", "query"].includes(kind) || colon < 0) {
      ctx.problems.add("invalid_source", at, `"${truncate(source)}" is not one of key, header:<name>, cookie:<name>, attr:<name>, query:<name>`);
    } else if (name === "") {
      ctx.problems.add("empty", at, `"${source}" names no ${kind}`);
    } else if (FORBIDDEN_KEYS.has(name.toLowerCase())) {
      ctx.problems.add("forbidden_key", at, `"${name}" cannot be used as a name`);
    } else if (!(kind === "header" || kind === "cookie" ? TOKEN : FIELD_NAME).test(name)) {
      ctx.problems.add("invalid_name", at, `"${truncate(name)}" is not a valid ${kind} name`);
    }
  });
}

/** Checks the matcher part shared by conditions and overrides. */
function checkMatcher(ctx: Context, value: Record<string, unknown>, path: string): void {
  const present = MATCHERS.filter((matcher) => value[matcher] !== undefined);
  if (present.length > 1) {
    ctx.problems.add("conflict", path, `use one matcher, not ${present.join(" and ")}`);
  }
  if (value.equals !== undefined) checkString(ctx, value.equals, child(path, "equals"), { allowEmpty: true });
  if (value.values !== undefined && checkArray(ctx, value.values, child(path, "values"), LIMITS.values)) {
    value.values.forEach((entry, index) => checkString(ctx, entry, child(child(path, "values"), index), { allowEmpty: true }));
  }
  if (value.matches !== undefined && checkString(ctx, value.matches, child(path, "matches"))) {
    const verdict = vetPattern(value.matches);
    if (verdict) ctx.problems.add(verdict.code, child(path, "matches"), verdict.message);
  }
  if (value.present !== undefined && typeof value.present !== "boolean") {
    ctx.problems.add("type", child(path, "present"), `expected true or false, got ${typeName(value.present)}`);
  }
}

function checkCondition(ctx: Context, value: unknown, path: string): void {
  if (!checkObject(ctx, value, path)) return;
  checkFields(ctx.problems, value, path, [...CONDITION_SOURCES, ...MATCHERS]);
  const sources = CONDITION_SOURCES.filter((source) => value[source] !== undefined);
  if (sources.length === 0) {
    ctx.problems.add("required", path, "name what to test: header, cookie, attr or query");
  } else if (sources.length > 1) {
    ctx.problems.add("conflict", path, `test one field, not ${sources.join(" and ")}`);
  }
  for (const source of sources) {
    checkString(ctx, value[source], child(path, source), {
      pattern: source === "header" || source === "cookie" ? TOKEN : FIELD_NAME,
      what: `${source} name`,
    });
  }
  checkMatcher(ctx, value, path);
}

function checkConditions(ctx: Context, value: unknown, path: string): void {
  if (value === undefined) return;
  if (!checkArray(ctx, value, path, LIMITS.conditions, true)) return;
  value.forEach((condition, index) => checkCondition(ctx, condition, child(path, index)));
}

function checkOverrides(ctx: Context, value: unknown): void {
  if (!checkArray(ctx, value, "overrides", LIMITS.rules, true)) return;
  value.forEach((override, index) => {
    const path = child("overrides", index);
    if (!checkObject(ctx, override, path)) return;
    checkFields(ctx.problems, override, path, ["header", ...MATCHERS, "secret", "version"]);
    if (override.secret !== undefined) {
      if (typeof override.secret !== "boolean") ctx.problems.add("type", child(path, "secret"), `expected true or false, got ${typeName(override.secret)}`);
      const others = MATCHERS.filter((matcher) => override[matcher] !== undefined);
      if (override.secret === true && others.length > 0) ctx.problems.add("conflict", path, `a secret override takes no other matcher (${others.join(", ")})`);
    }
    if (override.header === undefined) ctx.problems.add("required", child(path, "header"), "name the header");
    else checkString(ctx, override.header, child(path, "header"), { pattern: TOKEN, what: "header name" });
    checkVersionRef(ctx, override.version, child(path, "version"), true);
    checkMatcher(ctx, override, path);
  });
}

function checkExplicit(ctx: Context, value: unknown): void {
  if (!checkObject(ctx, value, "explicit")) return;
  checkFields(ctx.problems, value, "explicit", ["path", "header", "accept", "query", "aliases"]);
  if (value.path !== undefined && checkObject(ctx, value.path, "explicit.path")) {
    const path = value.path;
    checkFields(ctx.problems, path, "explicit.path", ["prefix", "pattern"]);
    if (path.prefix !== undefined && checkString(ctx, path.prefix, "explicit.path.prefix", { allowEmpty: true })) {
      if (path.prefix !== "" && (!path.prefix.startsWith("/") || path.prefix.endsWith("/"))) {
        ctx.problems.add("invalid_value", "explicit.path.prefix", `"${truncate(path.prefix)}" must start with "/" and not end with "/" (e.g. "/api")`);
      }
    }
    if (path.pattern !== undefined && checkString(ctx, path.pattern, "explicit.path.pattern")) {
      const verdict = vetPattern(path.pattern);
      if (verdict) ctx.problems.add(verdict.code, "explicit.path.pattern", verdict.message);
    }
  }
  if (value.header !== undefined) checkString(ctx, value.header, "explicit.header", { pattern: TOKEN, what: "header name" });
  if (value.accept !== undefined) {
    checkString(ctx, value.accept, "explicit.accept", { pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, what: "vendor name" });
  }
  if (value.query !== undefined) checkString(ctx, value.query, "explicit.query", { pattern: FIELD_NAME, what: "query parameter" });
  if (value.aliases !== undefined && checkObject(ctx, value.aliases, "explicit.aliases")) {
    for (const token of Object.keys(value.aliases)) {
      const path = child("explicit.aliases", token);
      if (FORBIDDEN_KEYS.has(token)) ctx.problems.add("forbidden_key", path, `"${token}" is not allowed as a key`);
      else if (token === "" || token.length > 64) ctx.problems.add("invalid_name", path, "an alias is 1–64 characters");
      else if (ctx.versions.has(token) && value.aliases[token] !== token) {
        ctx.problems.add("conflict", path, `"${token}" is already the name of a version`);
      }
      checkVersionRef(ctx, value.aliases[token], path, true);
    }
  }
  if (["path", "header", "accept", "query"].every((channel) => value[channel] === undefined)) {
    ctx.problems.add("empty", "explicit", "enable at least one of path, header, accept, query");
  }
}

function checkSegments(ctx: Context, value: unknown): void {
  if (!checkArray(ctx, value, "segments", LIMITS.rules, true)) return;
  const names = new Set<string>();
  value.forEach((segment, index) => {
    const path = child("segments", index);
    if (!checkObject(ctx, segment, path)) return;
    checkFields(ctx.problems, segment, path, ["name", "version", "include", "exclude"]);
    if (segment.name !== undefined && checkString(ctx, segment.name, child(path, "name"))) {
      if (names.has(segment.name)) ctx.problems.add("duplicate", child(path, "name"), `segment "${segment.name}" is defined twice`);
      names.add(segment.name);
    }
    checkVersionRef(ctx, segment.version, child(path, "version"), true);
    checkConditions(ctx, segment.include, child(path, "include"));
    checkConditions(ctx, segment.exclude, child(path, "exclude"));
  });
}

function checkExperiments(ctx: Context, value: unknown): void {
  if (!checkArray(ctx, value, "experiments", LIMITS.rules, true)) return;
  const names = new Set<string>();
  value.forEach((experiment, index) => {
    const path = child("experiments", index);
    if (!checkObject(ctx, experiment, path)) return;
    checkFields(ctx.problems, experiment, path, ["name", "salt", "variants", "include", "exclude", "paths", "stickiness", "bucketing"]);
    const spec =
      experiment.bucketing === undefined ? undefined : checkBucketingShape(ctx.problems, experiment.bucketing, child(path, "bucketing"), false, ctx.versions);
    if (experiment.name === undefined) ctx.problems.add("required", child(path, "name"), "name the experiment");
    else if (checkString(ctx, experiment.name, child(path, "name"))) {
      if (FORBIDDEN_KEYS.has(experiment.name)) ctx.problems.add("forbidden_key", child(path, "name"), `"${experiment.name}" cannot be a name`);
      if (names.has(experiment.name)) ctx.problems.add("duplicate", child(path, "name"), `experiment "${experiment.name}" is defined twice`);
      names.add(experiment.name);
    }
    if (experiment.salt !== undefined) checkString(ctx, experiment.salt, child(path, "salt"), { allowEmpty: true });
    const variantsPath = child(path, "variants");
    if (experiment.variants === undefined) ctx.problems.add("required", variantsPath, "list the variants");
    else if (checkArray(ctx, experiment.variants, variantsPath, LIMITS.variants)) {
      const variantNames = new Set<string>();
      const weights: { path: string; weight: number | undefined }[] = [];
      experiment.variants.forEach((variant, variantIndex) => {
        const at = child(variantsPath, variantIndex);
        if (!checkObject(ctx, variant, at)) {
          weights.push({ path: at, weight: undefined });
          return;
        }
        checkFields(ctx.problems, variant, at, ["name", "weight", "version"]);
        if (variant.name === undefined) ctx.problems.add("required", child(at, "name"), "name the variant");
        else if (checkString(ctx, variant.name, child(at, "name"))) {
          if (variantNames.has(variant.name)) ctx.problems.add("duplicate", child(at, "name"), `variant "${variant.name}" is listed twice`);
          variantNames.add(variant.name);
        }
        if (variant.weight === undefined) {
          ctx.problems.add("required", child(at, "weight"), "give the variant a weight");
          weights.push({ path: child(at, "weight"), weight: undefined });
        } else weights.push({ path: child(at, "weight"), weight: checkWeight(ctx, variant.weight, child(at, "weight")) });
        if (variant.version !== undefined) checkVersionRef(ctx, variant.version, child(at, "version"), false);
      });
      checkWeightTable(ctx, weights, variantsPath, compatScheme(experiment.bucketing) === undefined);
      if (spec !== undefined && weights.every((entry): entry is { path: string; weight: number } => entry.weight !== undefined)) {
        checkSchemeWeights(ctx.problems, spec, weights, variantsPath, child(path, "bucketing"));
      }
    }
    checkConditions(ctx, experiment.include, child(path, "include"));
    checkConditions(ctx, experiment.exclude, child(path, "exclude"));
    if (experiment.paths !== undefined && checkArray(ctx, experiment.paths, child(path, "paths"), LIMITS.conditions)) {
      experiment.paths.forEach((prefix, prefixIndex) => {
        const at = child(child(path, "paths"), prefixIndex);
        if (checkString(ctx, prefix, at) && !prefix.startsWith("/")) {
          ctx.problems.add("invalid_value", at, `"${truncate(prefix)}" must start with "/"`);
        }
      });
    }
    if (experiment.stickiness !== undefined) checkStickiness(ctx, experiment.stickiness, child(path, "stickiness"));
  });
}

function checkMirror(ctx: Context, value: unknown): void {
  if (!checkObject(ctx, value, "mirror")) return;
  checkFields(ctx.problems, value, "mirror", ["version", "percent", "from"]);
  checkVersionRef(ctx, value.version, "mirror.version", true);
  if (value.percent === undefined) ctx.problems.add("required", "mirror.percent", "give the share of traffic to mirror, 0–100");
  else if (typeof value.percent !== "number") ctx.problems.add("type", "mirror.percent", `expected a number, got ${typeName(value.percent)}`);
  else if (!Number.isFinite(value.percent)) ctx.problems.add("not_finite", "mirror.percent", `expected a finite number, got ${value.percent}`);
  else if (value.percent < 0 || value.percent > 100) ctx.problems.add("out_of_range", "mirror.percent", `expected 0–100, got ${value.percent}`);
  if (value.from !== undefined && checkArray(ctx, value.from, "mirror.from", LIMITS.versions)) {
    value.from.forEach((name, index) => {
      const path = child("mirror.from", index);
      if (checkVersionRef(ctx, name, path, true) && name === value.version) {
        ctx.problems.add("conflict", path, `a version cannot mirror to itself ("${name}")`);
      }
    });
  }
}

function checkDate(ctx: Context, value: unknown, path: string): number | undefined {
  if (typeof value !== "string") {
    ctx.problems.add("type", path, `expected an ISO 8601 date string, got ${typeName(value)}`);
    return undefined;
  }
  const time = ISO_DATE.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(time)) {
    ctx.problems.add("invalid_date", path, `"${truncate(value)}" is not an ISO 8601 date such as 2025-06-01T00:00:00Z`);
    return undefined;
  }
  return time;
}

function checkUrl(ctx: Context, value: unknown, path: string): void {
  if (!checkString(ctx, value, path)) return;
  const protocol = urlProtocol(value);
  if (protocol !== "https:" && protocol !== "http:") ctx.problems.add("invalid_url", path, `"${truncate(value)}" is not an absolute http(s) URL`);
}

function checkLifecycle(ctx: Context, value: unknown, stable: unknown): void {
  if (!checkObject(ctx, value, "lifecycle")) return;
  for (const name of Object.keys(value)) {
    const path = child("lifecycle", name);
    if (FORBIDDEN_KEYS.has(name)) {
      ctx.problems.add("forbidden_key", path, `"${name}" is not allowed as a key`);
      continue;
    }
    if (!ctx.versions.has(name)) {
      ctx.problems.add("unknown_version", path, `unknown version "${truncate(name)}" (versions are ${ctx.versionList})`);
    }
    const entry = value[name];
    if (!checkObject(ctx, entry, path)) continue;
    checkFields(ctx.problems, entry, path, ["deprecated", "sunset", "successor", "successorUrl", "migrationGuide", "policy", "sunsetInfo"]);
    const deprecated = entry.deprecated === undefined ? undefined : checkDate(ctx, entry.deprecated, child(path, "deprecated"));
    const sunset = entry.sunset === undefined ? undefined : checkDate(ctx, entry.sunset, child(path, "sunset"));
    if (deprecated !== undefined && sunset !== undefined && sunset < deprecated) {
      ctx.problems.add("date_order", child(path, "sunset"), "the sunset comes before the deprecation");
    }
    if (sunset !== undefined && name === stable) {
      ctx.problems.add("conflict", child(path, "sunset"), `the stable version "${name}" cannot have a sunset: it receives fallback and rollback traffic`);
    }
    if (entry.successor !== undefined && checkVersionRef(ctx, entry.successor, child(path, "successor"), false) && entry.successor === name) {
      ctx.problems.add("conflict", child(path, "successor"), "a version cannot succeed itself");
    }
    for (const link of ["successorUrl", "migrationGuide", "policy", "sunsetInfo"] as const) {
      if (entry[link] !== undefined) checkUrl(ctx, entry[link], child(path, link));
    }
  }
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

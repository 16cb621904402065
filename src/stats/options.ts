// Validation of `createStats` options and of the parameters carried by snapshots: every problem, with its path.

import { parseDuration } from "../internal/duration.js";
import { FORBIDDEN_KEYS, Problems, checkFields, child, isRecord, typeName } from "../internal/problems.js";
import type { MigrationConfig, WindowParams } from "./aggregate.js";
import { MAX_SLICE_P, MIN_SLICE_P, SLICE_P } from "./hll.js";
import type { StatsOptions, WindowClientPrecision } from "./types.js";

/** Version names, as the router accepts them. */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Longest version name. */
export const MAX_VERSION_NAME = 64;
/** Most versions a stats (or a snapshot) may hold. */
export const MAX_VERSIONS = 64;
/** Default cap on versions in dynamic mode. */
export const DEFAULT_MAX_VERSIONS = 16;
/** Most slices in a window. */
export const MAX_SLICES = 1440;
/** Default window and resolution. */
export const DEFAULT_WINDOW_MS = 300_000;
export const DEFAULT_RESOLUTION_MS = 10_000;
/** Default `windowClientPrecision`: 1 KiB per slice sketch, ≈ 3.3 % standard error. */
export const DEFAULT_WINDOW_CLIENT_PRECISION: WindowClientPrecision = SLICE_P as WindowClientPrecision;
/** Default `migration.minRequests`. */
export const DEFAULT_MIN_REQUESTS = 100;
/**
 * The largest |time| accepted (epoch ms): the range of a JS `Date`. Beyond it slice indices are no longer exact
 * integers, and walking the ring from one to the next would never end.
 */
export const MAX_TIME_MS = 8.64e15;

/** True for an instant the stats can place: a number within ±{@link MAX_TIME_MS}. */
export function isTime(value: unknown): value is number {
  return typeof value === "number" && value >= -MAX_TIME_MS && value <= MAX_TIME_MS;
}

/** True for a valid version name. */
export function isVersionName(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_VERSION_NAME && VERSION_NAME.test(value);
}

/** Checks a version name; true when valid. */
export function checkVersionName(problems: Problems, value: unknown, path: string): value is string {
  if (typeof value !== "string") {
    problems.add("type", path, `expected a version name (string), got ${typeName(value)}`);
    return false;
  }
  if (FORBIDDEN_KEYS.has(value)) {
    problems.add("forbidden_key", path, `"${value}" is not allowed as a version name`);
    return false;
  }
  if (value.length > MAX_VERSION_NAME) {
    problems.add("too_long", path, `version names have at most ${MAX_VERSION_NAME} characters`);
    return false;
  }
  if (!VERSION_NAME.test(value)) {
    problems.add("invalid_name", path, `"${value}" is not a version name ([A-Za-z0-9][A-Za-z0-9._-]*)`);
    return false;
  }
  return true;
}

/** Checks window and resolution (durations or ms) and returns them in ms, or undefined after adding problems. */
export function checkWindow(problems: Problems, window: unknown, resolution: unknown, windowPath: string, resolutionPath: string): WindowParams | undefined {
  const before = problems.size;
  const windowMs = window === undefined ? DEFAULT_WINDOW_MS : parseDuration(window);
  const resolutionMs = resolution === undefined ? DEFAULT_RESOLUTION_MS : parseDuration(resolution);
  if (windowMs === undefined)
    problems.add("invalid_duration", windowPath, `expected a duration such as "5m" or a number of ms, got ${JSON.stringify(window) ?? typeName(window)}`);
  if (resolutionMs === undefined)
    problems.add(
      "invalid_duration",
      resolutionPath,
      `expected a duration such as "10s" or a number of ms, got ${JSON.stringify(resolution) ?? typeName(resolution)}`,
    );
  if (windowMs === undefined || resolutionMs === undefined) return undefined;
  if (!Number.isInteger(resolutionMs) || resolutionMs < 1) {
    problems.add("out_of_range", resolutionPath, `the resolution must be a whole number of milliseconds ≥ 1, got ${resolutionMs}`);
  } else if (windowMs < resolutionMs || windowMs % resolutionMs !== 0) {
    problems.add("invalid_value", windowPath, `the window (${windowMs} ms) must be a whole multiple of the resolution (${resolutionMs} ms)`);
  } else if (windowMs / resolutionMs > MAX_SLICES) {
    problems.add("out_of_range", windowPath, `the window holds ${windowMs / resolutionMs} slices; at most ${MAX_SLICES} are allowed (raise the resolution)`);
  }
  return problems.size === before ? { windowMs, resolutionMs } : undefined;
}

/**
 * Checks a window client precision (a whole number from 10 to 14); returns it, or undefined after adding a problem.
 */
export function checkClientPrecision(problems: Problems, value: unknown, path: string): WindowClientPrecision | undefined {
  if (typeof value !== "number") {
    problems.add("type", path, `expected a whole number from ${MIN_SLICE_P} to ${MAX_SLICE_P}, got ${typeName(value)}`);
    return undefined;
  }
  if (!Number.isFinite(value)) {
    problems.add("not_finite", path, `expected a whole number from ${MIN_SLICE_P} to ${MAX_SLICE_P}, got ${value}`);
    return undefined;
  }
  if (!Number.isInteger(value) || value < MIN_SLICE_P || value > MAX_SLICE_P) {
    problems.add("out_of_range", path, `expected a whole number from ${MIN_SLICE_P} to ${MAX_SLICE_P}, got ${value}`);
    return undefined;
  }
  return value as WindowClientPrecision;
}

/** Checks a migration block; `versions` (strict mode) must contain both ends. */
export function checkMigration(problems: Problems, value: unknown, path: string, versions: readonly string[] | undefined): MigrationConfig | undefined {
  if (!isRecord(value)) {
    problems.add("type", path, `expected an object { from, to, minRequests? }, got ${typeName(value)}`);
    return undefined;
  }
  const before = problems.size;
  checkFields(problems, value, path, ["from", "to", "minRequests"]);
  for (const key of ["from", "to"] as const) {
    const name = value[key];
    if (name === undefined) problems.add("required", child(path, key), `"${key}" is required`);
    else if (checkVersionName(problems, name, child(path, key)) && versions !== undefined && !versions.includes(name)) {
      problems.add("unknown_version", child(path, key), `unknown version "${name}" (versions are ${versions.join(", ")})`);
    }
  }
  if (typeof value.from === "string" && value.from === value.to) {
    problems.add("conflict", child(path, "to"), `"from" and "to" are the same version`);
  }
  const minRequests = value.minRequests ?? DEFAULT_MIN_REQUESTS;
  if (typeof minRequests !== "number" || !Number.isFinite(minRequests)) {
    problems.add("not_finite", child(path, "minRequests"), `expected a whole number ≥ 0, got ${typeName(minRequests)}`);
  } else if (!Number.isInteger(minRequests) || minRequests < 0) {
    problems.add("out_of_range", child(path, "minRequests"), `expected a whole number ≥ 0, got ${minRequests}`);
  }
  if (problems.size !== before) return undefined;
  return { from: value.from as string, to: value.to as string, minRequests: minRequests as number };
}

/** The resolved options of a live stats. */
export interface ResolvedOptions {
  readonly params: WindowParams;
  readonly versions: readonly string[] | undefined;
  readonly maxVersions: number;
  readonly migration: MigrationConfig | null;
  readonly clock: () => number;
  readonly windowClientPrecision: WindowClientPrecision;
}

/** Validates `createStats` options; throws one TurnoutConfigError listing every problem. */
export function resolveOptions(options: StatsOptions | undefined): ResolvedOptions {
  const problems = new Problems();
  const value: unknown = options ?? {};
  if (!isRecord(value)) {
    problems.add("type", "", `expected an options object, got ${typeName(value)}`);
    problems.throwIfAny("stats options");
  }
  const o = value as Record<string, unknown>;
  checkFields(problems, o, "", ["versions", "maxVersions", "window", "resolution", "migration", "clock", "windowClientPrecision"]);

  let versions: string[] | undefined;
  if (o.versions !== undefined) {
    if (!Array.isArray(o.versions)) {
      problems.add("type", "versions", `expected an array of version names, got ${typeName(o.versions)}`);
    } else if (o.versions.length === 0) {
      problems.add("empty", "versions", "list at least one version (or leave it out to accept any)");
    } else if (o.versions.length > MAX_VERSIONS) {
      problems.add("too_long", "versions", `at most ${MAX_VERSIONS} versions`);
    } else {
      versions = [];
      o.versions.forEach((name: unknown, i) => {
        if (!checkVersionName(problems, name, child("versions", i))) return;
        if (versions?.includes(name)) problems.add("duplicate", child("versions", i), `"${name}" is listed twice`);
        else versions?.push(name);
      });
    }
  }

  let maxVersions = DEFAULT_MAX_VERSIONS;
  if (o.maxVersions !== undefined) {
    if (typeof o.maxVersions !== "number" || !Number.isFinite(o.maxVersions)) {
      problems.add("not_finite", "maxVersions", `expected a whole number from 1 to ${MAX_VERSIONS}, got ${typeName(o.maxVersions)}`);
    } else if (!Number.isInteger(o.maxVersions) || o.maxVersions < 1 || o.maxVersions > MAX_VERSIONS) {
      problems.add("out_of_range", "maxVersions", `expected a whole number from 1 to ${MAX_VERSIONS}, got ${o.maxVersions}`);
    } else maxVersions = o.maxVersions;
  }

  const params = checkWindow(problems, o.window, o.resolution, "window", "resolution");
  const migration = o.migration === undefined ? null : checkMigration(problems, o.migration, "migration", versions);

  let clock: () => number = defaultClock;
  if (o.clock !== undefined) {
    if (typeof o.clock !== "function") problems.add("type", "clock", `expected a function returning epoch ms, got ${typeName(o.clock)}`);
    else clock = o.clock as () => number;
  }

  const windowClientPrecision =
    o.windowClientPrecision === undefined ? DEFAULT_WINDOW_CLIENT_PRECISION : checkClientPrecision(problems, o.windowClientPrecision, "windowClientPrecision");

  problems.throwIfAny("stats options");
  return {
    params: params as WindowParams,
    versions,
    maxVersions,
    migration: migration ?? null,
    clock,
    windowClientPrecision: windowClientPrecision as WindowClientPrecision,
  };
}

/** `Date.now`, reached through `globalThis` so that the core needs no Node or DOM types. */
function defaultClock(): number {
  return (globalThis as unknown as { Date: { now(): number } }).Date.now();
}

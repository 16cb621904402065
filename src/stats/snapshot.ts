// Snapshots: encoding an aggregate, validating and decoding snapshots (from JSON, Redis, other instances), merging
// them, and reading one as a StatsReader. Only the raw state and the parameters are read; every human-facing number
// is recomputed from them, so a merge is exactly as good as one aggregator that saw everything.

import { Problems, checkFields, child, isRecord, typeName } from "../internal/problems.js";
import type { WindowQuery } from "../types.js";
import { Aggregate, type MigrationConfig, REASONS, type VersionState, type WindowParams } from "./aggregate.js";
import { BINS, MAX_LATENCY_MS, addEncodedBins, encodeBins } from "./ddsketch.js";
import { LIFETIME_P, SLICE_P, type SketchRef, encodeClients, mergeEncodedClients } from "./hll.js";
import {
  DEFAULT_RESOLUTION_MS,
  DEFAULT_WINDOW_CLIENT_PRECISION,
  DEFAULT_WINDOW_MS,
  MAX_TIME_MS,
  MAX_VERSIONS,
  checkClientPrecision,
  checkVersionName,
  checkWindow,
  isTime,
} from "./options.js";
import type {
  RawClients,
  RawCounts,
  RawLatency,
  RawSlice,
  RawVersion,
  SnapshotFormat,
  SnapshotReader,
  StatsSnapshot,
  StatsWindow,
  WindowClientPrecision,
} from "./types.js";

/**
 * The format tag of snapshots at the default window client precision (10): the format from before
 * `windowClientPrecision` existed, so every reader of turnout snapshots reads it. A stats created with a higher `windowClientPrecision` writes `turnout.stats/2` (see {@link SNAPSHOT_FORMATS}).
 *
 * @example
 * ```ts
 * createStats().snapshot().format === SNAPSHOT_FORMAT; // true
 * ```
 */
export const SNAPSHOT_FORMAT = "turnout.stats/1" as const;

/**
 * Every snapshot format tag this release reads: `turnout.stats/1` (window client precision 10, the field optional)
 * and `turnout.stats/2` (the same with `windowClientPrecision` required, 10 to 14). A snapshot is written in the
 * first one that can hold it, so that readers which only know `/1` keep reading default snapshots, and refuse
 * (by their format tag) the ones they would misread.
 *
 * @example
 * ```ts
 * if (!SNAPSHOT_FORMATS.includes(value.format)) throw new Error("not a turnout stats snapshot");
 * ```
 */
export const SNAPSHOT_FORMATS: readonly SnapshotFormat[] = Object.freeze([SNAPSHOT_FORMAT, "turnout.stats/2"] as const);

/** The format tag of a snapshot at window client precision `p`. */
function formatOf(p: number): SnapshotFormat {
  return p === DEFAULT_WINDOW_CLIENT_PRECISION ? SNAPSHOT_FORMAT : "turnout.stats/2";
}

function latencyOf(count: number, sumUs: number, min: number, max: number, bins: Float64Array, base: number): RawLatency | null {
  if (count === 0) return null;
  return { ...encodeBins(bins, base), sumUs, min, max };
}

function encodeVersion(agg: Aggregate, state: VersionState): RawVersion {
  const r = state.retired;
  const retired: RawCounts = {
    requests: r.requests,
    errors: r.errors,
    latency: latencyOf(r.latCount, r.latSumUs, r.latMin, r.latMax, state.retiredBins, 0),
  };
  const slices: RawSlice[] = [];
  for (let s = agg.head - agg.slices; s <= agg.head; s++) {
    const k = agg.slotOf(s);
    const requests = state.requests[k] as number;
    if (requests === 0) continue;
    slices.push({
      index: s,
      requests,
      errors: state.errors[k] as number,
      latency: latencyOf(state.latCount[k] as number, state.latSumUs[k] as number, state.latMin[k] as number, state.latMax[k] as number, state.bins, k * BINS),
      clients: encodeClients(state.sliceRef(k), state.sliceSize[k] as number) as RawClients,
    });
  }
  return { retired, clients: encodeClients(state.life, state.lifeSize) as RawClients, slices };
}

/** The snapshot of an aggregate at `at` (null only for the empty snapshot). */
export function encodeSnapshot(agg: Aggregate, at: number | null): StatsSnapshot {
  const now = at ?? 0;
  const lifetime = agg.lifetime(now);
  const window = agg.window(now, agg.params.windowMs, undefined);
  const migration = agg.migrationAt(now);
  const versions: Record<string, RawVersion> = {};
  for (const state of agg.sorted()) versions[state.name] = encodeVersion(agg, state);
  return {
    format: formatOf(agg.clientPrecision),
    at,
    startedAt: agg.startedAt,
    windowMs: agg.params.windowMs,
    resolutionMs: agg.params.resolutionMs,
    windowClientPrecision: agg.clientPrecision as WindowClientPrecision,
    totalClients: lifetime.totals.clients,
    versionPercentages: lifetime.versionPercentages,
    migrationComplete: migration?.complete ?? false,
    migration,
    lifetime,
    window,
    rejected: agg.rejections(),
    raw: { versions },
  };
}

// ------------------------------------------------------------------------------------------------------------
// Validation and decoding
// ------------------------------------------------------------------------------------------------------------

/** What the first pass learns about one input. */
interface Header {
  readonly value: Record<string, unknown>;
  readonly path: string;
  readonly at: number | null;
  readonly startedAt: number | null;
  readonly params: WindowParams | undefined;
  /** Window client precision of its slices. */
  readonly precision: number;
  readonly migration: MigrationConfig | null;
  readonly versions: Record<string, unknown>;
  readonly maxIndex: number;
}

/** The largest latency sum a span can hold: MAX_SAFE_INTEGER requests at the largest latency, in µs. */
const MAX_SUM_US = Number.MAX_SAFE_INTEGER * MAX_LATENCY_MS * 1000;

function checkInteger(problems: Problems, value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    problems.add(typeof value === "number" ? "not_finite" : "type", path, `expected a whole number, got ${typeName(value)}`);
    return false;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.add(value < 0 && min >= 0 ? "negative" : "out_of_range", path, `expected a whole number from ${min} to ${max}, got ${value}`);
    return false;
  }
  return true;
}

function checkTime(problems: Problems, value: unknown, path: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    problems.add(typeof value === "number" ? "not_finite" : "type", path, `expected epoch milliseconds or null, got ${typeName(value)}`);
    return null;
  }
  if (!isTime(value)) {
    problems.add("out_of_range", path, `expected epoch milliseconds within ±${MAX_TIME_MS} (a Date's range), got ${value}`);
    return null;
  }
  return value;
}

function readHeader(problems: Problems, input: unknown, path: string): Header | undefined {
  if (!isRecord(input)) {
    problems.add("type", path, `expected a stats snapshot object, got ${typeName(input)}`);
    return undefined;
  }
  const before = problems.size;
  const format = input.format;
  if (format !== SNAPSHOT_FORMATS[0] && format !== SNAPSHOT_FORMATS[1]) {
    const expected = SNAPSHOT_FORMATS.map((f) => `"${f}"`).join(" or ");
    problems.add("invalid_value", child(path, "format"), `expected ${expected}, got ${JSON.stringify(format) ?? typeName(format)}`);
    return undefined;
  }
  const at = checkTime(problems, input.at, child(path, "at"));
  const startedAt = checkTime(problems, input.startedAt, child(path, "startedAt"));
  let params: WindowParams | undefined;
  if (typeof input.windowMs !== "number" || typeof input.resolutionMs !== "number") {
    problems.add("type", child(path, "windowMs"), "windowMs and resolutionMs must be numbers");
  } else {
    params = checkWindow(problems, input.windowMs, input.resolutionMs, child(path, "windowMs"), child(path, "resolutionMs"));
  }
  // turnout.stats/1 is precision 10, with or without the field (turnout before the option did not write it); /2 names it.
  const ppath = child(path, "windowClientPrecision");
  let precision: number = DEFAULT_WINDOW_CLIENT_PRECISION;
  if (input.windowClientPrecision === undefined) {
    if (format !== SNAPSHOT_FORMAT) problems.add("required", ppath, `a "${format}" snapshot names its windowClientPrecision`);
  } else {
    const p = checkClientPrecision(problems, input.windowClientPrecision, ppath);
    if (p !== undefined && format === SNAPSHOT_FORMAT && p !== DEFAULT_WINDOW_CLIENT_PRECISION) {
      problems.add(
        "invalid_value",
        ppath,
        `a "${SNAPSHOT_FORMAT}" snapshot has window client precision ${DEFAULT_WINDOW_CLIENT_PRECISION}, got ${p} (higher precisions are "turnout.stats/2")`,
      );
    } else if (p !== undefined) precision = p;
  }
  let migration: MigrationConfig | null = null;
  if (input.migration !== null && input.migration !== undefined) {
    const m = input.migration;
    const mpath = child(path, "migration");
    if (!isRecord(m)) problems.add("type", mpath, `expected an object or null, got ${typeName(m)}`);
    else {
      const fromOk = checkVersionName(problems, m.from, child(mpath, "from"));
      const toOk = checkVersionName(problems, m.to, child(mpath, "to"));
      const minOk = checkInteger(problems, m.minRequests, child(mpath, "minRequests"), 0);
      if (fromOk && toOk && minOk) migration = { from: m.from as string, to: m.to as string, minRequests: m.minRequests as number };
    }
  }
  const raw = input.raw;
  let versions: Record<string, unknown> = {};
  let maxIndex = -Infinity;
  if (!isRecord(raw) || !isRecord(raw.versions)) {
    problems.add("type", child(path, "raw"), "expected raw: { versions: { … } }");
  } else {
    versions = raw.versions;
    for (const key of Object.keys(versions)) {
      const v = versions[key];
      const slices = isRecord(v) ? v.slices : undefined;
      if (!Array.isArray(slices)) continue;
      for (const slice of slices) {
        const index = isRecord(slice) ? slice.index : undefined;
        if (typeof index === "number" && Number.isSafeInteger(index) && index > maxIndex) maxIndex = index;
      }
    }
  }
  const hasData = Object.keys(versions).length > 0 || (isRecord(input.rejected) && Object.values(input.rejected).some((n) => n !== 0));
  if (at === null && input.at === null && (startedAt !== null || hasData)) {
    problems.add("invalid_value", child(path, "at"), "only the empty snapshot has at: null, and this one holds data");
  }
  if (problems.size !== before) return undefined;
  return { value: input, path, at, startedAt, params, precision, migration, versions, maxIndex };
}

function checkLatency(problems: Problems, value: unknown, path: string): value is RawLatency {
  if (!isRecord(value)) {
    problems.add("type", path, `expected latency totals or null, got ${typeName(value)}`);
    return false;
  }
  const before = problems.size;
  checkFields(problems, value, path, ["zero", "offset", "bins", "sumUs", "min", "max"]);
  checkInteger(problems, value.zero, child(path, "zero"), 0);
  checkInteger(problems, value.offset, child(path, "offset"), -1_000_000, 1_000_000);
  if (typeof value.bins !== "string") problems.add("type", child(path, "bins"), `expected base64 text, got ${typeName(value.bins)}`);
  // A lifetime sum passes 2^53 µs in earnest (≈ 100 days at 10,000 req/s of 100 ms): it is then a rounded whole
  // number, as the live stats hold it, and must still read back. The bound is every request at the largest latency.
  checkInteger(problems, value.sumUs, child(path, "sumUs"), 0, MAX_SUM_US);
  for (const key of ["min", "max"] as const) {
    const x = value[key];
    if (typeof x !== "number" || !(x >= 0 && x <= MAX_LATENCY_MS)) {
      problems.add("out_of_range", child(path, key), `expected a latency from 0 to ${MAX_LATENCY_MS} ms, got ${String(x)}`);
    }
  }
  if (typeof value.min === "number" && typeof value.max === "number" && value.min > value.max) {
    problems.add("invalid_value", child(path, "min"), "min is above max");
  }
  return problems.size === before;
}

/** Adds counts (+ latency) into slot k of `state`, or into its retired totals when k < 0. */
function addCounts(problems: Problems, state: VersionState, k: number, counts: Record<string, unknown>, path: string, minRequests: number): boolean {
  const before = problems.size;
  const requestsOk = checkInteger(problems, counts.requests, child(path, "requests"), minRequests);
  if (requestsOk) checkInteger(problems, counts.errors, child(path, "errors"), 0, counts.requests as number);
  const latency = counts.latency;
  const latencyOk = latency === null || checkLatency(problems, latency, child(path, "latency"));
  if (problems.size !== before || !latencyOk) return false;
  const requests = counts.requests as number;
  const errors = counts.errors as number;
  const r = state.retired;
  if (k >= 0) {
    state.requests[k] = (state.requests[k] as number) + requests;
    state.errors[k] = (state.errors[k] as number) + errors;
  } else {
    r.requests += requests;
    r.errors += errors;
  }
  if (latency === null) return true;
  const l = latency as RawLatency;
  const range = { lo: BINS, hi: -1 };
  const added = k >= 0 ? addEncodedBins(l, state.bins, k * BINS, range) : addEncodedBins(l, state.retiredBins, 0, range);
  if (typeof added === "string") {
    problems.add("invalid_value", child(child(path, "latency"), "bins"), added);
    return false;
  }
  if (added < 1 || added > requests) {
    problems.add("out_of_range", child(path, "latency"), `the bins hold ${added} observations; expected 1 to ${requests}`);
    return false;
  }
  if (k >= 0) {
    state.latCount[k] = (state.latCount[k] as number) + added;
    state.latSumUs[k] = (state.latSumUs[k] as number) + l.sumUs;
    state.latMin[k] = Math.min(state.latMin[k] as number, l.min);
    state.latMax[k] = Math.max(state.latMax[k] as number, l.max);
    state.binLo[k] = Math.min(state.binLo[k] as number, range.lo);
    state.binHi[k] = Math.max(state.binHi[k] as number, range.hi);
  } else {
    r.latCount += added;
    r.latSumUs += l.sumUs;
    r.latMin = Math.min(r.latMin, l.min);
    r.latMax = Math.max(r.latMax, l.max);
    r.lo = Math.min(r.lo, range.lo);
    r.hi = Math.max(r.hi, range.hi);
  }
  return true;
}

/** Merges an encoded sketch of precision `from` (≥ ref.p) into `ref`; its new size (unchanged after a problem). */
function mergeClients(problems: Problems, ref: SketchRef, size: number, value: unknown, path: string, from: number): number {
  if (!isRecord(value) || (typeof value.hashes !== "string") === (typeof value.registers !== "string") || Object.keys(value).length !== 1) {
    problems.add("type", path, `expected { hashes: base64 } or { registers: base64 }`);
    return size;
  }
  const result = mergeEncodedClients(ref, size, value as RawClients, from);
  if (typeof result === "string") {
    problems.add("invalid_value", path, result);
    return size;
  }
  return result;
}

/** Adds one validated-header snapshot's state into `agg`. */
function decodeInto(problems: Problems, agg: Aggregate, header: Header): void {
  const { value, path } = header;
  const rpath = child(path, "rejected");
  if (value.rejected !== undefined) {
    if (!isRecord(value.rejected)) problems.add("type", rpath, `expected counts per reason, got ${typeName(value.rejected)}`);
    else {
      checkFields(problems, value.rejected, rpath, REASONS);
      REASONS.forEach((reason, i) => {
        const n = (value.rejected as Record<string, unknown>)[reason];
        if (n === undefined) return;
        if (checkInteger(problems, n, child(rpath, reason), 0)) agg.rejected[i] = (agg.rejected[i] as number) + n;
      });
    }
  }
  const vpath = child(child(path, "raw"), "versions");
  for (const name of Object.keys(header.versions)) {
    const npath = child(vpath, name);
    if (!checkVersionName(problems, name, npath)) continue;
    const v = header.versions[name];
    if (!isRecord(v)) {
      problems.add("type", npath, `expected { retired, clients, slices }, got ${typeName(v)}`);
      continue;
    }
    checkFields(problems, v, npath, ["retired", "clients", "slices"]);
    if (!agg.byName.has(name) && agg.states.length >= MAX_VERSIONS) {
      problems.add("too_long", npath, `more than ${MAX_VERSIONS} versions`);
      continue;
    }
    const state = agg.state(name);
    if (!isRecord(v.retired)) problems.add("type", child(npath, "retired"), `expected { requests, errors, latency }, got ${typeName(v.retired)}`);
    else {
      checkFields(problems, v.retired, child(npath, "retired"), ["requests", "errors", "latency"]);
      addCounts(problems, state, -1, v.retired, child(npath, "retired"), 0);
    }
    state.lifeSize = mergeClients(problems, state.life, state.lifeSize, v.clients, child(npath, "clients"), LIFETIME_P);
    const spath = child(npath, "slices");
    if (!Array.isArray(v.slices)) {
      problems.add("type", spath, `expected an array, got ${typeName(v.slices)}`);
      continue;
    }
    if (v.slices.length > agg.slots) {
      problems.add("too_long", spath, `${v.slices.length} slices; a window of ${agg.slices} slices holds at most ${agg.slots}`);
      continue;
    }
    let previous = -Infinity;
    v.slices.forEach((slice: unknown, i) => {
      const ipath = child(spath, i);
      if (!isRecord(slice)) {
        problems.add("type", ipath, `expected a slice, got ${typeName(slice)}`);
        return;
      }
      checkFields(problems, slice, ipath, ["index", "requests", "errors", "latency", "clients"]);
      if (!checkInteger(problems, slice.index, child(ipath, "index"), Number.MIN_SAFE_INTEGER)) return;
      if (slice.index <= previous) {
        problems.add("invalid_value", child(ipath, "index"), "slices must be in strictly ascending order of index");
        return;
      }
      previous = slice.index;
      const k = slice.index >= agg.head - agg.slices ? agg.slotOf(slice.index) : -1;
      if (!addCounts(problems, state, k, slice, ipath, 1)) return;
      // Slices of a higher precision than the merge's fold down to it (exactly: see foldRegisters).
      const cpath = child(ipath, "clients");
      if (k >= 0) state.sliceSize[k] = mergeClients(problems, state.sliceRef(k), state.sliceSize[k] as number, slice.clients, cpath, header.precision);
      else mergeClients(problems, scratchSlice(agg.clientPrecision), 0, slice.clients, cpath, header.precision);
    });
  }
}

/** A throwaway slice sketch of precision p, to validate the clients of a slice that is folded away. */
function scratchSlice(p: number): SketchRef {
  const buffer = new ArrayBuffer(1 << p);
  return { set: new Int32Array(buffer), regs: new Uint8Array(buffer), base32: 0, p };
}

/** Decodes and merges inputs into one aggregate; `at` of the result. Throws TurnoutConfigError on any problem. */
function decodeAll(inputs: readonly unknown[], single: boolean): { agg: Aggregate; at: number | null } {
  const problems = new Problems();
  const headers: Header[] = [];
  inputs.forEach((input, i) => {
    const header = readHeader(problems, input, single ? "" : child("", i));
    if (header !== undefined) headers.push(header);
  });
  problems.throwIfAny("stats snapshot");
  const live = headers.filter((h) => h.at !== null);
  if (live.length === 0) {
    return { agg: emptyAggregate(), at: null };
  }
  const first = live[0] as Header;
  const params = first.params as WindowParams;
  let migration: MigrationConfig | null = null;
  let at = -Infinity;
  let startedAt: number | null = null;
  let maxIndex = -Infinity;
  // Different window client precisions merge down to the lowest: folding registers is exact, so the result is
  // what one aggregator at that precision would hold (and the merge stays commutative and associative).
  let precision = first.precision;
  for (const h of live) {
    precision = Math.min(precision, h.precision);
    const p = h.params as WindowParams;
    if (p.windowMs !== params.windowMs || p.resolutionMs !== params.resolutionMs) {
      problems.add(
        "conflict",
        child(h.path, "windowMs"),
        `window ${p.windowMs} ms / resolution ${p.resolutionMs} ms differs from ${params.windowMs} ms / ${params.resolutionMs} ms (${first.path || "the first snapshot"})`,
      );
    }
    if (h.migration !== null) {
      if (migration === null) migration = h.migration;
      else if (migration.from !== h.migration.from || migration.to !== h.migration.to || migration.minRequests !== h.migration.minRequests) {
        problems.add("conflict", child(h.path, "migration"), "the snapshots track different migrations");
      }
    }
    at = Math.max(at, h.at as number);
    if (h.startedAt !== null) startedAt = startedAt === null ? h.startedAt : Math.min(startedAt, h.startedAt);
    maxIndex = Math.max(maxIndex, h.maxIndex);
  }
  problems.throwIfAny("stats snapshot");
  const head = Math.max(Math.floor(at / params.resolutionMs), maxIndex);
  const agg = new Aggregate(params, head, startedAt, migration, precision);
  for (const h of live) decodeInto(problems, agg, h);
  problems.throwIfAny("stats snapshot");
  return { agg, at };
}

function emptyAggregate(): Aggregate {
  return new Aggregate({ windowMs: DEFAULT_WINDOW_MS, resolutionMs: DEFAULT_RESOLUTION_MS }, 0, null, null, SLICE_P);
}

// ------------------------------------------------------------------------------------------------------------
// Public functions
// ------------------------------------------------------------------------------------------------------------

/**
 * The snapshot of nothing: `mergeSnapshots(emptySnapshot(), s)` equals `mergeSnapshots(s)` for every snapshot `s`,
 * whatever its window. Its `at` and `startedAt` are `null`.
 *
 * @example
 * ```ts
 * const fleet = snapshots.reduce((a, b) => mergeSnapshots(a, b), emptySnapshot());
 * ```
 */
export function emptySnapshot(): StatsSnapshot {
  return encodeSnapshot(emptyAggregate(), null);
}

/**
 * Merges snapshots (of instances that share `window`, `resolution` and migration) into one, as if a single
 * aggregator had seen every request: counts add, sketches merge exactly, slices line up on absolute time, the
 * latest `at` and earliest `startedAt` win, and every human-facing number is recomputed from the merged raw
 * state. Snapshots of different `windowClientPrecision` merge down to the lowest (their window sketches fold
 * exactly: the result is what one aggregator at that precision would hold). Commutative and associative, with
 * {@link emptySnapshot} as identity. Validates every input (they may come from JSON) and throws one
 * `TurnoutConfigError` listing every problem, with paths like `[1].raw.versions.v2.slices[0].requests`.
 *
 * @example
 * ```ts
 * const fleet = mergeSnapshots(...(await redis.mGet(keys)).filter(Boolean).map((text) => JSON.parse(text!)));
 * fleet.versionPercentages; // { v1: 20, v2: 80 }
 * ```
 */
export function mergeSnapshots(...snapshots: readonly StatsSnapshot[]): StatsSnapshot {
  const { agg, at } = decodeAll(snapshots, false);
  return encodeSnapshot(agg, at);
}

/**
 * Validates an untrusted value (e.g. `JSON.parse` of a stored snapshot) and returns it normalised, with the human
 * view recomputed from the raw state. Throws `TurnoutConfigError` listing every problem.
 *
 * @example
 * ```ts
 * const snapshot = parseSnapshot(JSON.parse(await redis.get("stats:pod-1")));
 * ```
 */
export function parseSnapshot(value: unknown): StatsSnapshot {
  const { agg, at } = decodeAll([value], true);
  return encodeSnapshot(agg, at);
}

/**
 * Reads a snapshot (typically a merged fleet view) as a `StatsReader`, so the rollout's health analysis can run
 * on it. Queries default to `now = snapshot.at`. Validates like {@link parseSnapshot}.
 *
 * @example
 * ```ts
 * const fleet = readSnapshot(mergeSnapshots(...instanceSnapshots));
 * const w = fleet.window({ since: stepStartedAt });
 * w.versions.v2?.errorRate;
 * ```
 */
export function readSnapshot(snapshot: StatsSnapshot): SnapshotReader {
  const { agg, at } = decodeAll([snapshot], true);
  const normalised = encodeSnapshot(agg, at);
  const fallback = at ?? 0;
  return {
    window: (query?: WindowQuery): StatsWindow => agg.query(query, fallback),
    lifetime: (): StatsWindow => agg.lifetime(fallback),
    migration: (now?: number) => agg.migrationAt(isTime(now) ? now : fallback),
    snapshot: normalised,
  };
}

// The mergeable state behind both a live `Stats` and a snapshot reader: per version, a ring of window slices aligned
// on absolute time (slice s covers [s·resolution, (s+1)·resolution)), the totals of slices that have left the ring
// ("retired"), and a lifetime distinct-client sketch. The ring always holds slices head−N … head (N = window /
// resolution): N whole slices and the current one. Recording touches only one slice; a slice's counts and bins are
// folded into the retired totals when the ring moves past it.

import { BINS, binOf, quantilesInto } from "./ddsketch.js";
import { ClientUnion, DENSE, LIFETIME_P, type SketchRef, countOf, densify, exactLimitOf, registerAdd, setAdd, slotsOf } from "./hll.js";
import { isTime } from "./options.js";
import { largestRemainder } from "./percentages.js";
import type { WindowQuery } from "../types.js";
import { MigrationReason, type MigrationStatus, RejectionReason, type StatsWindow, type VersionSummary } from "./types.js";

const LIFE_INTS = slotsOf(LIFETIME_P);
const LIFE_MASK = LIFE_INTS - 1;
const LIFE_LIMIT = exactLimitOf(LIFETIME_P);
const QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * The latency (ms) of the sample being recorded. It travels to {@link VersionState.add} in this typed-array slot
 * rather than as an argument: V8 boxes a double passed to a function it does not inline (16 bytes per call).
 */
export const STAGED_LATENCY = new Float64Array(1);

/** Every rejection reason, in a fixed order (the index of a reason's counter). */
export const REASONS: readonly RejectionReason[] = Object.values(RejectionReason);

/** The migration being tracked. */
export interface MigrationConfig {
  readonly from: string;
  readonly to: string;
  readonly minRequests: number;
}

/** The window geometry. */
export interface WindowParams {
  readonly windowMs: number;
  readonly resolutionMs: number;
}

/** Totals of a span of one version, outside the ring. */
interface Retired {
  requests: number;
  errors: number;
  latCount: number;
  latSumUs: number;
  latMin: number;
  latMax: number;
  lo: number;
  hi: number;
}

/** One version's state. All ring arrays are indexed by slot (0 … N). */
export class VersionState {
  readonly requests: Float64Array;
  readonly errors: Float64Array;
  readonly latCount: Float64Array;
  readonly latSumUs: Float64Array;
  readonly latMin: Float64Array;
  readonly latMax: Float64Array;
  readonly binLo: Int32Array;
  readonly binHi: Int32Array;
  /** Slot k's bins are bins[k·BINS …]. */
  readonly bins: Float64Array;
  /** Precision of the slice sketches (the stats' `windowClientPrecision`): 2^sliceP bytes per slot. */
  readonly sliceP: number;
  /** Exact-mode slots (ints) per slice sketch, that minus one, and the exact limit: 2^sliceP / 4, …, 3/4 of it. */
  private readonly sliceInts: number;
  private readonly sliceMask: number;
  private readonly sliceLimit: number;
  /** Slot k's client sketch: ints [k·2^(p−2), (k+1)·2^(p−2)) = bytes [k·2^p, (k+1)·2^p) of one buffer. */
  readonly sliceSet: Int32Array;
  readonly sliceRegs: Uint8Array;
  readonly sliceSize: Int32Array;
  readonly retired: Retired = { requests: 0, errors: 0, latCount: 0, latSumUs: 0, latMin: Infinity, latMax: -Infinity, lo: BINS, hi: -1 };
  readonly retiredBins = new Float64Array(BINS);
  /** Every client since start (precision 14). */
  readonly life: SketchRef;
  lifeSize = 0;

  constructor(
    readonly name: string,
    slots: number,
    sliceP: number,
  ) {
    this.sliceP = sliceP;
    this.sliceInts = slotsOf(sliceP);
    this.sliceMask = this.sliceInts - 1;
    this.sliceLimit = exactLimitOf(sliceP);
    this.requests = new Float64Array(slots);
    this.errors = new Float64Array(slots);
    this.latCount = new Float64Array(slots);
    this.latSumUs = new Float64Array(slots);
    this.latMin = new Float64Array(slots).fill(Infinity);
    this.latMax = new Float64Array(slots).fill(-Infinity);
    this.binLo = new Int32Array(slots).fill(BINS);
    this.binHi = new Int32Array(slots).fill(-1);
    this.bins = new Float64Array(slots * BINS);
    const sliceBuffer = new ArrayBuffer(slots * (1 << sliceP));
    this.sliceSet = new Int32Array(sliceBuffer);
    this.sliceRegs = new Uint8Array(sliceBuffer);
    this.sliceSize = new Int32Array(slots);
    const lifeBuffer = new ArrayBuffer(1 << LIFETIME_P);
    this.life = { set: new Int32Array(lifeBuffer), regs: new Uint8Array(lifeBuffer), base32: 0, p: LIFETIME_P };
  }

  /**
   * Hot path: one request (or n identical ones) into slot k, with the latency in {@link STAGED_LATENCY} when
   * `timed`; `hash` 0 means no client.
   */
  add(k: number, ok: boolean, timed: boolean, hash: number, n: number): void {
    this.requests[k] = (this.requests[k] as number) + n;
    if (!ok) this.errors[k] = (this.errors[k] as number) + n;
    if (timed) {
      const latency = STAGED_LATENCY[0] as number;
      this.latCount[k] = (this.latCount[k] as number) + n;
      this.latSumUs[k] = (this.latSumUs[k] as number) + Math.round(latency * 1000) * n;
      if (latency < (this.latMin[k] as number)) this.latMin[k] = latency;
      if (latency > (this.latMax[k] as number)) this.latMax[k] = latency;
      const bin = binOf(latency);
      const at = k * BINS + bin;
      this.bins[at] = (this.bins[at] as number) + n;
      if (bin < (this.binLo[k] as number)) this.binLo[k] = bin;
      if (bin > (this.binHi[k] as number)) this.binHi[k] = bin;
    }
    if (hash !== 0) {
      this.addLifeClient(hash);
      const size = this.sliceSize[k] as number;
      const p = this.sliceP;
      if (size === DENSE) registerAdd(this.sliceRegs, k << p, p, hash);
      else if (setAdd(this.sliceSet, k * this.sliceInts, this.sliceMask, hash) === 1) {
        if (size + 1 > this.sliceLimit) {
          densify(this.sliceSet, this.sliceRegs, k * this.sliceInts, p);
          this.sliceSize[k] = DENSE;
        } else this.sliceSize[k] = size + 1;
      }
    }
  }

  /** A client into the lifetime sketch. Hot path. */
  addLifeClient(hash: number): void {
    const size = this.lifeSize;
    if (size === DENSE) registerAdd(this.life.regs, 0, LIFETIME_P, hash);
    else if (setAdd(this.life.set, 0, LIFE_MASK, hash) === 1) {
      if (size + 1 > LIFE_LIMIT) {
        densify(this.life.set, this.life.regs, 0, LIFETIME_P);
        this.lifeSize = DENSE;
      } else this.lifeSize = size + 1;
    }
  }

  /** Data older than the ring goes straight to the retired totals (and the lifetime clients). */
  addRetired(ok: boolean, timed: boolean, hash: number, n: number): void {
    const r = this.retired;
    r.requests += n;
    if (!ok) r.errors += n;
    if (timed) {
      const latency = STAGED_LATENCY[0] as number;
      r.latCount += n;
      r.latSumUs += Math.round(latency * 1000) * n;
      if (latency < r.latMin) r.latMin = latency;
      if (latency > r.latMax) r.latMax = latency;
      const bin = binOf(latency);
      this.retiredBins[bin] = (this.retiredBins[bin] as number) + n;
      if (bin < r.lo) r.lo = bin;
      if (bin > r.hi) r.hi = bin;
    }
    if (hash !== 0) this.addLifeClient(hash);
  }

  /** The client sketch of slot k. */
  sliceRef(k: number): SketchRef {
    return { set: this.sliceSet, regs: this.sliceRegs, base32: k * this.sliceInts, p: this.sliceP };
  }

  /** Folds slot k into the retired totals and empties it. */
  retire(k: number): void {
    const requests = this.requests[k] as number;
    if (requests === 0) return;
    const r = this.retired;
    r.requests += requests;
    r.errors += this.errors[k] as number;
    const count = this.latCount[k] as number;
    if (count > 0) {
      r.latCount += count;
      r.latSumUs += this.latSumUs[k] as number;
      r.latMin = Math.min(r.latMin, this.latMin[k] as number);
      r.latMax = Math.max(r.latMax, this.latMax[k] as number);
      const lo = this.binLo[k] as number;
      const hi = this.binHi[k] as number;
      const base = k * BINS;
      for (let bin = lo; bin <= hi; bin++) {
        const c = this.bins[base + bin] as number;
        if (c !== 0) {
          this.retiredBins[bin] = (this.retiredBins[bin] as number) + c;
          this.bins[base + bin] = 0;
        }
      }
      if (lo < r.lo) r.lo = lo;
      if (hi > r.hi) r.hi = hi;
    }
    this.clearSlot(k);
  }

  /** Empties slot k without folding it anywhere. */
  clearSlot(k: number): void {
    const lo = this.binLo[k] as number;
    const hi = this.binHi[k] as number;
    if (hi >= lo) this.bins.fill(0, k * BINS + lo, k * BINS + hi + 1);
    this.requests[k] = 0;
    this.errors[k] = 0;
    this.latCount[k] = 0;
    this.latSumUs[k] = 0;
    this.latMin[k] = Infinity;
    this.latMax[k] = -Infinity;
    this.binLo[k] = BINS;
    this.binHi[k] = -1;
    if (this.sliceSize[k] !== 0) {
      this.sliceSet.fill(0, k * this.sliceInts, (k + 1) * this.sliceInts);
      this.sliceSize[k] = 0;
    }
  }
}

/** Sums of a span, with merged bins and a client union. Reused between reads. */
class Accumulator {
  requests = 0;
  errors = 0;
  latCount = 0;
  latSumUs = 0;
  min = Infinity;
  max = -Infinity;
  lo = BINS;
  hi = -1;
  readonly bins = new Float64Array(BINS);
  readonly clients: ClientUnion;
  private readonly q: number[] = [0, 0, 0];

  constructor(p: number) {
    this.clients = new ClientUnion(p);
  }

  reset(): void {
    if (this.hi >= this.lo) this.bins.fill(0, this.lo, this.hi + 1);
    this.requests = 0;
    this.errors = 0;
    this.latCount = 0;
    this.latSumUs = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.lo = BINS;
    this.hi = -1;
    this.clients.reset();
  }

  addSlot(state: VersionState, k: number, withClients: boolean): void {
    const requests = state.requests[k] as number;
    if (requests === 0) return;
    this.requests += requests;
    this.errors += state.errors[k] as number;
    const count = state.latCount[k] as number;
    if (count > 0) {
      this.latCount += count;
      this.latSumUs += state.latSumUs[k] as number;
      this.min = Math.min(this.min, state.latMin[k] as number);
      this.max = Math.max(this.max, state.latMax[k] as number);
      this.addBins(state.bins, k * BINS, state.binLo[k] as number, state.binHi[k] as number);
    }
    if (withClients) this.clients.add(state.sliceRef(k), state.sliceSize[k] as number);
  }

  addRetired(state: VersionState): void {
    const r = state.retired;
    this.requests += r.requests;
    this.errors += r.errors;
    if (r.latCount > 0) {
      this.latCount += r.latCount;
      this.latSumUs += r.latSumUs;
      this.min = Math.min(this.min, r.latMin);
      this.max = Math.max(this.max, r.latMax);
      this.addBins(state.retiredBins, 0, r.lo, r.hi);
    }
  }

  private addBins(bins: Float64Array, base: number, lo: number, hi: number): void {
    for (let bin = lo; bin <= hi; bin++) this.bins[bin] = (this.bins[bin] as number) + (bins[base + bin] as number);
    if (lo < this.lo) this.lo = lo;
    if (hi > this.hi) this.hi = hi;
  }

  summary(totalRequests: number, clients: number): VersionSummary {
    let latency: VersionSummary["latency"] = null;
    if (this.latCount > 0) {
      quantilesInto(this.bins, 0, this.lo, this.hi, this.latCount, this.min, this.max, QUANTILES, this.q);
      latency = { p50: this.q[0] as number, p95: this.q[1] as number, p99: this.q[2] as number, max: this.max };
    }
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.requests > 0 ? this.errors / this.requests : 0,
      latency,
      clients,
      share: totalRequests > 0 ? this.requests / totalRequests : 0,
      latencyCount: this.latCount,
      latencySumMs: this.latSumUs / 1000,
    };
  }
}

/** Euclidean modulo. */
function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/** The state of one aggregator (live or decoded from snapshots). */
export class Aggregate {
  /** Whole slices in the window. */
  readonly slices: number;
  /** Ring size: the window's slices and the current one. */
  readonly slots: number;
  /** Absolute index of the newest slice in the ring. */
  head: number;
  /** Its slot. */
  headSlot: number;
  readonly states: VersionState[] = [];
  readonly byName = new Map<string, VersionState>();
  readonly rejected = new Float64Array(REASONS.length);
  startedAt: number | null;
  /**
   * True until the first sample of a new live stats lands: that sample's time becomes `startedAt` if it is earlier
   * (however far before the clock), so that data covering a whole window counts as observed.
   */
  awaitingFirst = false;
  migration: MigrationConfig | null;
  private readonly versionAcc: Accumulator;
  private readonly totalAcc: Accumulator;
  private lifeUnion: ClientUnion | undefined;

  /** `clientPrecision`: of the window slices' client sketches (10 … 14). */
  constructor(
    readonly params: WindowParams,
    head: number,
    startedAt: number | null,
    migration: MigrationConfig | null,
    readonly clientPrecision: number,
  ) {
    this.versionAcc = new Accumulator(clientPrecision);
    this.totalAcc = new Accumulator(clientPrecision);
    this.slices = params.windowMs / params.resolutionMs;
    this.slots = this.slices + 1;
    this.head = head;
    this.headSlot = mod(head, this.slots);
    this.startedAt = startedAt;
    this.migration = migration;
  }

  /** The state of `name`, created if needed (no checks: callers validate names). */
  state(name: string): VersionState {
    let state = this.byName.get(name);
    if (state === undefined) {
      state = new VersionState(name, this.slots, this.clientPrecision);
      this.byName.set(name, state);
      this.states.push(state);
    }
    return state;
  }

  /** Moves the ring forward so that slice `s` (> head) is the newest, retiring what falls out. */
  advance(s: number): void {
    const steps = Math.min(s - this.head, this.slots);
    for (let j = 1; j <= steps; j++) {
      const k = mod(this.head + j, this.slots);
      for (const state of this.states) state.retire(k);
    }
    this.head = s;
    this.headSlot = mod(s, this.slots);
  }

  /**
   * The slot for data of slice `s` (time `t`), moving the ring if `s` is newer; -1 when `s` is older than the ring.
   * An empty ring moves back instead: a stream of explicit past timestamps (a simulator on a virtual clock) then
   * lands in the window, and observation counts as started at its first record. The first sample of a new stats
   * always passes here (see {@link awaitingFirst}).
   */
  slotFor(s: number, t: number): number {
    if (this.awaitingFirst) {
      this.awaitingFirst = false;
      if (this.startedAt === null || t < this.startedAt) this.startedAt = t;
    }
    if (s > this.head) {
      this.advance(s);
      return this.headSlot;
    }
    if (s >= this.head - this.slices) return mod(s, this.slots);
    if (!this.ringEmpty()) return -1;
    this.head = s;
    this.headSlot = mod(s, this.slots);
    if (this.startedAt === null || t < this.startedAt) this.startedAt = t;
    return this.headSlot;
  }

  private ringEmpty(): boolean {
    for (const state of this.states) for (let k = 0; k < this.slots; k++) if ((state.requests[k] as number) > 0) return false;
    return true;
  }

  /** The ring slot of slice `s`. */
  slotOf(s: number): number {
    return mod(s, this.slots);
  }

  /** Answers a (possibly junk) window query; `now` defaults to `fallbackNow`. */
  query(query: WindowQuery | undefined, fallbackNow: number): StatsWindow {
    const q: WindowQuery = typeof query === "object" && query !== null ? query : {};
    const now = isTime(q.now) ? q.now : fallbackNow;
    const full = this.params.windowMs;
    const windowMs = typeof q.windowMs === "number" && !Number.isNaN(q.windowMs) ? Math.min(Math.max(q.windowMs, 0), full) : full;
    const since = typeof q.since === "number" && Number.isFinite(q.since) ? q.since : undefined;
    return this.window(now, windowMs, since);
  }

  /** Names in code-unit order, with their states. */
  sorted(): VersionState[] {
    return [...this.states].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The numbers over slices [first, last] ∩ ring; `from`/`to` as given. */
  span(first: number, last: number, from: number, to: number): StatsWindow {
    const a = Math.max(first, this.head - this.slices);
    const b = Math.min(last, this.head);
    const sorted = this.sorted();
    const totals = this.totalAcc;
    totals.reset();
    const requests: number[] = [];
    for (const state of sorted) {
      let n = 0;
      for (let s = a; s <= b; s++) n += state.requests[mod(s, this.slots)] as number;
      requests.push(n);
    }
    const total = requests.reduce((x, y) => x + y, 0);
    // When the span holds every request ever recorded, the precise lifetime sketches answer for clients.
    const everything = this.holdsEverything(a, b);
    const versions: Record<string, VersionSummary> = {};
    for (const state of sorted) {
      const acc = this.versionAcc;
      acc.reset();
      for (let s = a; s <= b; s++) {
        const k = mod(s, this.slots);
        acc.addSlot(state, k, !everything);
        totals.addSlot(state, k, !everything);
      }
      versions[state.name] = acc.summary(total, everything ? countOf(state.life, state.lifeSize) : acc.clients.count());
    }
    return {
      from,
      to,
      versions,
      totals: totals.summary(total, everything ? this.lifetimeClients(sorted) : totals.clients.count()),
      versionPercentages: percentages(sorted, requests),
    };
  }

  /** True when slices [a, b] hold every request recorded (nothing retired, nothing outside). */
  private holdsEverything(a: number, b: number): boolean {
    for (const state of this.states) {
      if (state.retired.requests > 0) return false;
      for (let s = this.head - this.slices; s <= this.head; s++) {
        if ((s < a || s > b) && (state.requests[mod(s, this.slots)] as number) > 0) return false;
      }
    }
    return true;
  }

  /** Distinct clients since start over all versions. */
  private lifetimeClients(states: readonly VersionState[]): number {
    const union = (this.lifeUnion ??= new ClientUnion(LIFETIME_P));
    union.reset();
    for (const state of states) union.add(state.life, state.lifeSize);
    return union.count();
  }

  /** The window view: slices wholly inside [max(now − windowMs, since), now]. */
  window(now: number, windowMs: number, since: number | undefined): StatsWindow {
    const res = this.params.resolutionMs;
    let lower = now - windowMs;
    if (since !== undefined && since > lower) lower = since;
    const first = Math.ceil(lower / res);
    return this.span(first, Math.floor(now / res), Math.min(first * res, now), now);
  }

  /** Lifetime numbers (retired + ring; clients from the lifetime sketches). */
  lifetime(now: number): StatsWindow {
    const sorted = this.sorted();
    const totals = this.totalAcc;
    totals.reset();
    const requests: number[] = [];
    for (const state of sorted) {
      let n = state.retired.requests;
      for (let k = 0; k < this.slots; k++) n += state.requests[k] as number;
      requests.push(n);
      totals.addRetired(state);
      for (let k = 0; k < this.slots; k++) totals.addSlot(state, k, false);
    }
    const total = totals.requests;
    const versions: Record<string, VersionSummary> = {};
    const acc = this.versionAcc;
    for (const state of sorted) {
      acc.reset();
      acc.addRetired(state);
      for (let k = 0; k < this.slots; k++) acc.addSlot(state, k, false);
      versions[state.name] = acc.summary(total, countOf(state.life, state.lifeSize));
    }
    return {
      from: this.startedAt ?? 0,
      to: now,
      versions,
      totals: totals.summary(total, this.lifetimeClients(sorted)),
      versionPercentages: percentages(sorted, requests),
    };
  }

  /** The migration's progress at `now` (see MigrationStatus for the definition). */
  migrationAt(now: number): MigrationStatus | null {
    const migration = this.migration;
    if (migration === null) return null;
    const res = this.params.resolutionMs;
    const current = Math.floor(now / res);
    const firstSlice = current - this.slices;
    const since = firstSlice * res;
    const a = Math.max(firstSlice, this.head - this.slices);
    const b = Math.min(current, this.head);
    let requests = 0;
    let fromRequests = 0;
    let toRequests = 0;
    for (const state of this.states) {
      let n = 0;
      for (let s = a; s <= b; s++) n += state.requests[mod(s, this.slots)] as number;
      requests += n;
      if (state.name === migration.from) fromRequests = n;
      if (state.name === migration.to) toRequests = n;
    }
    // A `now` behind the newest data (a clock that stepped back) may put the span's start among slices already folded
    // into the retired totals: `from` traffic there can no longer be seen, so the span does not count as observed.
    const reason =
      fromRequests > 0
        ? MigrationReason.FromTraffic
        : this.startedAt === null || this.startedAt > since || firstSlice < this.head - this.slices
          ? MigrationReason.NotObserved
          : requests < migration.minRequests
            ? MigrationReason.TooFewRequests
            : MigrationReason.Complete;
    return {
      from: migration.from,
      to: migration.to,
      minRequests: migration.minRequests,
      complete: reason === MigrationReason.Complete,
      reason,
      since,
      requests,
      fromRequests,
      toRequests,
      progress: requests > 0 ? toRequests / requests : 0,
    };
  }

  /** Rejections per reason. */
  rejections(): Record<RejectionReason, number> {
    const out = {} as Record<RejectionReason, number>;
    REASONS.forEach((reason, i) => {
      out[reason] = this.rejected[i] as number;
    });
    return out;
  }
}

function percentages(sorted: readonly VersionState[], requests: readonly number[]): Record<string, number> {
  return largestRemainder(
    sorted.map((s) => s.name),
    requests,
  );
}

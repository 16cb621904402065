import { describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import { MigrationReason, RejectionReason, createStats, type Stats, type StatsOptions, type StatsSample } from "../../../src/stats/index.js";

const T0 = 1_700_000_000_000; // a multiple of 10 s
const SEC = 1000;

function problemsOf(options: unknown): { code: string; path: string }[] {
  try {
    createStats(options as StatsOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TurnoutConfigError);
    return (error as TurnoutConfigError).problems.map(({ code, path }) => ({ code, path }));
  }
  throw new Error("expected a TurnoutConfigError");
}

function totals(stats: Stats, now: number) {
  const s = stats.snapshot(now);
  return { lifetime: s.lifetime.totals, window: s.window.totals };
}

describe("createStats options", () => {
  it("defaults to a 5-minute window in 10-second slices, dynamic versions", () => {
    const stats = createStats();
    expect(stats.windowMs).toBe(300_000);
    expect(stats.resolutionMs).toBe(10_000);
    expect(stats.windowClientPrecision).toBe(10);
    expect(stats.versions).toEqual([]);
    expect(stats.record({ version: "v7", ok: true })).toBe(true);
    expect(stats.versions).toEqual(["v7"]);
  });

  it("lists every problem at once, with codes and paths", () => {
    expect(
      problemsOf({
        versions: ["v1", "v1", "__proto__", 3, "bad name"],
        maxVersions: 0,
        window: "5 minutes",
        resolution: "10s",
        migration: { from: "v1", to: "v9", minRequests: -1, extra: true },
        clock: 5,
        windowClientPrecision: 16,
        colour: "blue",
      }),
    ).toEqual([
      { code: "unknown_field", path: "colour" },
      { code: "duplicate", path: "versions[1]" },
      { code: "forbidden_key", path: "versions[2]" },
      { code: "type", path: "versions[3]" },
      { code: "invalid_name", path: "versions[4]" },
      { code: "out_of_range", path: "maxVersions" },
      { code: "invalid_duration", path: "window" },
      { code: "unknown_field", path: "migration.extra" },
      { code: "unknown_version", path: "migration.to" },
      { code: "out_of_range", path: "migration.minRequests" },
      { code: "type", path: "clock" },
      { code: "out_of_range", path: "windowClientPrecision" },
    ]);
  });

  it("takes a window client precision from 10 to 14, and nothing else", () => {
    for (const p of [10, 11, 12, 13, 14] as const) {
      const stats = createStats({ windowClientPrecision: p, clock: () => T0 });
      expect(stats.windowClientPrecision).toBe(p);
      expect(stats.snapshot().windowClientPrecision).toBe(p);
    }
    expect(problemsOf({ windowClientPrecision: 9 })).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: 15 })).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: 12.5 })).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: Number.NaN })).toEqual([{ code: "not_finite", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: Infinity })).toEqual([{ code: "not_finite", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: "14" })).toEqual([{ code: "type", path: "windowClientPrecision" }]);
    expect(problemsOf({ windowClientPrecision: null })).toEqual([{ code: "type", path: "windowClientPrecision" }]);
    expect(createStats({ windowClientPrecision: undefined }).windowClientPrecision).toBe(10);
  });

  it("checks the window geometry", () => {
    expect(problemsOf({ window: "1m", resolution: "7s" })).toEqual([{ code: "invalid_value", path: "window" }]);
    expect(problemsOf({ window: "1d", resolution: "10s" })).toEqual([{ code: "out_of_range", path: "window" }]);
    expect(problemsOf({ resolution: 0.5 })).toEqual([{ code: "out_of_range", path: "resolution" }]);
    expect(problemsOf({ migration: { from: "v1", to: "v1" } })).toEqual([{ code: "conflict", path: "migration.to" }]);
    expect(problemsOf({ migration: "v1->v2" })).toEqual([{ code: "type", path: "migration" }]);
    expect(problemsOf("fast")).toEqual([{ code: "type", path: "" }]);
    expect(createStats({ window: 60_000, resolution: "1s" }).windowMs).toBe(60_000);
  });
});

describe("versions", () => {
  it("strict mode rejects anything not configured, counting the reason", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    expect(stats.record({ version: "v3", ok: true })).toBe(false);
    expect(stats.record({ version: "__proto__", ok: true })).toBe(false);
    expect(stats.record({ version: "v2", ok: true })).toBe(true);
    expect(stats.rejected()).toMatchObject({ unknown_version: 1, invalid_version: 1 });
    expect(stats.versions).toEqual(["v1", "v2"]);
  });

  it("dynamic mode accepts valid names up to maxVersions, then rejects new ones (old ones keep working)", () => {
    const stats = createStats({ maxVersions: 2, clock: () => T0 });
    expect(stats.record({ version: "v2", ok: true })).toBe(true);
    expect(stats.record({ version: "v1", ok: true })).toBe(true);
    expect(stats.record({ version: "v3", ok: true })).toBe(false);
    expect(stats.record({ version: "v1", ok: false })).toBe(true);
    for (const bad of ["", "-v1", "v 1", "__proto__", "constructor!", "x".repeat(65)]) {
      expect(stats.record({ version: bad, ok: true }), bad).toBe(false);
    }
    expect(stats.rejected()).toMatchObject({ too_many_versions: 1, invalid_version: 6 });
    expect(stats.versions).toEqual(["v1", "v2"]);
    expect(stats.lifetime(T0).versions).toHaveProperty("v1.requests", 2);
  });
});

describe("a rejected sample of a new version (dynamic mode)", () => {
  // Regression: the version was created before the rest of the sample was checked, so junk used up maxVersions
  // and locked real versions out for good.
  it("adds no version and uses none of maxVersions", () => {
    const stats = createStats({ maxVersions: 2, clock: () => T0 });
    expect(stats.record({ version: "junk1", ok: "yes" as unknown as boolean })).toBe(false);
    expect(stats.record({ version: "junk2", ok: true, latencyMs: -1 })).toBe(false);
    expect(stats.record({ version: "junk3", ok: true, client: 7 as unknown as string })).toBe(false);
    expect(stats.record({ version: "junk4", ok: true, count: 0 })).toBe(false);
    expect(stats.record({ version: "junk5", ok: true }, Number.NaN)).toBe(false);
    expect(stats.recordOutcome({ version: "junk6" }, { status: 1000 })).toBe(false);
    expect(stats.versions).toEqual([]);
    expect(stats.snapshot(T0).raw.versions).toEqual({});
    expect(stats.rejected()).toMatchObject({ invalid_ok: 1, invalid_latency: 1, invalid_client: 1, invalid_count: 1, invalid_time: 1, invalid_status: 1 });
    expect(stats.record({ version: "v1", ok: true })).toBe(true);
    expect(stats.recordOutcome({ version: "v2" }, { status: 200 })).toBe(true);
    expect(stats.versions).toEqual(["v1", "v2"]);
    expect(stats.record({ version: "v3", ok: true })).toBe(false);
    expect(stats.rejected().too_many_versions).toBe(1);
  });
});

describe("bad input is counted as rejected, never throws, never corrupts the numbers", () => {
  const throwing = Object.defineProperty({ ok: true }, "version", {
    get() {
      throw new Error("boom");
    },
  });
  const proxy = new Proxy(
    {},
    {
      get() {
        throw new Error("trap");
      },
    },
  );
  const cases: [string, unknown, RejectionReason, number?][] = [
    ["null", null, RejectionReason.InvalidSample],
    ["a number", 42, RejectionReason.InvalidSample],
    ["a string", "v1", RejectionReason.InvalidSample],
    ["an empty object", {}, RejectionReason.InvalidVersion],
    ["an array", [], RejectionReason.InvalidVersion],
    ["a numeric version", { version: 1, ok: true }, RejectionReason.InvalidVersion],
    ["__proto__ as version", JSON.parse('{"version":"__proto__","ok":true}'), RejectionReason.InvalidVersion],
    ["ok as a string", { version: "v1", ok: "yes" }, RejectionReason.InvalidOk],
    ["ok missing", { version: "v1" }, RejectionReason.InvalidOk],
    ["NaN latency", { version: "v1", ok: true, latencyMs: Number.NaN }, RejectionReason.InvalidLatency],
    ["negative latency", { version: "v1", ok: true, latencyMs: -1 }, RejectionReason.InvalidLatency],
    ["infinite latency", { version: "v1", ok: true, latencyMs: Number.POSITIVE_INFINITY }, RejectionReason.InvalidLatency],
    ["latency as a string", { version: "v1", ok: true, latencyMs: "5" }, RejectionReason.InvalidLatency],
    ["latency above 100,000,000 ms", { version: "v1", ok: true, latencyMs: 1e9 }, RejectionReason.InvalidLatency],
    ["a numeric client", { version: "v1", ok: true, client: 5 }, RejectionReason.InvalidClient],
    ["an object client", { version: "v1", ok: true, client: { id: 1 } }, RejectionReason.InvalidClient],
    ["a 1,025-character client", { version: "v1", ok: true, client: "x".repeat(1025) }, RejectionReason.InvalidClient],
    ["count 0", { version: "v1", ok: true, count: 0 }, RejectionReason.InvalidCount],
    ["count 1.5", { version: "v1", ok: true, count: 1.5 }, RejectionReason.InvalidCount],
    ["count -3", { version: "v1", ok: true, count: -3 }, RejectionReason.InvalidCount],
    ["count NaN", { version: "v1", ok: true, count: Number.NaN }, RejectionReason.InvalidCount],
    ["count 2^32", { version: "v1", ok: true, count: 2 ** 32 }, RejectionReason.InvalidCount],
    ["count as a string", { version: "v1", ok: true, count: "3" }, RejectionReason.InvalidCount],
    ["now NaN", { version: "v1", ok: true }, RejectionReason.InvalidTime, Number.NaN],
    ["now Infinity", { version: "v1", ok: true }, RejectionReason.InvalidTime, Number.POSITIVE_INFINITY],
    ["now as a string", { version: "v1", ok: true }, RejectionReason.InvalidTime, "soon" as unknown as number],
    ["a throwing getter", throwing, RejectionReason.InvalidSample],
    ["a throwing proxy", proxy, RejectionReason.InvalidSample],
  ];

  for (const [name, sample, reason, now] of cases) {
    it(`${name} → ${reason}`, () => {
      const stats = createStats({ clock: () => T0 });
      stats.record({ version: "v1", ok: true, latencyMs: 10, client: "a" }, T0);
      const before = stats.snapshot(T0);
      expect(stats.record(sample as StatsSample, now)).toBe(false);
      const after = stats.snapshot(T0);
      expect(after.rejected[reason]).toBe(1);
      expect(Object.values(after.rejected).reduce((a, b) => a + b, 0)).toBe(1);
      expect({ ...after, rejected: before.rejected }).toEqual(before);
    });
  }

  it("treats null optional fields as absent", () => {
    const stats = createStats({ clock: () => T0 });
    expect(stats.record({ version: "v1", ok: true, latencyMs: null, client: null, count: null })).toBe(true);
    expect(totals(stats, T0).lifetime).toMatchObject({ requests: 1, latency: null, clients: 0 });
  });

  it("takes a latency of -0 as 0 (no -0 in quantiles, max or snapshots; found by the property test)", () => {
    const stats = createStats({ clock: () => T0 });
    expect(stats.record({ version: "v1", ok: false, latencyMs: -0 })).toBe(true);
    expect(stats.recordOutcome({ version: "v1" }, { status: 200, durationMs: -0 })).toBe(true);
    const latency = totals(stats, T0).lifetime.latency;
    for (const value of Object.values(latency ?? {})) expect(Object.is(value, 0)).toBe(true);
    expect(JSON.stringify(stats.snapshot(T0))).not.toContain("-0,");
  });

  it("counts a clock that answers junk, or throws, as invalid_time", () => {
    let answer: unknown = Number.NaN;
    const stats = createStats({ clock: () => answer as number });
    expect(stats.record({ version: "v1", ok: true })).toBe(false);
    answer = () => 5;
    expect(stats.record({ version: "v1", ok: true })).toBe(false);
    const throwing = createStats({
      clock: () => {
        throw new Error("no clock");
      },
    });
    expect(throwing.record({ version: "v1", ok: true })).toBe(false);
    expect(stats.rejected().invalid_time).toBe(2);
    expect(throwing.rejected().invalid_time).toBe(1);
  });
});

describe("timestamps beyond a Date's range", () => {
  // Regression: a single sample at t = 1e300 was accepted, moved the ring's head to a slice index where s + 1 === s,
  // and every later snapshot() looped forever (out of memory); a snapshot with such an `at` did the same on parse.
  it("are rejected as invalid_time instead of hanging every later snapshot", () => {
    const stats = createStats({ versions: ["v1"], clock: () => T0 });
    stats.record({ version: "v1", ok: true, latencyMs: 5 }, T0);
    for (const t of [1e300, -1e300, 8.64e15 + 1, 2 ** 60, Number.MAX_VALUE]) {
      expect(stats.record({ version: "v1", ok: true }, t), String(t)).toBe(false);
      expect(stats.recordOutcome({ version: "v1" }, { status: 200 }, t), String(t)).toBe(false);
    }
    expect(stats.rejected().invalid_time).toBe(10);
    expect(stats.record({ version: "v1", ok: true }, 8.64e15)).toBe(true); // the last instant a Date can hold
    const far = createStats({ versions: ["v1"], clock: () => T0 });
    far.record({ version: "v1", ok: true }, T0);
    // A read at an impossible `now` falls back to the clock.
    expect(far.snapshot(1e300).at).toBe(T0);
    expect(far.window({ now: 1e300 }).to).toBe(T0);
    expect(far.migration(1e300)).toBeNull();
    expect(far.snapshot().lifetime.totals.requests).toBe(1);
  });

  it("in a clock's answer count as invalid_time", () => {
    const stats = createStats({ versions: ["v1"], clock: () => 1e300 });
    expect(stats.record({ version: "v1", ok: true })).toBe(false);
    expect(stats.rejected().invalid_time).toBe(1);
  });
});

describe("recordOutcome", () => {
  it("counts status ≥ 500 and errors as failures, lets ok override both, and records duration and client", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    const d = { version: "v2" };
    expect(stats.recordOutcome(d, { status: 200, durationMs: 10, client: "a" })).toBe(true);
    expect(stats.recordOutcome(d, { status: 404, durationMs: 20, client: "b" })).toBe(true);
    expect(stats.recordOutcome(d, { status: 503, durationMs: 30 })).toBe(true);
    expect(stats.recordOutcome(d, { error: new Error("reset") })).toBe(true);
    expect(stats.recordOutcome(d, { status: 500, ok: true })).toBe(true);
    expect(stats.recordOutcome(d, { status: 200, ok: false })).toBe(true);
    expect(stats.recordOutcome(d, {})).toBe(true);
    const v2 = stats.lifetime(T0).versions.v2!;
    expect(v2).toMatchObject({ requests: 7, errors: 3, clients: 2, latencyCount: 3, latencySumMs: 60 });
    expect(v2.latency?.max).toBe(30);
  });

  it("rejects junk decisions and outcomes", () => {
    const stats = createStats({ versions: ["v1"], clock: () => T0 });
    expect(stats.recordOutcome(null as never, {})).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, null as never)).toBe(false);
    expect(stats.recordOutcome({ version: "v9" }, {})).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, { status: "500" as never })).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, { status: 1000 })).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, { ok: "no" as never })).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, { durationMs: -5 })).toBe(false);
    expect(stats.recordOutcome({ version: "v1" }, { client: 7 as never })).toBe(false);
    expect(stats.rejected()).toMatchObject({
      invalid_sample: 2,
      unknown_version: 1,
      invalid_status: 2,
      invalid_ok: 1,
      invalid_latency: 1,
      invalid_client: 1,
    });
    expect(stats.lifetime(T0).totals.requests).toBe(0);
  });
});

describe("the sliding window", () => {
  function filled(): Stats {
    // One request per second for 10 minutes: slice s holds 10 requests.
    const stats = createStats({ versions: ["v1"], window: "5m", resolution: "10s", clock: () => T0 });
    for (let i = 0; i < 600; i++) stats.record({ version: "v1", ok: i % 10 !== 0, latencyMs: 10 }, T0 + i * SEC);
    return stats;
  }

  it("includes a slice only when its start is ≥ now − windowMs, ≥ since and ≤ now (never older data than asked)", () => {
    const stats = filled();
    const now = T0 + 599_500; // mid-slice
    const w = stats.window({ now });
    expect(w.from).toBe(T0 + 300_000); // ceil((now − 300 s) / 10 s) × 10 s
    expect(w.to).toBe(now);
    expect(w.totals.requests).toBe(300); // 29 whole slices + the current one (10 each)
    expect(stats.window({ now, windowMs: 60_000 })).toMatchObject({ from: T0 + 540_000, totals: { requests: 60 } });
    // since mid-slice: that slice may hold earlier data, so it is left out.
    expect(stats.window({ now, since: T0 + 575_000 })).toMatchObject({ from: T0 + 580_000, totals: { requests: 20 } });
    // since on a boundary: the slice starting there is in.
    expect(stats.window({ now, since: T0 + 570_000 })).toMatchObject({ from: T0 + 570_000, totals: { requests: 30 } });
    // since in the future: nothing.
    expect(stats.window({ now, since: now + 1 })).toMatchObject({ from: now, to: now, totals: { requests: 0 } });
    // windowMs above the window is capped; junk means the whole window.
    expect(stats.window({ now, windowMs: 10 ** 9 }).totals.requests).toBe(300);
    expect(stats.window({ now, windowMs: Number.NaN }).totals.requests).toBe(300);
    expect(stats.window({ now: now + 0.5 - 0.5, windowMs: 0 }).totals.requests).toBe(0);
  });

  it("on a slice boundary holds the whole window: N whole slices and the (empty) current one", () => {
    const stats = filled();
    const now = T0 + 600_000;
    expect(stats.window({ now })).toMatchObject({ from: T0 + 300_000, totals: { requests: 300, errors: 30 } });
    expect(stats.window({ now }).totals.errorRate).toBeCloseTo(0.1, 12);
  });

  it("slides: old slices leave the window but stay in the lifetime numbers", () => {
    const stats = filled();
    expect(stats.window({ now: T0 + 900_000 }).totals.requests).toBe(0);
    expect(stats.window({ now: T0 + 895_000 }).totals.requests).toBe(0);
    expect(stats.lifetime(T0 + 900_000).totals.requests).toBe(600);
    stats.record({ version: "v1", ok: true }, T0 + 3_600_000); // an hour later: the ring turns over entirely
    expect(totals(stats, T0 + 3_600_000)).toMatchObject({ lifetime: { requests: 601, errors: 60 }, window: { requests: 1 } });
  });

  it("puts late data in its own slice while the ring still holds it, and in the lifetime numbers only after that", () => {
    const stats = filled();
    stats.record({ version: "v1", ok: false, count: 5 }, T0 + 400_000); // 200 s late: still in the ring
    stats.record({ version: "v1", ok: false, count: 7 }, T0 + 100_000); // 500 s late: retired
    expect(stats.window({ now: T0 + 599_000, since: T0 + 400_000 })).toMatchObject({ totals: { requests: 205, errors: 25 } });
    expect(stats.lifetime(T0 + 599_000).totals).toMatchObject({ requests: 612, errors: 72 });
  });

  it("follows a virtual clock given only through `now` (an empty ring moves back to the first record)", () => {
    const stats = createStats({ versions: ["v1", "v2"], migration: { from: "v1", to: "v2", minRequests: 1 } }); // Date.now clock
    const virtual = 3_600_000; // 1970, long before the real clock
    stats.record({ version: "v2", ok: true, count: 1000 }, virtual);
    stats.record({ version: "v2", ok: true, count: 1000 }, virtual + 400_000);
    expect(stats.window({ now: virtual + 400_000 }).totals.requests).toBe(1000);
    expect(stats.lifetime(virtual + 400_000)).toMatchObject({ from: virtual, totals: { requests: 2000 } });
    expect(stats.migration(virtual + 400_000)?.complete).toBe(true);
  });

  it("reports shares and percentages per version", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    stats.record({ version: "v1", ok: true, count: 200 });
    stats.record({ version: "v2", ok: true, count: 800 });
    const w = stats.window();
    expect(w.versions.v1?.share).toBe(0.2);
    expect(w.versions.v2?.share).toBe(0.8);
    expect(w.totals.share).toBe(1);
    expect(w.versionPercentages).toEqual({ v1: 20, v2: 80 });
    expect(stats.snapshot().versionPercentages).toEqual({ v1: 20, v2: 80 });
    expect(createStats({ versions: ["v1", "v2"] }).window().versionPercentages).toEqual({ v1: 0, v2: 0 });
  });
});

describe("migration progress", () => {
  // Window 1 min in 10 s slices: the examined span is [(⌊now/10s⌋ − 6) × 10 s, now].
  function stats(minRequests = 10, startedAt = T0): Stats {
    return createStats({
      versions: ["v1", "v2", "v3"],
      window: "1m",
      resolution: "10s",
      migration: { from: "v1", to: "v2", minRequests },
      clock: () => startedAt,
    });
  }

  it("is null (and migrationComplete false) without a migration", () => {
    const plain = createStats({ clock: () => T0 });
    expect(plain.migration()).toBeNull();
    expect(plain.snapshot()).toMatchObject({ migration: null, migrationComplete: false });
  });

  it("starts at its first sample also when that sample is less than one window before its clock (was: window_not_observed)", () => {
    const s = stats(10, T0 + 60_000); // created one window after the data begins
    s.record({ version: "v2", ok: true, count: 100 }, T0); // 60 s before the clock: inside the window
    expect(s.lifetime(T0 + 60_000).from).toBe(T0);
    expect(s.snapshot(T0 + 60_000).startedAt).toBe(T0);
    expect(s.migration(T0 + 60_000)).toMatchObject({ complete: true, reason: MigrationReason.Complete, since: T0 });
    // The same data a whole hour before the clock was already followed: both cases agree.
    const far = stats(10, T0 + 3_600_000);
    far.record({ version: "v2", ok: true, count: 100 }, T0);
    expect(far.lifetime(T0 + 60_000).from).toBe(T0);
    expect(far.migration(T0 + 60_000)).toMatchObject({ complete: true, since: T0 });
    // Only the first sample moves the start: a later, earlier one does not.
    const s2 = stats(10, T0 + 30_000);
    s2.record({ version: "v2", ok: true }, T0 + 20_000);
    s2.record({ version: "v2", ok: true }, T0 + 10_000);
    expect(s2.lifetime().from).toBe(T0 + 20_000);
    // A first sample in the creation slice, a moment before the clock, also counts; one after it does not move the start.
    const same = stats(10, T0 + 5_000);
    same.record({ version: "v2", ok: true }, T0 + 1_000);
    expect(same.lifetime().from).toBe(T0 + 1_000);
    const later = stats(10, T0);
    later.record({ version: "v2", ok: true }, T0 + 30_000);
    expect(later.lifetime(T0 + 30_000).from).toBe(T0);
  });

  it("needs a whole observed window: not complete before one has passed since start", () => {
    const s = stats();
    s.record({ version: "v2", ok: true, count: 100 }, T0);
    expect(s.migration(T0 + 59_999)).toMatchObject({ complete: false, reason: MigrationReason.NotObserved, since: T0 - 10_000 });
    expect(s.migration(T0 + 60_000)).toMatchObject({ complete: true, reason: MigrationReason.Complete, since: T0, requests: 100 });
  });

  it("is not complete while `from` had a request in the oldest whole slice, and becomes complete when it slides out", () => {
    const s = stats();
    s.record({ version: "v1", ok: true }, T0 + 10_000 + 9_999); // last ms of slice T0+10s
    s.record({ version: "v2", ok: true, count: 50 }, T0 + 30_000);
    expect(s.migration(T0 + 79_999)).toMatchObject({ complete: false, reason: MigrationReason.FromTraffic, fromRequests: 1, since: T0 + 10_000 });
    expect(s.migration(T0 + 80_000)).toMatchObject({ complete: true, fromRequests: 0, toRequests: 50, since: T0 + 20_000, progress: 1 });
  });

  it("is not complete when `from` has a request in the current, partial slice", () => {
    const s = stats();
    s.record({ version: "v2", ok: true, count: 50 }, T0 + 65_000);
    expect(s.migration(T0 + 65_000)?.complete).toBe(true);
    s.record({ version: "v1", ok: true }, T0 + 66_000);
    expect(s.migration(T0 + 66_000)).toMatchObject({ complete: false, reason: MigrationReason.FromTraffic });
  });

  it("needs at least minRequests requests (any version) in the span", () => {
    const s = stats(10);
    s.record({ version: "v2", ok: true, count: 6 }, T0 + 65_000);
    s.record({ version: "v3", ok: true, count: 3 }, T0 + 65_000);
    expect(s.migration(T0 + 65_000)).toMatchObject({ complete: false, reason: MigrationReason.TooFewRequests, requests: 9 });
    s.record({ version: "v3", ok: true }, T0 + 65_000);
    expect(s.migration(T0 + 65_000)).toMatchObject({ complete: true, requests: 10, toRequests: 6, progress: 0.6 });
    const none = stats(0);
    expect(none.migration(T0 + 60_000)?.complete).toBe(true); // nothing left to migrate, and nothing required
  });

  it("is not complete at a `now` whose span reaches slices already folded away (regression: a clock stepping back made it complete)", () => {
    const s = stats(10);
    s.record({ version: "v1", ok: true }, T0 + 5_000); // slice T0
    s.record({ version: "v2", ok: true, count: 100 }, T0 + 30_000);
    s.record({ version: "v2", ok: true, count: 100 }, T0 + 75_000); // the newest slice is T0+70s: slice T0 is folded away
    expect(s.migration(T0 + 75_000)).toMatchObject({ complete: true, since: T0 + 10_000 });
    // 13 s earlier the span starts at T0 and holds the v1 request, which can no longer be seen: not complete.
    expect(s.migration(T0 + 62_000)).toMatchObject({ complete: false, reason: MigrationReason.NotObserved, since: T0 });
    expect(s.snapshot(T0 + 62_000).migrationComplete).toBe(false);
  });

  it("reports the figures in the snapshot, as the seed's get_migration_stats needs them", () => {
    const s = stats(100);
    for (let i = 0; i < 1000; i++) s.record({ version: i < 200 ? "v1" : "v2", ok: true, client: `user-${i}` }, T0 + 1000);
    const snap = s.snapshot(T0 + 1000);
    expect({ total_clients: snap.totalClients, version_percentages: snap.versionPercentages, migration_complete: snap.migrationComplete }).toEqual({
      total_clients: 1000,
      version_percentages: { v1: 20, v2: 80, v3: 0 },
      migration_complete: false,
    });
  });
});

describe("per-version error rates (regression: a planted bug divided by all versions' requests, unseen with one version)", () => {
  it("gives each version its own errors over its own requests, in the window and the lifetime", () => {
    const stats = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    // v1: 300 requests, 3 errors; v2: 100 requests, 20 errors. Expected rates computed here, not by the stats.
    for (let i = 0; i < 300; i++) stats.record({ version: "v1", ok: i % 100 !== 0 }, T0 + i);
    for (let i = 0; i < 100; i++) stats.record({ version: "v2", ok: i % 5 !== 0 }, T0 + i);
    for (const view of [stats.window({ now: T0 + 1_000 }), stats.lifetime(T0 + 1_000)]) {
      expect(view.versions.v1).toMatchObject({ requests: 300, errors: 3, errorRate: 3 / 300 });
      expect(view.versions.v2).toMatchObject({ requests: 100, errors: 20, errorRate: 20 / 100 });
      expect(view.totals).toMatchObject({ requests: 400, errors: 23, errorRate: 23 / 400 });
    }
  });
});

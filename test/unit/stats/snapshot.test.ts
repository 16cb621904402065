import { describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import { collectMetrics } from "../../../src/stats/exposition.js";
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMATS,
  createStats,
  emptySnapshot,
  mergeSnapshots,
  parseSnapshot,
  readSnapshot,
  type Stats,
  type StatsSnapshot,
} from "../../../src/stats/index.js";
import { seeded } from "./helpers.js";

const T0 = 1_700_000_000_000;

function problemsOf(run: () => unknown): { code: string; path: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TurnoutConfigError);
    return (error as TurnoutConfigError).problems.map(({ code, path }) => ({ code, path }));
  }
  throw new Error("expected a TurnoutConfigError");
}

/** Some traffic over 8 minutes (the window is 5): retired data, ring slices, errors, clients, latencies. */
function feed(stats: Stats, seed: number, start: number): Stats {
  const rng = seeded(seed);
  for (let i = 0; i < 5000; i++) {
    stats.record(
      {
        version: rng() < 0.3 ? "v2" : "v1",
        ok: rng() > 0.02,
        latencyMs: rng() < 0.95 ? 5 + rng() * 50 : undefined,
        client: `user-${Math.floor(rng() * 4000)}`,
      },
      start + Math.floor(rng() * 480_000),
    );
  }
  return stats;
}

function fresh(start = T0): Stats {
  return createStats({ versions: ["v1", "v2"], migration: { from: "v1", to: "v2", minRequests: 10 }, clock: () => start });
}

function busy(seed = 1): Stats {
  return feed(fresh(), seed, T0);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe("snapshots", () => {
  it("are plain JSON in a versioned format, and survive a JSON round trip unchanged", () => {
    const snapshot = busy().snapshot(T0 + 480_000);
    expect(snapshot.format).toBe(SNAPSHOT_FORMAT);
    expect(snapshot).toMatchObject({ at: T0 + 480_000, startedAt: T0, windowMs: 300_000, resolutionMs: 10_000, windowClientPrecision: 10 });
    expect(Object.keys(snapshot.raw.versions)).toEqual(["v1", "v2"]);
    const raw = snapshot.raw.versions.v1!;
    expect(raw.retired.requests).toBeGreaterThan(0);
    expect(raw.slices.length).toBeGreaterThan(0);
    expect(raw.slices.every((slice, i, all) => i === 0 || slice.index > all[i - 1]!.index)).toBe(true);
    expect(raw.slices[0]!.index).toBeGreaterThanOrEqual(Math.floor((T0 + 480_000) / 10_000) - 30);
    expect(clone(snapshot)).toEqual(snapshot);
    expect(parseSnapshot(clone(snapshot))).toEqual(snapshot);
    expect(mergeSnapshots(clone(snapshot))).toEqual(snapshot);
  });

  it("recompute every human-facing number from the raw state (edits to them never leak)", () => {
    const snapshot = busy().snapshot(T0 + 480_000);
    const edited = { ...clone(snapshot), totalClients: 1, versionPercentages: { v1: 100 }, migrationComplete: true };
    expect(parseSnapshot(edited)).toEqual(snapshot);
  });

  it("from N instances merge into what one instance that saw everything would report", () => {
    const whole = createStats({ versions: ["v1", "v2"], clock: () => T0 });
    const parts = [0, 1, 2, 3].map((i) => createStats({ versions: ["v1", "v2"], clock: () => T0 + i * 1234 }));
    const rng = seeded(9);
    for (let i = 0; i < 20_000; i++) {
      const sample = { version: rng() < 0.1 ? "v2" : "v1", ok: rng() > 0.01, latencyMs: rng() * 100, client: `c${Math.floor(rng() * 5000)}` };
      const t = T0 + 5000 + i * 30;
      whole.record(sample, t);
      parts[Math.floor(rng() * 4)]!.record(sample, t);
    }
    const at = T0 + 5000 + 20_000 * 30;
    const merged = mergeSnapshots(...parts.map((p) => p.snapshot(at)));
    const expected = whole.snapshot(at);
    expect(merged).toEqual({ ...expected, startedAt: T0 });
    // Order and grouping do not matter.
    const [a, b, c, d] = parts.map((p) => p.snapshot(at)) as [StatsSnapshot, StatsSnapshot, StatsSnapshot, StatsSnapshot];
    expect(mergeSnapshots(mergeSnapshots(d, b), mergeSnapshots(c, a))).toEqual(merged);
  });

  it("line up slices on absolute time, whatever each instance's start and snapshot time", () => {
    const a = createStats({ versions: ["v1"], clock: () => T0 + 3_000 });
    const b = createStats({ versions: ["v1"], clock: () => T0 + 7_000 });
    a.record({ version: "v1", ok: true }, T0 + 9_999);
    b.record({ version: "v1", ok: false }, T0 + 7_000);
    b.record({ version: "v1", ok: true }, T0 + 10_000);
    const merged = mergeSnapshots(a.snapshot(T0 + 12_000), b.snapshot(T0 + 15_000));
    expect(merged.at).toBe(T0 + 15_000);
    expect(merged.startedAt).toBe(T0 + 3_000);
    expect(merged.raw.versions.v1!.slices.map(({ index, requests, errors }) => ({ index, requests, errors }))).toEqual([
      { index: T0 / 10_000, requests: 2, errors: 1 },
      { index: T0 / 10_000 + 1, requests: 1, errors: 0 },
    ]);
  });

  it("fold slices that are older than the merged window into the retired totals", () => {
    const old = createStats({ versions: ["v1"], clock: () => T0 });
    old.record({ version: "v1", ok: false, latencyMs: 5 }, T0);
    const recent = createStats({ versions: ["v1"], clock: () => T0 });
    recent.record({ version: "v1", ok: true, latencyMs: 7 }, T0 + 600_000);
    const merged = mergeSnapshots(old.snapshot(T0), recent.snapshot(T0 + 600_000));
    expect(merged.raw.versions.v1!.retired).toMatchObject({ requests: 1, errors: 1 });
    expect(merged.raw.versions.v1!.slices).toHaveLength(1);
    expect(merged.lifetime.totals).toMatchObject({ requests: 2, errors: 1, latency: { max: 7 } });
    expect(merged.window.totals).toMatchObject({ requests: 1, errors: 0 });
  });

  it("have the empty snapshot as identity, whatever the window", () => {
    const empty = emptySnapshot();
    expect(empty).toMatchObject({ at: null, startedAt: null, totalClients: 0, migrationComplete: false, raw: { versions: {} } });
    expect(mergeSnapshots()).toEqual(empty);
    expect(mergeSnapshots(empty, empty)).toEqual(empty);
    const minute = createStats({ window: "1m", resolution: "1s", clock: () => T0 });
    minute.record({ version: "v1", ok: true, client: "x" });
    const s = minute.snapshot();
    expect(mergeSnapshots(empty, s)).toEqual(s);
    expect(mergeSnapshots(s, empty)).toEqual(s);
    expect(parseSnapshot(clone(empty))).toEqual(empty);
  });

  it("of instances with different windows or migrations do not merge", () => {
    const five = createStats({ clock: () => T0 }).snapshot();
    const one = createStats({ window: "1m", clock: () => T0 }).snapshot();
    expect(problemsOf(() => mergeSnapshots(five, one))).toEqual([{ code: "conflict", path: "[1].windowMs" }]);
    const m1 = createStats({ migration: { from: "v1", to: "v2" }, clock: () => T0 }).snapshot();
    const m2 = createStats({ migration: { from: "v1", to: "v3" }, clock: () => T0 }).snapshot();
    expect(problemsOf(() => mergeSnapshots(m1, m2))).toEqual([{ code: "conflict", path: "[1].migration" }]);
    expect(mergeSnapshots(m1, five).migration).toMatchObject({ from: "v1", to: "v2" }); // no migration is neutral
  });

  it("are validated like a configuration: every problem, with its path", () => {
    const good = clone(busy().snapshot(T0 + 480_000)) as unknown as Record<string, unknown>;
    expect(problemsOf(() => parseSnapshot(null))).toEqual([{ code: "type", path: "" }]);
    expect(problemsOf(() => parseSnapshot({ ...good, format: "turnout.stats/3" }))).toEqual([{ code: "invalid_value", path: "format" }]);
    expect(problemsOf(() => mergeSnapshots(good as never, { ...good, at: "now", windowMs: 7 } as never))).toEqual([
      { code: "type", path: "[1].at" },
      { code: "invalid_value", path: "[1].windowMs" },
    ]);

    const raw = clone(good.raw) as { versions: Record<string, Record<string, unknown>> };
    const v1 = raw.versions.v1 as { retired: Record<string, unknown>; clients: unknown; slices: Record<string, unknown>[] };
    v1.retired.errors = (v1.retired.requests as number) + 1;
    v1.clients = { hashes: "not base64!" };
    v1.slices[0]!.requests = -1;
    v1.slices[1]!.latency = { ...(v1.slices[1]!.latency as object), bins: "////" };
    v1.slices[2]!.index = v1.slices[1]!.index;
    v1.slices[3]!.clients = { registers: "AAAA" };
    raw.versions = JSON.parse(`{"__proto__": {}, "bad name": {}, "v1": ${JSON.stringify(v1)}}`) as typeof raw.versions;
    expect(problemsOf(() => parseSnapshot({ ...good, raw, rejected: { invalid_ok: -2, sneaky: 1 } }))).toEqual([
      { code: "unknown_field", path: "rejected.sneaky" },
      { code: "negative", path: "rejected.invalid_ok" },
      { code: "forbidden_key", path: "raw.versions.__proto__" },
      { code: "invalid_name", path: 'raw.versions["bad name"]' },
      { code: "out_of_range", path: "raw.versions.v1.retired.errors" },
      { code: "invalid_value", path: "raw.versions.v1.clients" },
      { code: "negative", path: "raw.versions.v1.slices[0].requests" },
      { code: "invalid_value", path: "raw.versions.v1.slices[1].latency.bins" },
      { code: "invalid_value", path: "raw.versions.v1.slices[2].index" },
      { code: "invalid_value", path: "raw.versions.v1.slices[3].clients" },
    ]);
  });

  it("say which part has the wrong type: the window's figures, a latency, its bins, a version's slices", () => {
    const good = clone(busy().snapshot(T0 + 480_000)) as unknown as Record<string, unknown>;
    for (const [field, value] of [
      ["windowMs", "300000"],
      ["resolutionMs", null],
    ] as const) {
      expect(
        problemsOf(() => parseSnapshot({ ...good, [field]: value })),
        field,
      ).toEqual([{ code: "type", path: "windowMs" }]);
    }
    const raw = clone(good.raw) as { versions: Record<string, { slices: unknown; retired: Record<string, unknown> }> };
    const v1 = raw.versions.v1!;
    v1.retired.latency = { ...(v1.retired.latency as object), bins: 7 };
    (raw.versions.v2 as { retired: Record<string, unknown> }).retired.latency = "fast";
    v1.slices = { 0: {} };
    expect(problemsOf(() => parseSnapshot({ ...good, raw }))).toEqual([
      { code: "type", path: "raw.versions.v1.retired.latency.bins" },
      { code: "type", path: "raw.versions.v1.slices" },
      { code: "type", path: "raw.versions.v2.retired.latency" },
    ]);
  });

  it("refuse an `at` or `startedAt` beyond a Date's range (regression: parsing one looped forever)", () => {
    const s = clone(busy().snapshot(T0 + 480_000));
    expect(problemsOf(() => parseSnapshot({ ...s, at: 1e300, startedAt: -1e300 }))).toEqual([
      { code: "out_of_range", path: "at" },
      { code: "out_of_range", path: "startedAt" },
    ]);
    expect(problemsOf(() => mergeSnapshots(s, { ...s, at: 2 ** 60 }))).toEqual([{ code: "out_of_range", path: "[1].at" }]);
  });

  it("read back a latency sum beyond 2^53 µs (regression: a long-lived instance's own snapshot was refused)", () => {
    // 100 days at 10,000 req/s of 100 ms pass 2^53 µs; one sample of the largest count and latency does it at once.
    const long = createStats({ versions: ["v1"], clock: () => T0 });
    for (let day = 0; day < 110; day++) long.record({ version: "v1", ok: true, latencyMs: 100, count: 864_000_000 }, T0 + day * 86_400_000);
    const snapshot = long.snapshot(T0 + 110 * 86_400_000);
    expect(snapshot.raw.versions.v1!.retired.latency!.sumUs).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(parseSnapshot(clone(snapshot))).toEqual(snapshot);
    expect(mergeSnapshots(clone(snapshot), clone(snapshot)).lifetime.totals.latencyCount).toBe(2 * 110 * 864_000_000);
    const huge = createStats({ versions: ["v1"], clock: () => T0 });
    huge.record({ version: "v1", ok: true, latencyMs: 100_000_000, count: 4_294_967_295 }, T0);
    expect(parseSnapshot(clone(huge.snapshot(T0))).lifetime.totals.latencySumMs).toBe(4_294_967_295 * 100_000_000);
    // Still bounded: more than every request at the largest latency is refused.
    const bad = clone(huge.snapshot(T0)) as unknown as { raw: { versions: { v1: { slices: { latency: { sumUs: number } }[] } } } };
    bad.raw.versions.v1.slices[0]!.latency.sumUs = 1e300;
    expect(problemsOf(() => parseSnapshot(bad))).toEqual([{ code: "out_of_range", path: "raw.versions.v1.slices[0].latency.sumUs" }]);
  });

  it("refuse an `at: null` snapshot that carries data (only the empty snapshot may)", () => {
    const s = clone(busy().snapshot(T0 + 480_000));
    expect(problemsOf(() => parseSnapshot({ ...s, at: null }))).toEqual([{ code: "invalid_value", path: "at" }]);
  });
});

describe("window client precision in snapshots", () => {
  function at(p: 10 | 11 | 12 | 13 | 14, seed = 1): Stats {
    return feed(createStats({ versions: ["v1", "v2"], windowClientPrecision: p, clock: () => T0 }), seed, T0);
  }

  /** Some slices past every precision's exact limit, so that they hold registers. */
  function crowd(stats: Stats): Stats {
    for (let i = 0; i < 4000; i++) stats.record({ version: "v1", ok: true, client: `crowd-${i}` }, T0 + 470_000);
    for (let i = 0; i < 300; i++) stats.record({ version: "v2", ok: true, client: `crowd-${i}` }, T0 + 460_000);
    return stats;
  }

  it("is recorded: turnout.stats/1 at 10 (the default, as before), turnout.stats/2 above", () => {
    expect(SNAPSHOT_FORMATS).toEqual(["turnout.stats/1", "turnout.stats/2"]);
    for (const p of [10, 11, 12, 13, 14] as const) {
      const snapshot = crowd(at(p)).snapshot(T0 + 480_000);
      expect(snapshot).toMatchObject({ format: p === 10 ? "turnout.stats/1" : "turnout.stats/2", windowClientPrecision: p });
      const dense = snapshot.raw.versions.v1!.slices.at(-1)!.clients as { registers: string };
      expect(dense.registers.length).toBe(Math.ceil(2 ** p / 3) * 4);
      expect(parseSnapshot(clone(snapshot))).toEqual(snapshot);
      expect(readSnapshot(clone(snapshot)).window()).toEqual(snapshot.window);
    }
  });

  it("reads a turnout.stats/1 snapshot without the field (from a release before it) as precision 10", () => {
    const snapshot = clone(crowd(at(10)).snapshot(T0 + 480_000)) as unknown as Record<string, unknown>;
    const { windowClientPrecision, ...old } = snapshot;
    expect(windowClientPrecision).toBe(10);
    expect(parseSnapshot(old)).toEqual(snapshot);
    expect(mergeSnapshots(old as never, clone(crowd(at(14, 2)).snapshot(T0 + 480_000))).windowClientPrecision).toBe(10);
  });

  it("is validated with the format: every problem, with its path", () => {
    const s10 = clone(crowd(at(10)).snapshot(T0 + 480_000));
    const s12 = clone(crowd(at(12)).snapshot(T0 + 480_000));
    expect(problemsOf(() => parseSnapshot({ ...s10, windowClientPrecision: 14 }))).toEqual([{ code: "invalid_value", path: "windowClientPrecision" }]);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: undefined }))).toEqual([{ code: "required", path: "windowClientPrecision" }]);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: 15 }))).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: 9 }))).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: 12.5 }))).toEqual([{ code: "out_of_range", path: "windowClientPrecision" }]);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: "12" }))).toEqual([{ code: "type", path: "windowClientPrecision" }]);
    expect(problemsOf(() => mergeSnapshots(s10, { ...s12, windowClientPrecision: null } as never))).toEqual([
      { code: "type", path: "[1].windowClientPrecision" },
    ]);
    // A /2 snapshot at 10 is accepted (and written back as /1).
    expect(parseSnapshot({ ...s10, format: "turnout.stats/2" })).toEqual(s10);
    // The slices' sketches must match the precision the snapshot declares.
    const v1 = s12.raw.versions.v1!.slices;
    const dense = v1.findIndex((slice) => "registers" in slice.clients);
    expect(dense).toBe(v1.length - 1);
    expect(problemsOf(() => parseSnapshot({ ...s12, windowClientPrecision: 13 }))).toEqual([
      { code: "invalid_value", path: `raw.versions.v1.slices[${dense}].clients` },
    ]);
    // At 10, the 300 exact hashes of v2's crowded slice are too many (at most 192) as well.
    const v2 = s12.raw.versions.v2!.slices;
    const crowded = v2.findIndex((slice) => slice.index === Math.floor((T0 + 460_000) / 10_000));
    expect(problemsOf(() => parseSnapshot({ ...s12, format: "turnout.stats/1", windowClientPrecision: 10 }))).toEqual([
      { code: "invalid_value", path: `raw.versions.v1.slices[${dense}].clients` },
      { code: "invalid_value", path: `raw.versions.v2.slices[${crowded}].clients` },
    ]);
  });

  it("at any precision are accepted by the Prometheus exposition", () => {
    for (const p of [10, 14] as const) {
      const snapshot = clone(crowd(at(p)).snapshot(T0 + 480_000));
      const families = collectMetrics({ stats: snapshot });
      const windowClients = families.find((f) => f.name === "turnout_window_clients")!;
      expect(windowClients.samples.find((x) => x.labels.version === "v1")!.value).toBe(snapshot.window.versions.v1!.clients);
    }
  });

  it("of different precisions merge down to the lowest, as one instance at that precision would hold", () => {
    const whole = (p: 10 | 11 | 12 | 13 | 14) => crowd(feed(at(p, 7), 8, T0));
    const parts = [crowd(at(14, 7)), feed(createStats({ versions: ["v1", "v2"], windowClientPrecision: 11, clock: () => T0 }), 8, T0)];
    const merged = mergeSnapshots(...parts.map((p) => clone(p.snapshot(T0 + 480_000))));
    expect(merged).toMatchObject({ format: "turnout.stats/2", windowClientPrecision: 11 });
    expect(merged.raw).toEqual(whole(11).snapshot(T0 + 480_000).raw);
    expect(merged).toEqual({ ...whole(11).snapshot(T0 + 480_000) });
    // Down to 10: back to turnout.stats/1.
    const ten = mergeSnapshots(merged, clone(createStats({ clock: () => T0 }).snapshot(T0 + 480_000)));
    expect(ten).toMatchObject({ format: "turnout.stats/1", windowClientPrecision: 10 });
    expect(ten.raw).toEqual(whole(10).snapshot(T0 + 480_000).raw);
    // The lifetime sketches are precision 14 whatever the window's: merging down leaves them alone.
    expect(ten.lifetime.versions).toEqual(whole(14).snapshot(T0 + 480_000).lifetime.versions);
  });
});

describe("readSnapshot", () => {
  it("answers window and migration queries on a merged fleet view as one instance that saw everything would", () => {
    const whole = feed(feed(fresh(), 4, T0), 5, T0);
    const parts = [feed(fresh(), 4, T0), feed(fresh(), 5, T0)];
    const at = T0 + 480_000;
    const fleet = readSnapshot(mergeSnapshots(...parts.map((p) => p.snapshot(at))));
    for (const query of [{}, { since: T0 + 400_000 }, { since: T0 + 395_001 }, { windowMs: 60_000 }, { now: at - 30_000, windowMs: 100_000 }]) {
      expect(fleet.window(query)).toEqual(whole.window({ now: at, ...query }));
    }
    expect(fleet.migration()).toEqual(whole.migration(at));
    expect(fleet.migration(at + 1000)).toEqual(whole.migration(at + 1000));
    expect(fleet.lifetime()).toEqual(whole.lifetime(at));
    expect(fleet.snapshot).toEqual(whole.snapshot(at));
  });

  it("validates its input", () => {
    expect(problemsOf(() => readSnapshot({ format: "nope" } as never))).toEqual([{ code: "invalid_value", path: "format" }]);
  });
});

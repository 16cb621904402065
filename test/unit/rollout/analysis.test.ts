import { describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import { evaluateHealth } from "../../../src/rollout/index.js";
import type { VersionStats, WindowSummary } from "../../../src/types.js";

const versions = { stable: "v1", canary: "v2" };

function version(requests: number, errors: number, p99: number | null = 100): VersionStats {
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : 0,
    latency: p99 === null ? null : { p50: p99 / 4, p95: p99 / 2, p99, max: p99 * 2 },
    clients: 0,
    share: 0,
  };
}

function summary(stable: VersionStats | undefined, canary: VersionStats | undefined): WindowSummary {
  const list: Record<string, VersionStats> = {};
  if (stable) list.v1 = stable;
  if (canary) list.v2 = canary;
  return { from: 1_000, to: 301_000, versions: list, totals: version(0, 0, null) };
}

describe("evaluateHealth", () => {
  it("a check on no canary traffic never passes, even with minRequests: 0 (it used to pass on zero requests)", () => {
    const spec = { minRequests: 0, maxErrorRate: 5, maxErrorRateIncrease: 1, maxP99Ms: 500 };
    const health = evaluateHealth(summary(version(500, 0), version(0, 0, null)), versions, spec);
    expect(health.verdict).toBe("inconclusive");
    expect(health.checks.every((check) => check.outcome === "inconclusive")).toBe(true);
    expect(evaluateHealth(summary(version(500, 0), version(1, 0)), versions, spec).verdict).toBe("pass");
  });

  it("passes a canary within every limit and reports the figures", () => {
    const health = evaluateHealth(summary(version(9000, 90, 200), version(1000, 12, 210)), versions, {
      maxErrorRate: 5,
      maxErrorRateIncrease: 1,
      maxP99Ms: 500,
      maxP99Ratio: 1.5,
    });
    expect(health.verdict).toBe("pass");
    expect(health.canary).toEqual({ requests: 1000, errors: 12, errorPercent: 1.2, p99Ms: 210 });
    expect(health.stable).toEqual({ requests: 9000, errors: 90, errorPercent: 1, p99Ms: 200 });
    expect(health.checks.map((c) => c.outcome)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(health.from).toBe(1_000);
    expect(health.to).toBe(301_000);
  });

  it("fails an error rate 5 points above stable, naming the figures", () => {
    const health = evaluateHealth(summary(version(10_000, 100), version(1000, 60)), versions, { maxErrorRateIncrease: 1 });
    expect(health.verdict).toBe("fail");
    const check = health.checks[0];
    expect(check?.criterion).toBe("maxErrorRateIncrease");
    expect(check?.actual).toBeCloseTo(5, 9);
    expect(health.message).toContain("6%");
    expect(health.message).toContain("stable 1%");
  });

  it("fails a p99 three times the stable's", () => {
    const health = evaluateHealth(summary(version(10_000, 0, 100), version(1000, 0, 300)), versions, { maxP99Ratio: 2 });
    expect(health.verdict).toBe("fail");
    expect(health.checks[0]?.actual).toBe(3);
  });

  it("treats limits as inclusive, without float noise (5 of 100 is 5 %, not 5.000000000000001 %)", () => {
    const health = evaluateHealth(summary(version(1000, 0), version(100, 5)), versions, { maxErrorRate: 5, minRequests: 100 });
    expect(health.verdict).toBe("pass");
    expect(health.canary.errorPercent).toBe(5);
    const over = evaluateHealth(summary(version(1000, 0), version(100, 6)), versions, { maxErrorRate: 5, minRequests: 100 });
    expect(over.verdict).toBe("fail");
  });

  it("never fails on too few requests, even when every one of them failed", () => {
    const health = evaluateHealth(summary(version(10_000, 0), version(99, 99)), versions, { maxErrorRate: 5, minRequests: 100 });
    expect(health.verdict).toBe("inconclusive");
    expect(health.message).toContain("99 of the 100");
    expect(health.checks[0]?.actual).toBeNull();
  });

  it("is inconclusive when the canary has no traffic at all", () => {
    const health = evaluateHealth(summary(version(10_000, 0), undefined), versions, { maxErrorRate: 5 });
    expect(health.verdict).toBe("inconclusive");
    expect(health.canary).toEqual({ requests: 0, errors: 0, errorPercent: 0, p99Ms: null });
  });

  it("judges relative criteria only with a stable baseline of minRequests, but still fails on an absolute limit", () => {
    const health = evaluateHealth(summary(version(10, 0), version(1000, 200)), versions, { maxErrorRate: 5, maxErrorRateIncrease: 1 });
    expect(health.checks.map((c) => c.outcome)).toEqual(["fail", "inconclusive"]);
    expect(health.verdict).toBe("fail");
    const relativeOnly = evaluateHealth(summary(version(10, 0), version(1000, 200)), versions, { maxErrorRateIncrease: 1 });
    expect(relativeOnly.verdict).toBe("inconclusive");
    expect(relativeOnly.message).toContain("stable baseline");
  });

  it("is inconclusive on latency criteria when no latency was recorded", () => {
    const health = evaluateHealth(summary(version(1000, 0, 100), version(1000, 0, null)), versions, { maxP99Ms: 500, maxP99Ratio: 2 });
    expect(health.checks.map((c) => c.outcome)).toEqual(["inconclusive", "inconclusive"]);
  });

  it("skips relative criteria at 100 % (no stable traffic is left to compare with)", () => {
    const health = evaluateHealth(
      summary(undefined, version(1000, 30, 900)),
      versions,
      { maxErrorRate: 5, maxErrorRateIncrease: 1, maxP99Ratio: 1.1 },
      { weight: 100 },
    );
    expect(health.checks.map((c) => c.outcome)).toEqual(["pass", "skipped", "skipped"]);
    expect(health.verdict).toBe("pass");
  });

  it("compares a zero stable p99 without dividing by zero", () => {
    const zero = evaluateHealth(summary(version(1000, 0, 0), version(1000, 0, 0)), versions, { maxP99Ratio: 2 });
    expect(zero.verdict).toBe("pass");
    const worse = evaluateHealth(summary(version(1000, 0, 0), version(1000, 0, 5)), versions, { maxP99Ratio: 2 });
    expect(worse.verdict).toBe("fail");
    expect(worse.checks[0]?.actual).toBeNull();
    expect(() => JSON.stringify(worse)).not.toThrow();
  });

  it("reads junk from a hand-made reader as no data instead of throwing", () => {
    const junk = {
      from: Number.NaN,
      to: "later",
      versions: { v2: { requests: Number.NaN, errors: -5, latency: { p99: Number.POSITIVE_INFINITY } }, v1: null },
    } as unknown as WindowSummary;
    const health = evaluateHealth(junk, versions, { maxErrorRate: 5, maxP99Ms: 100 });
    expect(health.verdict).toBe("inconclusive");
    expect(health.canary).toEqual({ requests: 0, errors: 0, errorPercent: 0, p99Ms: null });
    expect(evaluateHealth(null as unknown as WindowSummary, versions, { maxErrorRate: 5 }).verdict).toBe("inconclusive");
    const proto = JSON.parse('{"from":0,"to":1,"versions":{"__proto__":{"requests":1e9,"errors":1e9}}}') as WindowSummary;
    expect(evaluateHealth(proto, { stable: "__proto__", canary: "constructor" }, { maxErrorRate: 5 }).verdict).toBe("inconclusive");
  });

  it("validates a bare analysis spec", () => {
    expect(() => evaluateHealth(summary(undefined, undefined), versions, { maxErrorRate: 500 })).toThrow(TurnoutConfigError);
  });
});

/**
 * Analysis providers: the plan's `providers` (validated with codes and paths), figures from a provider judged like
 * the stats' (no data is inconclusive, never failed), the runner asking a custom provider (synchronously or not),
 * a failing provider, and the simulator modelling a provider by its own traffic.
 */
import { describe, expect, it } from "vitest";
import { TurnoutConfigError } from "../../../src/errors.js";
import {
  type AnalysisProvider,
  type ProviderRequest,
  type RolloutEvent,
  type RolloutPlan,
  checkPlan,
  compilePlan,
  createRollout,
  evaluateFigures,
  simulateRollout,
} from "../../../src/rollout/index.js";
import { expandQuery } from "../../../src/rollout/prometheus.js";
import { VirtualTime } from "../../../src/rollout/virtual.js";
import { createRouter } from "../../../src/router/index.js";
import { createStats } from "../../../src/stats/index.js";

const T0 = 1_767_225_600_000;
const QUERIES = {
  requests: 'sum(increase(turnout_requests_total{version="{{version}}"}[{{window}}]))',
  errors: 'sum(increase(turnout_requests_total{version="{{version}}",outcome="error"}[{{window}}]))',
  p99Ms: 'max(turnout_request_duration_seconds{version="{{version}}",quantile="0.99"}) * 1000',
};
const promPlan: RolloutPlan = {
  providers: { prom: { type: "prometheus", url: "http://127.0.0.1:9090/", queries: QUERIES, timeout: "2s", retries: 1 } },
  analysis: { provider: "prom", window: "1m", interval: "30s", minRequests: 10, maxErrorRate: 5, maxP99Ms: 500 },
  steps: [
    { weight: 10, pause: "2m" },
    { weight: 50, pause: "2m" },
  ],
};

function codes(plan: unknown): string[] {
  return checkPlan(plan).map((p) => `${p.code} ${p.path}`);
}

describe("plan providers", () => {
  it("resolves a Prometheus provider with its defaults and the analysis's provider name", () => {
    const plan = compilePlan(promPlan);
    expect(plan.providers.prom).toEqual({ type: "prometheus", url: "http://127.0.0.1:9090", queries: QUERIES, timeoutMs: 2000, retries: 1 });
    expect(plan.steps[0]?.analysis?.provider).toBe("prom");
    expect(compilePlan({ ...promPlan, providers: { prom: { type: "prometheus", url: "http://p:9090", queries: QUERIES } } }).providers.prom).toMatchObject({
      timeoutMs: 5000,
      retries: 2,
    });
  });

  it("lists every problem of providers with codes and paths", () => {
    expect(
      codes({
        steps: [{ weight: 10, pause: "1m", analysis: { provider: "nope" } }],
        analysis: { provider: "prom", maxErrorRate: 5, maxP99Ratio: 2 },
        providers: {
          prom: { type: "prometheus", url: "ftp://x", queries: { requests: "up", p99: "x" }, retries: -1, extra: 1 },
          dd: { type: "datadog" },
          bare: { url: "http://x" },
          custom: { type: "custom", url: "http://x" },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        "required steps[0].analysis.provider",
        "invalid_url providers.prom.url",
        "negative providers.prom.retries",
        "unknown_field providers.prom.extra",
        "unknown_field providers.prom.queries.p99",
        "required providers.prom.queries.requests",
        "invalid_value providers.dd.type",
        "required providers.bare.type",
        "unknown_field providers.custom.url",
      ]),
    );
    expect(codes({ ...promPlan, providers: { prom: { type: "prometheus", url: "http://p", queries: { requests: QUERIES.requests } } } })).toEqual([
      "required providers.prom.queries.errors",
      "required providers.prom.queries.p99Ms",
    ]);
    expect(codes({ ...promPlan, providers: { prom: { type: "prometheus", url: "http://p", queries: { ...QUERIES, errors: "sum({{versoin}})" } } } })).toEqual([
      "invalid_value providers.prom.queries.errors",
      "required providers.prom.queries.errors",
    ]);
    expect(() => compilePlan({ ...promPlan, providers: {} })).toThrow(TurnoutConfigError);
  });

  it("takes {{version}} with spaces inside the braces, and refuses a query that selects no version", () => {
    const withQuery = (errors: string) => codes({ ...promPlan, providers: { prom: { type: "prometheus", url: "http://p", queries: { ...QUERIES, errors } } } });
    expect(withQuery('sum(x{version="{{ version }}"})')).toEqual([]);
    expect(withQuery('sum(x{version="{{version}}"})')).toEqual([]);
    expect(withQuery('sum(x{version="{{  version	}}"})')).toEqual([]);
    expect(withQuery('sum(x{version="v2"})')).toEqual(["required providers.prom.queries.errors"]);
    expect(withQuery('sum(x{version="{{ver sion}}"})')).toEqual(["invalid_value providers.prom.queries.errors", "required providers.prom.queries.errors"]);
  });

  it("fills in the placeholders: the window never reaches before the step began", () => {
    const request: ProviderRequest = {
      provider: "prom",
      stable: "v1",
      canary: "v2",
      from: T0 + 30_000,
      to: T0 + 90_000,
      stepStartedAt: T0 + 30_000,
      weight: 10,
      analysis: compilePlan(promPlan).steps[0]?.analysis as never,
    };
    expect(expandQuery('x{version="{{version}}",s="{{ stable }}",c="{{canary}}"}[{{window}}] @ {{stepStart}} {{now}}', request, "v2")).toBe(
      `x{version="v2",s="v1",c="v2"}[60s] @ ${(T0 + 30_000) / 1000} ${(T0 + 90_000) / 1000}`,
    );
  });
});

describe("evaluateFigures", () => {
  const analysis = { minRequests: 10, maxErrorRate: 5, maxErrorRateIncrease: 1, maxP99Ms: 300 };

  it("judges a provider's figures like the stats'", () => {
    const health = evaluateFigures({ canary: { requests: 100, errors: 8, p99Ms: 120 }, stable: { requests: 900, errors: 9, p99Ms: 110 } }, analysis);
    expect(health.verdict).toBe("fail");
    expect(health.canary).toEqual({ requests: 100, errors: 8, errorPercent: 8, p99Ms: 120 });
    expect(health.checks.map((c) => c.outcome)).toEqual(["fail", "fail", "pass"]);
  });

  it("says a counter's extrapolated figures (fractional, as PromQL's increase() gives them) rounded, not to 14 places", () => {
    const health = evaluateFigures(
      { canary: { requests: 101.70318725099601, errors: 2.5425796812749, p99Ms: 2.116947090156736 }, stable: { requests: 290.8366533864542, errors: 0 } },
      analysis,
    );
    expect(health.checks[0]?.message).toBe("canary error rate 2.5% within the maximum 5% (2.54/102)");
  });

  it("no data is inconclusive, never failed", () => {
    const none = evaluateFigures({ canary: { requests: null, errors: null, p99Ms: null }, stable: { requests: null } }, analysis);
    expect(none.verdict).toBe("inconclusive");
    const noErrors = evaluateFigures({ canary: { requests: 100, errors: null, p99Ms: 100 }, stable: { requests: 100, errors: 0, p99Ms: 100 } }, analysis);
    expect(noErrors.verdict).toBe("inconclusive");
    expect(noErrors.message).toBe("no data for the canary's errors");
    const junk = evaluateFigures({ canary: { requests: Number.NaN, errors: -1 }, stable: null } as never, analysis);
    expect(junk.verdict).toBe("inconclusive");
  });
});

describe("the runner with a provider", () => {
  const customPlan: RolloutPlan = {
    providers: { mine: { type: "custom" } },
    analysis: { provider: "mine", window: "1m", interval: "1m", minRequests: 10, maxErrorRate: 5 },
    steps: [
      { weight: 10, pause: "2m" },
      { weight: 50, pause: "2m" },
    ],
  };
  const setup = (provider: AnalysisProvider | undefined) => {
    const time = new VirtualTime(T0);
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
    const stats = createStats({ versions: ["v1", "v2"], clock: time.clock });
    const events: RolloutEvent[] = [];
    const requests: ProviderRequest[] = [];
    const rollout = createRollout(customPlan, {
      router,
      stats,
      clock: time.clock,
      timers: time,
      onEvent: (e) => events.push(e),
      ...(provider === undefined
        ? {}
        : {
            providers: {
              mine: (r: ProviderRequest) => {
                requests.push(r);
                return provider(r);
              },
            },
          }),
    });
    return { time, router, rollout, events, requests };
  };

  it("refuses a custom provider without its function", () => {
    try {
      setup(undefined);
      expect.unreachable();
    } catch (error) {
      expect((error as TurnoutConfigError).problems.map((p) => `${p.code} ${p.path}`)).toEqual(["required options.providers.mine"]);
    }
  });

  it("judges by the provider's figures alone, synchronously", () => {
    const { time, rollout, events, requests } = setup(() => ({ canary: { requests: 100, errors: 1 }, stable: { requests: 900, errors: 9 } }));
    rollout.start();
    time.advanceTo(T0 + 10 * 60_000);
    expect(rollout.status().phase).toBe("promoted");
    expect(events.filter((e) => e.type === "check").map((e) => e.health?.canary.errorPercent)).toEqual([1, 1, 1, 1]);
    expect(requests[0]).toMatchObject({ provider: "mine", stable: "v1", canary: "v2", from: T0, to: T0 + 60_000, stepStartedAt: T0, weight: 10 });
    rollout.stop();
  });

  it("aborts on the provider's failing figures, with a promise", async () => {
    const { time, rollout, router } = setup(async () => ({ canary: { requests: 100, errors: 30 }, stable: { requests: 900, errors: 9 } }));
    rollout.start();
    time.advanceTo(T0 + 60_000);
    await rollout.settled();
    expect(rollout.status().phase).toBe("aborted");
    expect(rollout.status().abortReason).toContain("canary error rate 30%");
    expect(router.canaryPercent).toBe(0);
  });

  it("a provider that throws makes the check inconclusive, with its message; the rollout pauses at the end of the hold", async () => {
    const { time, rollout } = setup(async () => {
      throw new Error("Prometheus answered 422: bad_data: parse error");
    });
    rollout.start();
    for (let t = 1; t <= 3; t++) {
      time.advanceTo(T0 + t * 60_000);
      await rollout.settled();
    }
    const status = rollout.status();
    expect(status.phase).toBe("paused");
    expect(status.pauseReason).toBe("inconclusive");
    expect(status.checks.failed).toBe(0);
    expect(status.lastHealth?.message).toBe('provider "mine" failed: Prometheus answered 422: bad_data: parse error');
    rollout.stop();
  });
});

describe("the simulator on a plan with a provider", () => {
  it("models the provider by the simulated traffic: a healthy canary is promoted, a failing one aborted", () => {
    const healthy = simulateRollout(promPlan, { requestsPerSecond: 100, canary: { errorPercent: 0.5, latencyMs: { p50: 40, p99: 200 } } });
    expect(healthy.outcome).toBe("promoted");
    const failing = simulateRollout(promPlan, { requestsPerSecond: 100, canary: { errorPercent: 20 } });
    expect(failing.outcome).toBe("aborted");
  });
});

describe("plan webhooks", () => {
  it("resolves webhooks with their defaults", () => {
    const plan = compilePlan({ steps: [{ weight: 10 }], webhooks: [{ name: "qa", type: "confirmPromotion", url: "http://qa/ok?x=1" }] });
    expect(plan.webhooks).toEqual([{ name: "qa", type: "confirmPromotion", url: "http://qa/ok?x=1", timeoutMs: 5000, retries: 2, metadata: {} }]);
    expect(compilePlan({ steps: [{ weight: 10 }] }).webhooks).toEqual([]);
  });

  it("lists every problem of webhooks with codes and paths", () => {
    expect(
      codes({
        steps: [{ weight: 10 }],
        webhooks: [
          { name: "qa", type: "confirm-promotion", url: "qa.internal" },
          { name: "qa", type: "rollback", url: "http://x", timeout: "soon", metadata: { a: 1 } },
          { type: "event", url: "http://x", retries: 11, extra: true },
          "http://x",
        ],
      }),
    ).toEqual([
      "invalid_value webhooks[0].type",
      "invalid_url webhooks[0].url",
      "duplicate webhooks[1].name",
      "invalid_duration webhooks[1].timeout",
      "type webhooks[1].metadata.a",
      "unknown_field webhooks[2].extra",
      "required webhooks[2].name",
      "out_of_range webhooks[2].retries",
      "type webhooks[3]",
    ]);
  });
});

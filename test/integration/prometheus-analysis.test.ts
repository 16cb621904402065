/**
 * Rollouts judged by PromQL alone, against a real Prometheus server (Debian's `prometheus`, started here on
 * 127.0.0.1 with a 1 s scrape interval) scraping real apps that expose turnout/prometheus: the healthy canary is
 * promoted, the failing one aborted. The rollouts' `stats` throw when read, so nothing but Prometheus judges.
 * Also: a query Prometheus rejects is reported with the query and Prometheus' message; an unreachable server is
 * retried, then inconclusive.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Health, type RolloutEvent, type RolloutPlan, type StatsReader, createRollout, prometheusProvider } from "../../src/index.js";
import { type App, drive, startApp } from "./prometheus/app.js";
import { type PrometheusServer, startPrometheus } from "./prometheus/server.js";

const noStats: StatsReader = {
  window: () => {
    throw new Error("the rollout must be judged by Prometheus alone");
  },
} as unknown as StatsReader;

function plan(url: string, job: string): RolloutPlan {
  const v = `job="${job}",version="{{version}}"`;
  return {
    name: job,
    providers: {
      prom: {
        type: "prometheus",
        url,
        timeout: "2s",
        retries: 1,
        queries: {
          requests: `sum(increase(turnout_requests_total{${v}}[{{window}}]))`,
          errors: `sum(increase(turnout_requests_total{${v},outcome="error"}[{{window}}]))`,
          p99Ms: `max(turnout_request_duration_seconds{${v},quantile="0.99"}) * 1000`,
        },
      },
    },
    analysis: { provider: "prom", window: "4s", interval: "2s", minRequests: 10, maxErrorRate: 5, maxErrorRateIncrease: 5, maxP99Ms: 1000 },
    steps: [
      { weight: 25, pause: "5s" },
      { weight: 50, pause: "5s" },
    ],
  };
}

interface Run {
  readonly events: RolloutEvent[];
  readonly done: Promise<string>;
}

function run(app: App, url: string): Run {
  const events: RolloutEvent[] = [];
  let finish: (phase: string) => void = () => undefined;
  const done = new Promise<string>((resolve) => {
    finish = resolve;
  });
  const rollout = createRollout(plan(url, app === healthy ? "healthy" : "failing"), {
    router: app.router,
    stats: noStats,
    onEvent: (event) => {
      events.push(event);
      if (event.type === "promoted" || event.type === "aborted" || event.type === "paused") {
        rollout.stop();
        finish(event.type);
      }
    },
  });
  rollout.start();
  return { events, done };
}

let prometheus: PrometheusServer;
let healthy: App;
let failing: App;
let traffic: { stop(): void };

beforeAll(async () => {
  healthy = await startApp(0);
  failing = await startApp(30);
  prometheus = await startPrometheus({ healthy: healthy.host, failing: failing.host });
  traffic = drive([healthy, failing], 200);
  // Two scrapes of each app before the rollouts begin, so that increase() has its first points.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent("count(up == 1)")}`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    if (Number(body.data.result[0]?.value[1] ?? 0) >= 2) break;
    if (Date.now() > deadline) throw new Error("Prometheus did not scrape the apps");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
}, 40_000);

afterAll(async () => {
  traffic?.stop();
  await prometheus?.stop();
  await healthy?.close();
  await failing?.close();
});

describe("a rollout judged by PromQL against a real Prometheus", () => {
  it("promotes the healthy canary and aborts the failing one", async () => {
    const started = Date.now();
    const good = run(healthy, prometheus.url);
    const bad = run(failing, prometheus.url);
    const [goodEnd, badEnd] = await Promise.all([good.done, bad.done]);
    const checks = (r: Run): Health[] => r.events.filter((e) => e.type === "check").map((e) => e.health as Health);
    const figures = (r: Run) => checks(r).map((h) => ({ verdict: h.verdict, canary: h.canary, stable: h.stable, message: h.message }));
    console.log(`PromQL-judged rollouts in ${Date.now() - started} ms`, JSON.stringify({ healthy: figures(good), failing: figures(bad) }, null, 1));

    expect(goodEnd).toBe("promoted");
    expect(healthy.router.canaryPercent).toBe(100);
    expect(checks(good).length).toBeGreaterThanOrEqual(2);
    for (const h of checks(good)) {
      expect(h.verdict).not.toBe("fail");
      if (h.verdict === "pass") expect(h.canary.requests).toBeGreaterThanOrEqual(10);
    }
    expect(checks(good).some((h) => h.verdict === "pass")).toBe(true);

    expect(badEnd).toBe("aborted");
    expect(failing.router.canaryPercent).toBe(0);
    const last = checks(bad).at(-1) as Health;
    expect(last.verdict).toBe("fail");
    expect(last.canary.errorPercent).toBeGreaterThan(20);
    expect(last.stable.errorPercent).toBe(0);
  }, 40_000);

  it("reports a query Prometheus rejects with the query and Prometheus' message, at once (no retry)", async () => {
    const calls = { v1: 0, v2: 0 };
    const provider = prometheusProvider({
      url: prometheus.url,
      queries: { requests: 'sum(rate(turnout_requests_total{version="{{version}}"}[{{window}}])' },
      retries: 3,
      fetch: (url, init) => {
        for (const version of ["v1", "v2"] as const) if (url.includes(encodeURIComponent(`"${version}"`))) calls[version] += 1;
        return fetch(url, init as RequestInit);
      },
    });
    const request = { provider: "prom", stable: "v1", canary: "v2", from: Date.now() - 5000, to: Date.now(), stepStartedAt: 0, weight: 10 } as const;
    const error = await Promise.resolve(provider({ ...request, analysis: {} as never })).then(
      () => undefined,
      (e: unknown) => e as Error & { query: string; status: number },
    );
    expect(error?.status).toBe(400);
    expect(error?.message).toMatch(/^Prometheus answered 400: bad_data: .*parse error/);
    // The stable's and the canary's queries go out together: the error names whichever Prometheus refused first,
    // with its placeholders filled in.
    expect(['sum(rate(turnout_requests_total{version="v1"}[5s])', 'sum(rate(turnout_requests_total{version="v2"}[5s])']).toContain(error?.query);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a retry, were there one
    expect(calls).toEqual({ v1: 1, v2: 1 }); // a 400 is final: neither query is retried
  });

  it("retries an unreachable server, then gives up with what happened", async () => {
    let calls = 0;
    const provider = prometheusProvider({
      url: "http://127.0.0.1:9", // discard port: nothing listens
      queries: { requests: 'up{version="{{version}}"}' },
      retries: 2,
      timeoutMs: 500,
      fetch: (url, init) => {
        if (url.includes(encodeURIComponent('"v2"'))) calls += 1;
        return fetch(url, init as RequestInit);
      },
    });
    const request = { provider: "prom", stable: "v1", canary: "v2", from: 0, to: 1000, stepStartedAt: 0, weight: 10 } as const;
    const error = await Promise.resolve(provider({ ...request, analysis: {} as never })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^Prometheus unreachable: /);
    expect(calls).toBe(3); // the canary's query: the first attempt and 2 retries
  });
});

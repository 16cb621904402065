/**
 * The public types of the rollout: the plan format (plain JSON), the machine's state (plain JSON), the health
 * verdicts, the events, and the runner's and simulator's options and results.
 */

import type { Duration } from "../internal/duration.js";
import type { Logger, Router, StatsReader } from "../types.js";

// ---------------------------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------------------------

/**
 * How the new version takes over.
 *
 * @example
 * ```ts
 * const plan: RolloutPlan = { strategy: RolloutStrategy.BlueGreen, steps: [{ weight: 0, pause: "manual" }] };
 * ```
 */
export const RolloutStrategy = {
  /** A ramp of weights (1 % → 5 % → 25 % → …), each held and analysed; then 100 %. */
  Canary: "canary",
  /** The new version at 0 % (preview, reachable by pinned and explicit traffic), then one atomic switch to 100 %. */
  BlueGreen: "blueGreen",
} as const;
/** One of the {@link RolloutStrategy} values. */
export type RolloutStrategy = (typeof RolloutStrategy)[keyof typeof RolloutStrategy];

/**
 * What an abort does to the canary's weight.
 *
 * @example
 * ```ts
 * const plan: RolloutPlan = { steps: [{ weight: 10, pause: "10m" }], rollback: RollbackMode.Stepped, rollbackInterval: "30s" };
 * ```
 */
export const RollbackMode = {
  /** The canary goes to 0 % at once (default). */
  Immediate: "immediate",
  /**
   * Back down through the weights of the steps already taken, one every `rollbackInterval`, then 0 %. An abort in
   * the rollback window after promotion still flips back to 0 % at once.
   */
  Stepped: "stepped",
} as const;
/** One of the {@link RollbackMode} values. */
export type RollbackMode = (typeof RollbackMode)[keyof typeof RollbackMode];

/**
 * What happens when a step's hold is over and the analysis could not reach a verdict (too few requests).
 *
 * @example
 * ```ts
 * const analysis: AnalysisSpec = { maxErrorRate: 5, onInconclusive: InconclusivePolicy.Continue };
 * ```
 */
export const InconclusivePolicy = {
  /** The rollout pauses (default); it continues by itself when a later check passes, or when an operator promotes. */
  Pause: "pause",
  /** The rollout moves on as if the check had passed. */
  Continue: "continue",
} as const;
/** One of the {@link InconclusivePolicy} values. */
export type InconclusivePolicy = (typeof InconclusivePolicy)[keyof typeof InconclusivePolicy];

/**
 * What happens after the last step.
 *
 * @example
 * ```ts
 * // A gradual rollout that stops at the last step's weight (no promotion to 100 %).
 * const plan: RolloutPlan = { steps: [{ weight: 10, pause: "60m" }, { weight: 50, pause: "240m" }], finish: RolloutFinish.Hold };
 * ```
 */
export const RolloutFinish = {
  /** The canary gets 100 % and the rollout is `promoted` (default). */
  Promote: "promote",
  /** The rollout is `completed` at the last step's weight (a partial rollout); `promoteFull` can still finish it. */
  Hold: "hold",
} as const;
/** One of the {@link RolloutFinish} values. */
export type RolloutFinish = (typeof RolloutFinish)[keyof typeof RolloutFinish];

/**
 * Health analysis settings. Error rates are in percent (0–100), like weights; latencies in milliseconds.
 * A check passes when every configured criterion holds; "max" limits are inclusive.
 *
 * @example
 * ```ts
 * const analysis: AnalysisSpec = {
 *   window: "5m",              // each check reads the last 5 minutes (never before the step began)
 *   interval: "1m",            // one check a minute while the step holds
 *   minRequests: 100,          // fewer canary (or stable) requests: inconclusive, never fail
 *   maxErrorRate: 5,           // canary error rate ≤ 5 %
 *   maxErrorRateIncrease: 1,   // canary ≤ stable + 1 point
 *   maxP99Ms: 2000,            // canary p99 ≤ 2 s
 *   maxP99Ratio: 1.5,          // canary p99 ≤ 1.5 × stable p99
 *   failureLimit: 2,           // abort at the second consecutive failed check
 *   onInconclusive: "pause",
 * };
 * ```
 */
export interface AnalysisSpec {
  /** Span each check reads, ending at the check (clipped to the step's start). Default `"5m"`. */
  readonly window?: Duration;
  /** Time between checks while a step holds. Default `"1m"`. */
  readonly interval?: Duration;
  /** Requests the canary needs (and the stable, for relative criteria) before a verdict. Default 100. */
  readonly minRequests?: number;
  /** The canary's error rate may not exceed this, in percent. */
  readonly maxErrorRate?: number;
  /** The canary's error rate may exceed the stable's by at most this many percentage points. */
  readonly maxErrorRateIncrease?: number;
  /** The canary's p99 latency may not exceed this, in milliseconds. */
  readonly maxP99Ms?: number;
  /** The canary's p99 may be at most this multiple of the stable's p99. */
  readonly maxP99Ratio?: number;
  /** Consecutive failed checks that abort the rollout. Default 1 (the first failed check aborts). */
  readonly failureLimit?: number;
  /** What to do when the hold is over and the last check was inconclusive. Default `"pause"`. */
  readonly onInconclusive?: InconclusivePolicy;
  /**
   * Where the figures come from: the name of one of the plan's `providers` (Prometheus, or a function you pass to
   * the runner). Default: the runner's `stats`.
   */
  readonly provider?: string;
}

/**
 * The PromQL queries of a Prometheus provider: one per figure the criteria read, each an instant query answered
 * once per version. Placeholders: `{{version}}` (required), `{{stable}}`, `{{canary}}`, `{{window}}` (the span the
 * check reads, as a Prometheus duration such as `"300s"`, never reaching before the step began), `{{stepStart}}`
 * (the step's start, Unix seconds) and `{{now}}` (the check's instant, Unix seconds).
 *
 * @example
 * ```ts
 * const queries: PrometheusQueries = {
 *   requests: 'sum(increase(http_requests_total{version="{{version}}"}[{{window}}]))',
 *   errors: 'sum(increase(http_requests_total{version="{{version}}",code=~"5.."}[{{window}}])) or vector(0)',
 *   p99Ms: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{version}}"}[{{window}}]))) * 1000',
 * };
 * ```
 */
export interface PrometheusQueries {
  /** Requests in the span (needed by every criterion, and by `minRequests`). */
  readonly requests: string;
  /** Failed requests in the span: needed by `maxErrorRate` and `maxErrorRateIncrease`. */
  readonly errors?: string;
  /** The p99 latency in milliseconds: needed by `maxP99Ms` and `maxP99Ratio`. */
  readonly p99Ms?: string;
}

/**
 * A provider whose figures are PromQL instant queries to a Prometheus server (or anything speaking its HTTP API:
 * Thanos, Mimir, VictoriaMetrics).
 *
 * @example
 * ```ts
 * const provider: PrometheusProviderSpec = {
 *   type: "prometheus",
 *   url: "http://prometheus:9090",
 *   queries: { requests: 'sum(increase(turnout_requests_total{version="{{version}}"}[{{window}}]))' },
 *   timeout: "5s",
 *   retries: 2,
 * };
 * ```
 */
export interface PrometheusProviderSpec {
  /** `"prometheus"`. */
  readonly type: "prometheus";
  /** The server's base URL (`http://prometheus:9090`); queries go to `<url>/api/v1/query`. */
  readonly url: string;
  /** The queries. */
  readonly queries: PrometheusQueries;
  /** Time allowed for one attempt of one query. Default `"5s"`. */
  readonly timeout?: Duration;
  /** Attempts after the first when the server cannot be reached, times out or answers 5xx. Default 2. */
  readonly retries?: number;
}

/**
 * A provider implemented in code: the plan names it, and the runner gets the function in
 * {@link RolloutOptions.providers} (Datadog, CloudWatch, your own store).
 *
 * @example
 * ```ts
 * const plan: RolloutPlan = { providers: { datadog: { type: "custom" } }, analysis: { provider: "datadog", maxErrorRate: 1 }, steps: [{ weight: 10 }] };
 * ```
 */
export interface CustomProviderSpec {
  /** `"custom"`. */
  readonly type: "custom";
}

/**
 * One entry of a plan's `providers`.
 *
 * @example
 * ```ts
 * const providers: Record<string, ProviderSpec> = { prom: { type: "prometheus", url: "http://prometheus:9090", queries: { requests: "…" } } };
 * ```
 */
export type ProviderSpec = PrometheusProviderSpec | CustomProviderSpec;

/**
 * A provider with its defaults filled in and durations in milliseconds.
 *
 * @example
 * ```ts
 * compilePlan(plan).providers.prom; // { type: "prometheus", url: "http://prometheus:9090", queries: { … }, timeoutMs: 5000, retries: 2 }
 * ```
 */
export type ResolvedProvider =
  | {
      /** `"prometheus"`: figures from PromQL instant queries. */
      readonly type: "prometheus";
      /** The server's base URL (`http://prometheus:9090`); queries go to `<url>/api/v1/query`. */
      readonly url: string;
      /** The queries, as in the plan. */
      readonly queries: PrometheusQueries;
      /** Time allowed for one attempt of one query, in milliseconds (default 5000). */
      readonly timeoutMs: number;
      /** Attempts after the first when the server cannot be reached, times out or answers 5xx (default 2). */
      readonly retries: number;
    }
  | {
      /** `"custom"`: the figures come from the function of the same name in the rollout's `providers` option. */
      readonly type: "custom";
    };

/**
 * What a provider is asked for one check: the span and the versions.
 *
 * @example
 * ```ts
 * const provider: AnalysisProvider = async ({ canary, stable, from, to }) => ({
 *   canary: await myStore.figures(canary, from, to),
 *   stable: await myStore.figures(stable, from, to),
 * });
 * ```
 */
export interface ProviderRequest {
  /** The provider's name in the plan. */
  readonly provider: string;
  /** The stable version. */
  readonly stable: string;
  /** The canary. */
  readonly canary: string;
  /** Start of the span to read (epoch ms): the last `window`, never before the step began. */
  readonly from: number;
  /** End of the span: the check's instant (epoch ms). */
  readonly to: number;
  /** When the current step began (epoch ms). */
  readonly stepStartedAt: number;
  /** The canary's weight in percent. */
  readonly weight: number;
  /** The analysis settings of the check. */
  readonly analysis: ResolvedAnalysis;
}

/**
 * One version's figures from a provider. `null` (or a missing field) means the provider has no data for it: the
 * criteria that need it are inconclusive, never failed.
 *
 * @example
 * ```ts
 * const figures: ProviderFigures = { requests: 1200, errors: 3, p99Ms: 180 };
 * ```
 */
export interface ProviderFigures {
  /** Requests in the span. */
  readonly requests: number | null;
  /** Failed requests in the span. */
  readonly errors?: number | null;
  /** p99 latency in ms. */
  readonly p99Ms?: number | null;
}

/**
 * A provider's answer: the figures of both versions over the asked span.
 *
 * @example
 * ```ts
 * const answer: ProviderAnswer = { canary: { requests: 300, errors: 1, p99Ms: 120 }, stable: { requests: 2700, errors: 9, p99Ms: 110 } };
 * ```
 */
export interface ProviderAnswer {
  /** The canary's figures. */
  readonly canary: ProviderFigures;
  /** The stable version's figures. */
  readonly stable: ProviderFigures;
}

/**
 * A source of figures for the health analysis. It may answer synchronously or with a promise; a throw or a
 * rejection makes the check inconclusive with the error's message (never failed).
 *
 * @example
 * ```ts
 * const fromMyStore: AnalysisProvider = ({ canary, stable, from, to }) => ({
 *   canary: { requests: 1000, errors: 2, p99Ms: 150 },
 *   stable: { requests: 9000, errors: 20, p99Ms: 140 },
 * });
 * createRollout(plan, { router, stats, providers: { mine: fromMyStore } });
 * ```
 */
export type AnalysisProvider = (request: ProviderRequest) => ProviderAnswer | Promise<ProviderAnswer>;

/**
 * The part of the Fetch API the Prometheus provider and the webhooks use (`globalThis.fetch` fits).
 *
 * @example
 * ```ts
 * const fetchLike: FetchLike = (url, init) => fetch(url, init);
 * ```
 */
export type FetchLike = (
  url: string,
  init: {
    readonly method: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly signal?: unknown;
  },
) => Promise<{
  /** The response's HTTP status code. */
  readonly status: number;
  /** Reads the response body as text. */
  text(): Promise<string>;
}>;

/**
 * One step of a plan. `weight` sets the canary's share (percent) on entering the step; `pause` then holds it for
 * a duration or until an operator promotes (`"manual"`); `analysis` checks health while the step holds. A step
 * with `analysis` but no `pause` holds for one analysis `window`; a step with only `weight` moves on at once.
 *
 * @example
 * ```ts
 * const steps: RolloutStep[] = [
 *   { weight: 0, pause: "manual", name: "deployed at 0 %" },
 *   { weight: 5, pause: "15m" },
 *   { weight: 25, pause: "30m", analysis: { maxP99Ratio: 2 } },
 *   { weight: 50, pause: "1h" },
 * ];
 * ```
 */
export interface RolloutStep {
  /** The canary's weight in percent (0–100) from this step on; missing keeps the previous step's weight. */
  readonly weight?: number;
  /** How long to hold the weight, or `"manual"` to wait for `promote`/`resume`. */
  readonly pause?: Duration | "manual";
  /** Overrides the plan's `analysis` field by field for this step; `false` turns analysis off for the step. */
  readonly analysis?: AnalysisSpec | false;
  /** A label for events and charts. */
  readonly name?: string;
}

/**
 * A rollout plan: plain JSON, so it can live in a file or a ConfigMap. Validated by {@link compilePlan}.
 *
 * @example
 * ```ts
 * const plan: RolloutPlan = {
 *   strategy: "canary",
 *   steps: [
 *     { weight: 1, pause: "5m" },
 *     { weight: 5, pause: "15m" },
 *     { weight: 25, pause: "30m" },
 *     { weight: 50, pause: "1h" },
 *   ],
 *   analysis: { window: "5m", minRequests: 100, maxErrorRate: 5, maxErrorRateIncrease: 1, maxP99Ratio: 2 },
 *   rollback: "immediate",
 *   rollbackWindow: "15m",
 * };
 * ```
 */
export interface RolloutPlan {
  /** Default `"canary"`. */
  readonly strategy?: RolloutStrategy;
  /** At least one step, at most 100. Canary weights never decrease; blue-green weights are 0 or 100. */
  readonly steps: readonly RolloutStep[];
  /** Default analysis of every step that holds (has a pause) at a weight above 0 (blue-green: at any weight), and of the rollback window. */
  readonly analysis?: AnalysisSpec;
  /** What an abort does to the weight. Default `"immediate"`. */
  readonly rollback?: RollbackMode;
  /** With `rollback: "stepped"`: time between two steps down. Default `"30s"`. */
  readonly rollbackInterval?: Duration;
  /** After promotion to 100 %, how long an abort may still flip back to the stable version. Default 0 (none). */
  readonly rollbackWindow?: Duration;
  /** After the last step: `"promote"` to 100 % (default) or `"hold"` at the last weight. */
  readonly finish?: RolloutFinish;
  /** The stable version's name; when given, it must match the router's `stable`. */
  readonly stable?: string;
  /** The canary's name; when given, it must match the router's `canary`. */
  readonly canary?: string;
  /** A label for events and charts. */
  readonly name?: string;
  /** Named sources of figures that analyses refer to with `provider` (see {@link ProviderSpec}). */
  readonly providers?: Readonly<Record<string, ProviderSpec>>;
  /** HTTP gates the rollout asks before it moves, and notifications it sends (see {@link WebhookSpec}). */
  readonly webhooks?: readonly WebhookSpec[];
}

/**
 * When a webhook is called. Gates (`confirmRollout`, `preStep`, `confirmPromotion`) are asked before the rollout
 * moves, and hold it until they answer 2xx; notifications (`postRollout`, `rollback`, `event`) are told after, and
 * never hold anything.
 *
 * @example
 * ```ts
 * const hook: WebhookSpec = { name: "change-freeze", type: WebhookType.ConfirmRollout, url: "http://gate.internal/freeze" };
 * ```
 */
export const WebhookType = {
  /** Gate: before `start` (and `retry`) route any traffic to the canary. */
  ConfirmRollout: "confirmRollout",
  /** Gate: before each step is entered (the first one with `start` included). */
  PreStep: "preStep",
  /** Gate: before the canary gets 100 %. */
  ConfirmPromotion: "confirmPromotion",
  /** Notification: the rollout was promoted or completed. */
  PostRollout: "postRollout",
  /** Notification: the rollout was aborted (the canary is going back to 0 %). */
  Rollback: "rollback",
  /** Notification: every event. */
  Event: "event",
} as const;
/** One of the {@link WebhookType} values. */
export type WebhookType = (typeof WebhookType)[keyof typeof WebhookType];

/**
 * A webhook: a URL that gets a JSON {@link WebhookPayload} by POST. A gate says yes with any 2xx answer; any other
 * answer (or none within `timeout`, after `retries`) says no and holds the rollout where it is, asked again every
 * `retryMs` of the runner. Operator commands (`promote`, `promoteFull`, `resume`, `abort`) are not gated.
 *
 * @example
 * ```ts
 * const webhooks: WebhookSpec[] = [
 *   { name: "qa-signoff", type: "confirmPromotion", url: "http://qa.internal/approve", timeout: "5s", retries: 1 },
 *   { name: "slack", type: "rollback", url: "http://notifier.internal/rollback", metadata: { channel: "#deploys" } },
 * ];
 * ```
 */
export interface WebhookSpec {
  /** A name for messages and the payload; unique in the plan. */
  readonly name: string;
  /** When it is called. */
  readonly type: WebhookType;
  /** An http(s) URL. */
  readonly url: string;
  /** Time allowed for one attempt. Default `"5s"`. */
  readonly timeout?: Duration;
  /** Attempts after the first when there is no answer or a 5xx. Default 2. */
  readonly retries?: number;
  /** Strings passed along in the payload's `metadata`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * A webhook with its defaults filled in.
 *
 * @example
 * ```ts
 * compilePlan(plan).webhooks[0]; // { name: "qa-signoff", type: "confirmPromotion", url: "…", timeoutMs: 5000, retries: 1, metadata: {} }
 * ```
 */
export interface ResolvedWebhook {
  /** Its name. */
  readonly name: string;
  /** When it is called. */
  readonly type: WebhookType;
  /** Where. */
  readonly url: string;
  /** Time allowed for one attempt, in ms. */
  readonly timeoutMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** Passed along in the payload. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * What a webhook receives (POST, `content-type: application/json`).
 *
 * @example
 * ```ts
 * { rollout: "checkout v2", webhook: "qa-signoff", type: "confirmPromotion", phase: "analysing", step: 2, stepCount: 3,
 *   weight: 50, stable: "v1", canary: "v2", next: { phase: "promoted", step: 3, weight: 100 },
 *   lastVerdict: "pass", lastMessage: "healthy: …", at: 1767225600000, metadata: {} }
 * ```
 */
export interface WebhookPayload {
  /** The plan's `name`, or null. */
  readonly rollout: string | null;
  /** The webhook's name. */
  readonly webhook: string;
  /** The webhook's type. */
  readonly type: WebhookType;
  /** The phase now (for a gate: before the move it is asked about). */
  readonly phase: RolloutPhase;
  /** The step now (0-based). */
  readonly step: number;
  /** Steps in the plan. */
  readonly stepCount: number;
  /** The canary's weight now, in percent. */
  readonly weight: number;
  /** The stable version. */
  readonly stable: string;
  /** The canary. */
  readonly canary: string;
  /** Gates: where the rollout would go on a yes. */
  readonly next?: {
    /** The phase the rollout would enter. */
    readonly phase: RolloutPhase;
    /** The step it would be at (0-based; the number of steps for promotion). */
    readonly step: number;
    /** The canary's weight it would set, in percent. */
    readonly weight: number;
  };
  /** Notifications: the event that triggered it. */
  readonly event?: RolloutEvent;
  /** The last health verdict, or null. */
  readonly lastVerdict: HealthVerdict | null;
  /** The last verdict's message, or null. */
  readonly lastMessage: string | null;
  /** When (epoch ms). */
  readonly at: number;
  /** The webhook's `metadata`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * A gate that said no: the rollout holds where it is until the gate says yes.
 *
 * @example
 * ```ts
 * rollout.status().held; // { webhook: "qa-signoff", type: "confirmPromotion", message: "…answered 403: not yet", since: 1767225600000 }
 * ```
 */
export interface GateHold {
  /** The gate's name. */
  readonly webhook: string;
  /** Its type. */
  readonly type: WebhookType;
  /** Why, in words (its status and body, or that it did not answer). */
  readonly message: string;
  /** Since when the rollout has been held. */
  readonly since: number;
}

/**
 * Analysis settings with every default filled in and durations in milliseconds.
 *
 * @example
 * ```ts
 * compilePlan({ steps: [{ weight: 5, analysis: { maxErrorRate: 5 } }] }).steps[0]?.analysis?.windowMs; // 300000
 * ```
 */
export interface ResolvedAnalysis {
  /** Span each check reads, in ms. */
  readonly windowMs: number;
  /** Time between checks, in ms. */
  readonly intervalMs: number;
  /** Requests needed per version for a verdict. */
  readonly minRequests: number;
  /** Absolute error-rate limit in percent, or null. */
  readonly maxErrorRate: number | null;
  /** Error-rate increase over stable in points, or null. */
  readonly maxErrorRateIncrease: number | null;
  /** Absolute p99 limit in ms, or null. */
  readonly maxP99Ms: number | null;
  /** p99 ratio to stable, or null. */
  readonly maxP99Ratio: number | null;
  /** Consecutive failures that abort. */
  readonly failureLimit: number;
  /** What an inconclusive end of hold does. */
  readonly onInconclusive: InconclusivePolicy;
  /** The provider the figures come from, or null for the runner's `stats`. */
  readonly provider: string | null;
}

/**
 * A step with its effective weight, hold and analysis.
 *
 * @example
 * ```ts
 * compilePlan({ steps: [{ weight: 5, pause: "15m" }] }).steps[0]; // { index: 0, weight: 5, holdMs: 900000, manual: false, … }
 * ```
 */
export interface ResolvedStep {
  /** Position in the plan. */
  readonly index: number;
  /** The canary's weight while the step holds (carried over from earlier steps when the step sets none). */
  readonly weight: number;
  /** The timed hold in ms (0: no hold), ignored when `manual`. */
  readonly holdMs: number;
  /** Waits for an operator. */
  readonly manual: boolean;
  /** The analysis that runs while the step holds, or null. */
  readonly analysis: ResolvedAnalysis | null;
  /** The step's label, if any. */
  readonly name: string | null;
}

/**
 * A validated, normalised, frozen plan. Build it once with {@link compilePlan}; the machine and the runner use it.
 *
 * @example
 * ```ts
 * const plan = compilePlan(JSON.parse(text));
 * plan.steps.length; plan.fingerprint;
 * ```
 */
export interface CompiledPlan {
  /** The plan as given (normalised: defaults are not filled in), deep-frozen. */
  readonly source: RolloutPlan;
  /** The strategy. */
  readonly strategy: RolloutStrategy;
  /** The steps, resolved. */
  readonly steps: readonly ResolvedStep[];
  /** The background analysis of the rollback window, or null. */
  readonly windowAnalysis: ResolvedAnalysis | null;
  /** The rollback mode. */
  readonly rollback: RollbackMode;
  /** Time between steps down, in ms. */
  readonly rollbackIntervalMs: number;
  /** The rollback window after promotion, in ms. */
  readonly rollbackWindowMs: number;
  /** What happens after the last step. */
  readonly finish: RolloutFinish;
  /** A short hash of the plan: a saved state only restores against the same plan. */
  readonly fingerprint: string;
  /** The plan's providers, resolved. */
  readonly providers: Readonly<Record<string, ResolvedProvider>>;
  /** The plan's webhooks, resolved. */
  readonly webhooks: readonly ResolvedWebhook[];
}

// ---------------------------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------------------------

/**
 * The verdict of one health check.
 *
 * @example
 * ```ts
 * if (health.verdict === HealthVerdict.Fail) alert(health.message);
 * ```
 */
export const HealthVerdict = {
  /** Every criterion held. */
  Pass: "pass",
  /** At least one criterion was violated (with enough requests to judge). */
  Fail: "fail",
  /** Too little data to judge (too few requests, no latency recorded), and nothing failed. */
  Inconclusive: "inconclusive",
} as const;
/** One of the {@link HealthVerdict} values. */
export type HealthVerdict = (typeof HealthVerdict)[keyof typeof HealthVerdict];

/**
 * The analysis criteria, by their plan field names.
 *
 * @example
 * ```ts
 * health.checks.find((c) => c.criterion === HealthCriterion.MaxP99Ratio);
 * ```
 */
export const HealthCriterion = {
  /** Absolute error rate. */
  MaxErrorRate: "maxErrorRate",
  /** Error rate relative to stable. */
  MaxErrorRateIncrease: "maxErrorRateIncrease",
  /** Absolute p99. */
  MaxP99Ms: "maxP99Ms",
  /** p99 relative to stable. */
  MaxP99Ratio: "maxP99Ratio",
} as const;
/** One of the {@link HealthCriterion} values. */
export type HealthCriterion = (typeof HealthCriterion)[keyof typeof HealthCriterion];

/**
 * One version's figures as the analysis saw them.
 *
 * @example
 * ```ts
 * { requests: 3000, errors: 180, errorPercent: 6, p99Ms: 240.5 }
 * ```
 */
export interface VersionFigures {
  /** Requests in the analysed span. */
  readonly requests: number;
  /** Failed requests. */
  readonly errors: number;
  /** errors / requests in percent (0 with no requests). */
  readonly errorPercent: number;
  /** p99 latency in ms, or null when none was recorded. */
  readonly p99Ms: number | null;
}

/**
 * How one criterion fared. `skipped`: a relative criterion at 100 % (there is no stable traffic to compare with).
 *
 * @example
 * ```ts
 * { criterion: "maxErrorRateIncrease", outcome: "fail", actual: 5, limit: 1, message: "canary error rate 6% is 5 points above stable 1% (max 1)" }
 * ```
 */
export interface CriterionResult {
  /** Which criterion. */
  readonly criterion: HealthCriterion;
  /** Its outcome. */
  readonly outcome: HealthVerdict | "skipped";
  /** The measured value compared with `limit` (percent, points, ms or ratio), or null when not measurable. */
  readonly actual: number | null;
  /** The configured limit. */
  readonly limit: number;
  /** In words, with the figures. */
  readonly message: string;
}

/**
 * A health verdict with every figure that produced it. Plain JSON.
 *
 * @example
 * ```ts
 * const health = evaluateHealth(stats.window({ since: stepStartedAt }), { stable: "v1", canary: "v2" }, analysis);
 * health.verdict; // "fail"
 * health.message; // "canary error rate 6% is 5 points above stable 1% (max 1)"
 * ```
 */
export interface Health {
  /** The verdict. */
  readonly verdict: HealthVerdict;
  /** The first failing (else the first inconclusive) criterion's message, or a summary of the pass. */
  readonly message: string;
  /** Start of the analysed span (epoch ms). */
  readonly from: number;
  /** End of the analysed span (epoch ms). */
  readonly to: number;
  /** The canary's figures. */
  readonly canary: VersionFigures;
  /** The stable's figures. */
  readonly stable: VersionFigures;
  /** One entry per configured criterion. */
  readonly checks: readonly CriterionResult[];
}

// ---------------------------------------------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------------------------------------------

/**
 * Where a rollout is.
 *
 * @example
 * ```ts
 * if (rollout.status().phase === RolloutPhase.Paused) notify("the rollout waits for you");
 * ```
 */
export const RolloutPhase = {
  /** Created, not started; the router is untouched. */
  Idle: "idle",
  /** Holding a step's weight for its duration, without analysis. */
  Progressing: "progressing",
  /** Holding a step's weight while health checks run. */
  Analysing: "analysing",
  /** Blue-green: the new version at 0 %, reachable only by pinned and explicit traffic (the smoke gate). */
  Preview: "preview",
  /** Waiting for an operator: a manual step, an operator pause, or an inconclusive analysis. */
  Paused: "paused",
  /** Aborted with `rollback: "stepped"`: on the way down to 0 %. */
  RollingBack: "rollingBack",
  /** After the last step with `finish: "hold"`: at the last step's weight. */
  Completed: "completed",
  /** The canary has 100 %. While the rollback window is open, an abort still flips back. */
  Promoted: "promoted",
  /** The canary is at 0 %. `retry` starts over. */
  Aborted: "aborted",
} as const;
/** One of the {@link RolloutPhase} values. */
export type RolloutPhase = (typeof RolloutPhase)[keyof typeof RolloutPhase];

/**
 * Why a rollout is paused.
 *
 * @example
 * ```ts
 * if (status.pauseReason === RolloutPauseReason.Inconclusive) console.log("not enough traffic to judge");
 * ```
 */
export const RolloutPauseReason = {
  /** The step says `pause: "manual"`. */
  Step: "step",
  /** An operator called `pause`. */
  Operator: "operator",
  /** The hold ended with an inconclusive analysis and `onInconclusive: "pause"`. */
  Inconclusive: "inconclusive",
} as const;
/** One of the {@link RolloutPauseReason} values. */
export type RolloutPauseReason = (typeof RolloutPauseReason)[keyof typeof RolloutPauseReason];

/**
 * Counts of health checks by verdict.
 *
 * @example
 * ```ts
 * { passed: 42, failed: 0, inconclusive: 3 }
 * ```
 */
export interface CheckCounts {
  /** Checks that passed. */
  readonly passed: number;
  /** Checks that failed. */
  readonly failed: number;
  /** Checks without a verdict. */
  readonly inconclusive: number;
}

/**
 * The machine's whole state: plain JSON. Persist it (a file, Redis), restore it with `createRollout(plan,
 * { state })` after a restart, and the rollout continues where it was: deadlines are absolute instants, so a
 * step resumes with its remaining time.
 *
 * @example
 * ```ts
 * await writeFile("rollout.json", JSON.stringify(rollout.state()));
 * const again = createRollout(plan, { router, stats, state: JSON.parse(await readFile("rollout.json", "utf8")) });
 * ```
 */
export interface RolloutState {
  /** The state format, for future migrations. */
  readonly format: 1;
  /** The plan's fingerprint: a state restores only against the plan it was made with. */
  readonly plan: string;
  /** Where the rollout is. */
  readonly phase: RolloutPhase;
  /** The current step (0-based); the number of steps once promoted or completed. */
  readonly stepIndex: number;
  /** The canary's weight in percent that the router must have (in every phase but idle). */
  readonly weight: number;
  /** Increases by one with every accepted change (for compare-and-set stores). */
  readonly revision: number;
  /** When the rollout (or its last retry) started. */
  readonly startedAt: number | null;
  /** When the last change happened. */
  readonly updatedAt: number | null;
  /** When the current step (or promotion) began: the analysis reads data from here on. */
  readonly stepStartedAt: number | null;
  /** End of the current timed hold or rollback step (absolute epoch ms), or null. */
  readonly holdUntil: number | null;
  /** While paused in the middle of a timed hold: the hold time left, restored by `resume`. */
  readonly holdRemainingMs: number | null;
  /** When the next health check is due, or null. */
  readonly nextCheckAt: number | null;
  /** Why the rollout is paused, when it is. */
  readonly pauseReason: RolloutPauseReason | null;
  /** Failed checks in a row. */
  readonly consecutiveFailures: number;
  /** Checks since the start (or the last retry). */
  readonly checks: CheckCounts;
  /** The last health verdict, or null. */
  readonly lastHealth: Health | null;
  /** Why the rollout was aborted, when it was. */
  readonly abortReason: string | null;
  /** While promoted: the end of the rollback window, or null when it is closed. */
  readonly rollbackUntil: number | null;
  /** While rolling back: the weights still to step down through (the last is 0). */
  readonly rollbackWeights: readonly number[];
}

/**
 * The events the machine understands.
 *
 * @example
 * ```ts
 * transition(plan, state, { type: "abort", reason: "pager went off" }, Date.now());
 * ```
 */
export type RolloutCommand =
  | {
      /** Enter the first step. */
      readonly type: "start";
    }
  | {
      /** Do what is due at `now`: a check, the end of a hold, a rollback step. */
      readonly type: "tick";
    }
  | {
      /** Hold where the rollout is (an operator pause). */
      readonly type: "pause";
    }
  | {
      /** Continue after a pause. */
      readonly type: "resume";
    }
  | {
      /** The next step now. */
      readonly type: "promote";
    }
  | {
      /** 100 % now. */
      readonly type: "promoteFull";
    }
  | {
      /** Back to 0 % (or step down, with `rollback: "stepped"`). */
      readonly type: "abort";
      /** Why, for the events and the status. */
      readonly reason?: string;
    }
  | {
      /** Start an aborted rollout over from its first step. */
      readonly type: "retry";
    };

/**
 * The `type` of a {@link RolloutCommand}.
 *
 * @example
 * ```ts
 * const controls: RolloutCommandType[] = ["pause", "resume", "abort"];
 * ```
 */
export type RolloutCommandType = RolloutCommand["type"];

/**
 * What the runner must do to the world after a transition.
 *
 * @example
 * ```ts
 * for (const effect of result.effects) if (effect.type === "setWeight") router.setCanaryPercent(effect.weight);
 * ```
 */
export type RolloutEffect = {
  /** The only effect: set the canary's weight in the router. */
  readonly type: "setWeight";
  /** The canary's weight in percent. */
  readonly weight: number;
};

/**
 * The kinds of rollout events.
 *
 * @example
 * ```ts
 * rollout.subscribe((e) => { if (e.type === RolloutEventType.Aborted) page(e.message); });
 * ```
 */
export const RolloutEventType = {
  /** `start` or `retry` began the plan. */
  Started: "started",
  /** A step was entered (its weight applied). */
  Step: "step",
  /** A health check reached a verdict (`health` holds the figures). */
  Check: "check",
  /** The rollout paused (`reason`: step, operator, inconclusive). */
  Paused: "paused",
  /** An operator resumed a paused rollout within the same step. */
  Resumed: "resumed",
  /** A stepped rollback lowered the weight. */
  RollbackStep: "rollbackStep",
  /** The canary is at 0 % for good (`reason`: operator text or the failing analysis). */
  Aborted: "aborted",
  /** After the last step with `finish: "hold"`. */
  Completed: "completed",
  /** The canary got 100 %. */
  Promoted: "promoted",
  /** The rollback window closed: the promotion is final. */
  WindowClosed: "windowClosed",
  /** The runner found the router at another weight than the state's and set it back. */
  WeightRestored: "weightRestored",
  /** The runner could not apply an effect (the router refused the weight). */
  EffectFailed: "effectFailed",
  /** A webhook gate said no (or did not answer): the rollout holds where it is. */
  Held: "held",
} as const;
/** One of the {@link RolloutEventType} values. */
export type RolloutEventType = (typeof RolloutEventType)[keyof typeof RolloutEventType];

/**
 * Why something happened, machine-readable.
 *
 * @example
 * ```ts
 * if (event.type === "aborted" && event.reason === RolloutEventReason.AnalysisFailed) postmortem(event.health);
 * ```
 */
export const RolloutEventReason = {
  /** An operator command. */
  Operator: "operator",
  /** The step's hold elapsed (no analysis on the step). */
  HoldElapsed: "holdElapsed",
  /** The hold elapsed and the gate check passed. */
  AnalysisPassed: "analysisPassed",
  /** The analysis failed `failureLimit` times in a row. */
  AnalysisFailed: "analysisFailed",
  /** The hold elapsed with an inconclusive check. */
  Inconclusive: "inconclusive",
  /** A step without hold moves on at once. */
  NoHold: "noHold",
  /** The step says `pause: "manual"`. */
  ManualStep: "manualStep",
  /** A timer: the rollback window closed, a stepped rollback moved down. */
  Schedule: "schedule",
  /** The runner reconciled the router. */
  Reconcile: "reconcile",
  /** A webhook gate. */
  Gate: "gate",
} as const;
/** One of the {@link RolloutEventReason} values. */
export type RolloutEventReason = (typeof RolloutEventReason)[keyof typeof RolloutEventReason];

/**
 * One thing that happened, with the position of the rollout after it. Plain JSON.
 *
 * @example
 * ```ts
 * { type: "aborted", reason: "analysisFailed", at: 1767225600000, phase: "aborted", stepIndex: 1, weight: 0,
 *   previousWeight: 5, message: "canary error rate 6% is 5 points above stable 1% (max 1)", health: { … } }
 * ```
 */
export interface RolloutEvent {
  /** What happened. */
  readonly type: RolloutEventType;
  /** Why. */
  readonly reason: RolloutEventReason;
  /** When (epoch ms, the machine's `now`). */
  readonly at: number;
  /** The phase after the event. */
  readonly phase: RolloutPhase;
  /** The step after the event. */
  readonly stepIndex: number;
  /** The canary's weight after the event. */
  readonly weight: number;
  /** The weight before, when the event changed it. */
  readonly previousWeight?: number;
  /** In words. */
  readonly message: string;
  /** The verdict behind the event, with its figures. */
  readonly health?: Health;
}

/**
 * The result of {@link transition}. A rejected command leaves the state as it was (the same object) and says why.
 *
 * @example
 * ```ts
 * const r = transition(plan, state, { type: "pause" }, now);
 * if (!r.accepted) console.log(r.rejection); // "cannot pause: the rollout is aborted"
 * ```
 */
export interface TransitionResult {
  /** False when the command does not apply in the current phase. */
  readonly accepted: boolean;
  /** Why the command was rejected. */
  readonly rejection?: string;
  /** The new state (the old object when nothing changed). */
  readonly state: RolloutState;
  /** What the world must do (set the router's weight). */
  readonly effects: readonly RolloutEffect[];
  /** What happened, in order. */
  readonly events: readonly RolloutEvent[];
}

/**
 * What the runner asks the stats for before a tick (see {@link analysisRequest}).
 *
 * @example
 * ```ts
 * const due = analysisRequest(plan, state, now);
 * if (due) health = evaluateHealth(stats.window(due.query), versions, due.analysis, { weight: state.weight });
 * ```
 */
export interface AnalysisRequest {
  /** The settings to judge with. */
  readonly analysis: ResolvedAnalysis;
  /** The span to read: the last `window`, not before the step began. */
  readonly query: {
    /** The analysis window, ms. */
    readonly windowMs: number;
    /** The start of the step (epoch ms): nothing older is read. */
    readonly since: number;
    /** The instant of the check (epoch ms). */
    readonly now: number;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------------------------------

/**
 * Timers the runner schedules its ticks with. The default uses `globalThis.setTimeout`; tests and simulations pass
 * virtual ones.
 *
 * @example
 * ```ts
 * const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) };
 * ```
 */
export interface Timers {
  /** Calls `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending callback. */
  clearTimeout(handle: unknown): void;
}

/**
 * Options of {@link createRollout}.
 *
 * @example
 * ```ts
 * createRollout(plan, { router, stats, onEvent: (e) => console.log(e.type, e.message) });
 * ```
 */
export interface RolloutOptions {
  /** The router whose canary weight the rollout drives (its config names `stable` and `canary`). */
  readonly router: Router;
  /** Where the health analysis reads the numbers: a `Stats`, or a merged fleet view. */
  readonly stats: StatsReader;
  /** Epoch milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** Default: `globalThis.setTimeout`/`clearTimeout`. */
  readonly timers?: Timers;
  /** Receives every event. */
  readonly onEvent?: (event: RolloutEvent) => void;
  /** Receives the state after every accepted change: the place to persist it. */
  readonly onState?: (state: RolloutState) => void;
  /** A saved state to continue from (see {@link RolloutState}). */
  readonly state?: RolloutState;
  /** Where faults in listeners, the stats or the router are reported. */
  readonly logger?: Logger;
  /**
   * The implementations of the plan's `custom` providers, by name (and, by the same name, a replacement for a
   * `prometheus` one: a test double, or the same server behind your own client).
   */
  readonly providers?: Readonly<Record<string, AnalysisProvider>>;
  /** The `fetch` the Prometheus providers use. Default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /**
   * Stores a change before it takes effect: a compare-and-set on a shared store, a write that may fail. Called for
   * every accepted transition that changes the state (`kind: "transition"`) and for every reconcile that would put
   * the router's weight back (`kind: "reconcile"`, the state unchanged), *before* the router is touched, the state
   * replaced, `onState` called or any event emitted.
   *
   * - `true` (or a promise of `true`): the change is stored; the runner applies it as it would without the hook.
   * - `false`: refused (another writer won). The runner stays on `previous`: nothing is applied, persisted or
   *   emitted, the control answers `{ accepted: false, commitFailure: "refused" }`, and the next tick comes no sooner
   *   than `retryMs` — so a refused tick is tried again, on the state the runner has then (call `adopt` with the
   *   store's newer state first, and the retry starts from that).
   * - a throw or a rejected promise: the same, with `commitFailure: "failed"`; reported to `logger` once until a
   *   commit succeeds again.
   *
   * While a returned promise is pending the runner is busy: timer ticks wait for it, `send` and `adopt` queue
   * behind it in call order, and the synchronous controls answer `{ accepted: false }` ("busy"). An `adopt` called
   * from inside the hook (the store's newer state, found by a refused compare-and-set) is applied once the change is
   * settled; never await `send` or `settled` inside the hook (they wait for it). A refused reconcile leaves the
   * router as it is until the next tick. Without the hook, every change is applied at once.
   */
  readonly commit?: (change: RolloutChange) => boolean | Promise<boolean>;
  /**
   * Asked when a health check is due, before the stats are read: `false` (or a promise of it, a throw, a rejection)
   * skips the check — it is neither passed nor failed nor inconclusive, and the tick makes no transition at all, so
   * neither the step nor the rollback window moves past it; only the router's weight is reconciled. The check is
   * asked again after `retryMs`. Use it to refuse stale data (a fleet view with too few fresh instances), or to
   * fetch the numbers the `stats` reader then serves (the reader is read right after `true`).
   */
  readonly beforeCheck?: (due: AnalysisRequest) => boolean | Promise<boolean>;
  /** The wait before trying again after a skipped check or a change the `commit` hook did not store. Default 1,000 ms. */
  readonly retryMs?: number;
}

/**
 * A change the runner asks {@link RolloutOptions.commit} to store before it takes effect.
 *
 * @example
 * ```ts
 * const commit = async (change: RolloutChange): Promise<boolean> =>
 *   (await db.compareAndSet("rollout", change.previous.revision, change.state)) === "ok";
 * ```
 */
export interface RolloutChange {
  /** `transition`: a command moved the state. `reconcile`: the state is unchanged; the router's weight is put back. */
  readonly kind: "transition" | "reconcile";
  /** The command behind a transition (the same object that was passed to `send`); absent for a reconcile. */
  readonly command?: RolloutCommand;
  /** The runner's `now` for the change (epoch ms). */
  readonly at: number;
  /** The state the change starts from (what a compare-and-set expects: `previous.revision`). */
  readonly previous: RolloutState;
  /** The state after the change (`previous` itself for a reconcile). */
  readonly state: RolloutState;
  /** What the router gets once the change is stored. */
  readonly effects: readonly RolloutEffect[];
  /** The events emitted once the change is stored. */
  readonly events: readonly RolloutEvent[];
  /** The verdict of the check the transition made, if it made one. */
  readonly health?: Health;
}

/**
 * The answer of a control (`start`, `pause`, …).
 *
 * @example
 * ```ts
 * const r = rollout.pause();
 * if (!r.accepted) console.log(r.rejection);
 * ```
 */
export interface ControlResult {
  /** Whether the command applied. */
  readonly accepted: boolean;
  /** Why not, when it did not. */
  readonly rejection?: string;
  /** The status after the command. */
  readonly status: RolloutStatus;
  /**
   * With a `commit` hook: `refused` when it answered false, `failed` when it threw or rejected. The state stayed
   * as it was (`accepted` is false). Absent when the machine itself rejected the command.
   */
  readonly commitFailure?: "refused" | "failed";
  /**
   * True when a synchronous control handed the change to an asynchronous `commit` (or `beforeCheck`) that has not
   * answered yet: `accepted` is the machine's verdict, `status` still the stored state's. `send` tells the outcome.
   */
  readonly pending?: boolean;
}

/**
 * The rollout at a glance. `phase`, `stepIndex` and `weight` are what dashboards and the Prometheus integration read.
 *
 * @example
 * ```ts
 * const { phase, stepIndex, stepCount, weight, holdRemainingMs } = rollout.status();
 * ```
 */
export interface RolloutStatus {
  /** Where the rollout is. */
  readonly phase: RolloutPhase;
  /** The current step (0-based; `stepCount` once promoted or completed). */
  readonly stepIndex: number;
  /** Number of steps in the plan. */
  readonly stepCount: number;
  /** The canary's weight in percent. */
  readonly weight: number;
  /** The strategy. */
  readonly strategy: RolloutStrategy;
  /** The stable version. */
  readonly stable: string;
  /** The canary. */
  readonly canary: string;
  /** The current step's label, if any. */
  readonly stepName: string | null;
  /** When the rollout started. */
  readonly startedAt: number | null;
  /** When the current step began. */
  readonly stepStartedAt: number | null;
  /** Time left in the current hold (also while paused mid-hold), or null. */
  readonly holdRemainingMs: number | null;
  /** When the next check is due, or null. */
  readonly nextCheckAt: number | null;
  /** Why paused, when paused. */
  readonly pauseReason: RolloutPauseReason | null;
  /** Why aborted, when aborted. */
  readonly abortReason: string | null;
  /** Failed checks in a row. */
  readonly consecutiveFailures: number;
  /** Checks so far. */
  readonly checks: CheckCounts;
  /** The last verdict, or null. */
  readonly lastHealth: Health | null;
  /** While promoted: time left in the rollback window, or null. */
  readonly rollbackWindowRemainingMs: number | null;
  /** The state's revision. */
  readonly revision: number;
  /** While a webhook gate holds the rollout: which, and why. Absent otherwise. */
  readonly held?: GateHold;
}

/**
 * A running rollout. Every control answers whether it applied; none throws.
 *
 * @example
 * ```ts
 * const rollout = createRollout(plan, { router, stats });
 * rollout.start();
 * // … later
 * rollout.abort("latency alarm");
 * rollout.stop();
 * ```
 */
export interface Rollout {
  /** Enters the first step. */
  start(): ControlResult;
  /** Holds the current step (its remaining time is kept). */
  pause(): ControlResult;
  /** Continues: an operator pause picks up the remaining hold; a manual or inconclusive pause moves on. */
  resume(): ControlResult;
  /** Moves to the next step now (skips the rest of the hold and its gate). */
  promote(): ControlResult;
  /** Skips the remaining steps: the canary gets 100 %. */
  promoteFull(): ControlResult;
  /** Rolls back to the stable version (see `rollback`); inside the rollback window also after promotion. */
  abort(reason?: string): ControlResult;
  /** After an abort: starts the plan over. */
  retry(): ControlResult;
  /** Runs due work now: checks health, ends holds. Timers call it; call it yourself with your own scheduler. */
  tick(now?: number): ControlResult;
  /** The rollout at a glance. */
  status(): RolloutStatus;
  /** The full state (plain JSON), for persistence. */
  state(): RolloutState;
  /** Calls `listener` with every event; returns an unsubscribe function. */
  subscribe(listener: (event: RolloutEvent) => void): () => void;
  /** Cancels the timers; the state stays as it is (restore it later to continue). Controls still work. */
  stop(): void;
  /**
   * Runs any command (a tick too, at `now`) once the runner is free — after a pending `commit`, and after the
   * `send`s and `adopt`s called before it — and resolves with its result when it is stored or refused. Never
   * rejects. Without hooks it runs at once, like the synchronous controls.
   */
  send(command: RolloutCommand, now?: number): Promise<ControlResult>;
  /**
   * Replaces the state with one stored elsewhere (another controller advanced the rollout). Checked like a restored
   * state (an invalid one is refused, `accepted: false`); copied; neither committed nor persisted, no events. The
   * router is left as it is (the next tick reconciles it) and the timers follow the new state. While a commit is
   * pending, it is applied after it (`pending: true`), in call order with `send`.
   */
  adopt(state: RolloutState): ControlResult;
  /** Resolves once nothing is pending: no commit or check in flight, no queued `send` or `adopt`. */
  settled(): Promise<void>;
  /** The compiled plan. */
  readonly plan: CompiledPlan;
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------------------------

/**
 * How one version behaves in a simulation: error rate in percent and a log-normal latency given by two quantiles.
 *
 * @example
 * ```ts
 * const healthy: VersionBehaviour = { errorPercent: 0.5, latencyMs: { p50: 40, p99: 200 } };
 * ```
 */
export interface VersionBehaviour {
  /** Share of failing requests, in percent. Default 0. */
  readonly errorPercent?: number;
  /** Latency: median and p99 in ms (a log-normal through both). Default `{ p50: 50, p99: 250 }`. */
  readonly latencyMs?: {
    /** Median latency, ms. */
    readonly p50: number;
    /** 99th percentile latency, ms (the log-normal goes through both). */
    readonly p99: number;
  };
}

/**
 * Synthetic traffic for {@link simulateRollout}.
 *
 * @example
 * ```ts
 * const traffic: TrafficModel = {
 *   requestsPerSecond: 1000,
 *   stable: { errorPercent: 1, latencyMs: { p50: 40, p99: 200 } },
 *   canary: { errorPercent: 6, latencyMs: { p50: 40, p99: 200 } },
 *   changes: [{ at: "2h", canary: { latencyMs: { p50: 40, p99: 600 } } }],
 * };
 * ```
 */
export interface TrafficModel {
  /** All requests per second, split by the router's weights. */
  readonly requestsPerSecond: number;
  /** Requests per second sent to the canary whatever the weights (smoke tests, pinned and explicit traffic). */
  readonly previewRequestsPerSecond?: number;
  /** The stable version's behaviour. */
  readonly stable?: VersionBehaviour;
  /** The canary's behaviour. */
  readonly canary?: VersionBehaviour;
  /** Changes from a point in the simulation on (`at` is measured from the start). */
  readonly changes?: readonly {
    /** From when, measured from the start of the simulation. */
    readonly at: Duration;
    /** The new request rate. */
    readonly requestsPerSecond?: number;
    /** The new preview rate (requests that reach the canary whatever its weight). */
    readonly previewRequestsPerSecond?: number;
    /** The stable version's new behaviour (fields not given stay as they were). */
    readonly stable?: VersionBehaviour;
    /** The canary's new behaviour (fields not given stay as they were). */
    readonly canary?: VersionBehaviour;
  }[];
  /** Seed of the pseudo-random draws: the same seed gives the same run. Default 1. */
  readonly seed?: number;
}

/**
 * Options of {@link simulateRollout}.
 *
 * @example
 * ```ts
 * simulateRollout(plan, traffic, { approveAfter: "10m", sampleEvery: "1m" });
 * ```
 */
export interface SimulationOptions {
  /** The virtual start instant (epoch ms). Default 0. */
  readonly startAt?: number;
  /** A simulated operator promotes every pause (manual steps, inconclusive analyses) after this long. Default: nobody does, and the simulation ends at the first such pause. */
  readonly approveAfter?: Duration;
  /** Traffic is generated in slices of this length. Default `"10s"`. */
  readonly sliceMs?: Duration;
  /** A timeline point with the last span's figures every so often, besides the points at events. Default `"1m"`; 0 for none. */
  readonly sampleEvery?: Duration;
  /**
   * Stop after this much virtual time (the outcome is then `timeout`). Default: twice the plan's nominal length (the
   * sum of its timed steps' holds, manual steps counting 0, plus the rollback window) plus one day, which leaves room
   * for pauses that `approveAfter` promotes: a 2-hour plan stops after 28 hours.
   */
  readonly maxDuration?: Duration;
  /** The versions' names. Default: the plan's `stable`/`canary`, else `"v1"`/`"v2"`. */
  readonly stable?: string;
  /** The canary's name (see `stable`). */
  readonly canary?: string;
  /** Called with the fraction of the nominal plan duration simulated so far (0–1), for progress bars. */
  readonly onProgress?: (fraction: number) => void;
}

/**
 * How a simulation ended.
 *
 * @example
 * ```ts
 * if (result.outcome === SimulationOutcome.Aborted) console.log(result.state.abortReason);
 * ```
 */
export const SimulationOutcome = {
  /** The canary reached 100 % (and the rollback window, if any, closed without an abort). */
  Promoted: "promoted",
  /** `finish: "hold"`: the plan ended at the last step's weight. */
  Completed: "completed",
  /** The rollout was aborted. */
  Aborted: "aborted",
  /** The rollout waits for a person (a manual step or an inconclusive analysis, with no `approveAfter`). */
  Paused: "paused",
  /** `maxDuration` ran out. */
  Timeout: "timeout",
} as const;
/** One of the {@link SimulationOutcome} values. */
export type SimulationOutcome = (typeof SimulationOutcome)[keyof typeof SimulationOutcome];

/**
 * One point of a simulation's timeline: at every event, and every `sampleEvery`.
 *
 * @example
 * ```ts
 * { at: 300000, elapsedMs: 300000, phase: "analysing", stepIndex: 0, weight: 1, event: "check", verdict: "pass",
 *   canary: { requests: 3000, errors: 15, errorPercent: 0.5, p99Ms: 201 }, stable: { … } }
 * ```
 */
export interface TimelinePoint {
  /** Virtual epoch ms. */
  readonly at: number;
  /** Time since the simulation started. */
  readonly elapsedMs: number;
  /** Phase at that instant. */
  readonly phase: RolloutPhase;
  /** Step at that instant. */
  readonly stepIndex: number;
  /** Canary weight at that instant. */
  readonly weight: number;
  /** The event of this point, or null for a periodic sample. */
  readonly event: RolloutEventType | null;
  /** The check's verdict, for `check` points. */
  readonly verdict: HealthVerdict | null;
  /** The canary's figures: the check's span for checks, else the last `sampleEvery` (null when not measured). */
  readonly canary: VersionFigures | null;
  /** The stable's figures, likewise. */
  readonly stable: VersionFigures | null;
}

/**
 * The result of {@link simulateRollout}: the outcome and the whole timeline.
 *
 * @example
 * ```ts
 * const r = simulateRollout(plan, { requestsPerSecond: 1000 });
 * r.outcome;            // "promoted"
 * r.finalWeight;        // 100
 * r.healthChecksPassed; // true
 * ```
 */
export interface SimulationResult {
  /** How it ended. */
  readonly outcome: SimulationOutcome;
  /** The canary's weight at the end. */
  readonly finalWeight: number;
  /** No health check failed (inconclusive checks do not count against it). */
  readonly healthChecksPassed: boolean;
  /** Checks by verdict over the whole run (across retries none: a simulation never retries). */
  readonly checks: CheckCounts;
  /** Virtual time simulated. */
  readonly durationMs: number;
  /** The machine's final state. */
  readonly state: RolloutState;
  /** Every event, in order. */
  readonly events: readonly RolloutEvent[];
  /** Points at every event and every `sampleEvery`. */
  readonly timeline: readonly TimelinePoint[];
  /** Requests generated per version. */
  readonly requests: {
    /** Requests to the stable version. */
    readonly stable: number;
    /** Requests to the canary. */
    readonly canary: number;
  };
}

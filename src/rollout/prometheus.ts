// The Prometheus analysis provider: PromQL instant queries over the HTTP API, through an injectable `fetch`. Part of
// the core (no Node modules): it runs wherever `fetch` does.

import { exchange, globalFetch } from "./http.js";
import type { AnalysisProvider, FetchLike, PrometheusQueries, ProviderFigures, ProviderRequest } from "./types.js";

/** A query that failed: the expanded query and what the server (or the network) said. */
export class PrometheusQueryError extends Error {
  /** Always `"PrometheusQueryError"`, to tell this error apart in logs and `catch` blocks. */
  override readonly name = "PrometheusQueryError";
  constructor(
    message: string,
    /** The PromQL sent, placeholders filled in. */
    readonly query: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(`${message} (query: ${query})`);
  }
}

/** Settings of {@link prometheusProvider}. */
export interface PrometheusProviderOptions {
  /** Base URL of the server (`http://prometheus:9090`). */
  readonly url: string;
  /** The queries (see {@link PrometheusQueries}). */
  readonly queries: PrometheusQueries;
  /** Time allowed for one attempt, in ms. Default 5,000. */
  readonly timeoutMs?: number;
  /** Attempts after the first on network errors, time-outs and 5xx answers. Default 2. */
  readonly retries?: number;
  /** Default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
}

/** Fills in a query's placeholders for one version and one check. */
export function expandQuery(template: string, request: ProviderRequest, version: string): string {
  const spanSeconds = Math.max(1, Math.round((request.to - request.from) / 1000));
  const values: Readonly<Record<string, string>> = {
    version,
    stable: request.stable,
    canary: request.canary,
    window: `${spanSeconds}s`,
    stepStart: String(Math.floor(request.stepStartedAt / 1000)),
    now: String(Math.floor(request.to / 1000)),
  };
  return template.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/** One series' value, or the scalar; sums several series (counts), or takes the largest (latency). */
function valueOf(body: unknown, combine: "sum" | "max"): number | null {
  const data = (body as { data?: { resultType?: unknown; result?: unknown } } | null)?.data;
  const parse = (pair: unknown): number | null => {
    if (!Array.isArray(pair) || pair.length < 2) return null;
    const value = Number(pair[1]);
    return Number.isFinite(value) ? value : null;
  };
  if (data?.resultType === "scalar") return parse(data.result);
  if (data?.resultType !== "vector" || !Array.isArray(data.result)) return null;
  let out: number | null = null;
  for (const series of data.result as unknown[]) {
    const value = parse((series as { value?: unknown } | null)?.value);
    if (value === null) continue;
    out = out === null ? value : combine === "sum" ? out + value : Math.max(out, value);
  }
  return out;
}

interface ApiBody {
  readonly status?: unknown;
  readonly error?: unknown;
  readonly errorType?: unknown;
}

function parseBody(text: string): ApiBody | null {
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null ? (body as ApiBody) : null;
  } catch {
    return null;
  }
}

/**
 * Runs one instant query (`GET /api/v1/query?query=…&time=…`), retrying network errors, time-outs and 5xx answers
 * (a 4xx is the query's fault: asking again gives the same answer).
 * Resolves with the value, or null when the result is empty (no data); rejects with a {@link PrometheusQueryError}
 * holding the query and the server's message.
 */
export async function instantQuery(
  url: string,
  query: string,
  atMs: number,
  options: { readonly timeoutMs: number; readonly retries: number; readonly fetch: FetchLike; readonly combine?: "sum" | "max" },
): Promise<number | null> {
  const params = `query=${encodeURIComponent(query)}&time=${(atMs / 1000).toFixed(3)}&timeout=${Math.max(1, Math.floor(options.timeoutMs / 1000))}s`;
  const target = `${url}/api/v1/query?${params}`;
  const answer = await exchange(options.fetch, target, { method: "GET", headers: { accept: "application/json" } }, options);
  if (!answer.answered) throw new PrometheusQueryError(`Prometheus ${answer.reason}`, query);
  const body = parseBody(answer.text);
  if (answer.status >= 200 && answer.status < 300 && body?.status === "success") return valueOf(body, options.combine ?? "sum");
  const said =
    typeof body?.error === "string" ? `${typeof body.errorType === "string" ? `${body.errorType}: ` : ""}${body.error}` : answer.text.slice(0, 200).trim();
  throw new PrometheusQueryError(`Prometheus answered ${answer.status}${said === "" ? "" : `: ${said}`}`, query, answer.status);
}

/**
 * An {@link AnalysisProvider} reading both versions' figures from Prometheus: each query of `queries` is an instant
 * query at the check's instant, once per version (`{{version}}`), all in parallel. An empty result is no data
 * (the criteria that need it are inconclusive). Plans name a Prometheus provider in their `providers`, and the
 * runner builds it; call this yourself to use one in code.
 *
 * @example
 * ```ts
 * const provider = prometheusProvider({
 *   url: "http://127.0.0.1:9090",
 *   queries: { requests: 'sum(increase(turnout_requests_total{version="{{version}}"}[{{window}}]))' },
 * });
 * ```
 */
export function prometheusProvider(options: PrometheusProviderOptions): AnalysisProvider {
  const fetch = options.fetch ?? globalFetch();
  const settings = { timeoutMs: options.timeoutMs ?? 5_000, retries: options.retries ?? 2 };
  const url = options.url.replace(/\/+$/, "");
  return async (request) => {
    if (typeof fetch !== "function") throw new Error("this runtime has no fetch: pass one to the runner (options.fetch)");
    const figures = async (version: string): Promise<ProviderFigures> => {
      const run = (template: string | undefined, combine: "sum" | "max"): Promise<number | null> | null =>
        template === undefined ? null : instantQuery(url, expandQuery(template, request, version), request.to, { ...settings, fetch, combine });
      const [requests, errors, p99Ms] = await Promise.all([
        run(options.queries.requests, "sum"),
        run(options.queries.errors, "sum"),
        run(options.queries.p99Ms, "max"),
      ]);
      return { requests: requests ?? null, errors: errors ?? null, p99Ms: p99Ms ?? null };
    };
    const [canary, stable] = await Promise.all([figures(request.canary), figures(request.stable)]);
    return { canary, stable };
  };
}

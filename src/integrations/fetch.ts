/**
 * `turnout/fetch`: turnout for the Web-standard `Request`/`Response` (Bun, Deno, Cloudflare Workers, Next.js
 * middleware, Node's fetch servers): the decision for a `Request`, a wrapper for any fetch handler, and a proxy
 * that forwards with `fetch`. Web APIs only, no Node module, so it runs wherever `fetch` does.
 */
import type { Decision, RouteRequest, Router } from "../types.js";
import { ProblemCode } from "../errors.js";
import { isRecord } from "../internal/problems.js";
import { createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import { type FetchFunction, guardBody, responseHeaders, send, startCopy, tapBody } from "./http/fetch-exchange.js";
import { type HeaderRecord, forwardHeaders } from "./http/headers.js";
import { throttledWarn } from "./http/mirror.js";
import { PROXY_FIELDS, type ProxySettings, resolveProxyOptions } from "./http/proxy-options.js";
import { type ProxyCounters, type SharedProxyOptions, UpstreamError } from "./http/proxy-shared.js";
import { splitTarget } from "./http/request.js";
import { upstreamAnswer } from "./http/respond.js";
import type { Duration, HttpCounters, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators } from "./http/validate.js";
import { addPairs, checkInput, hasWaitUntil, jsonResponse, targetOf, withHeaders } from "./http/web.js";

/**
 * A fetch handler: a `Request` (and whatever the runtime passes after it: Workers' `env` and `ctx`, Deno's
 * `info`) in, a `Response` out.
 *
 * @example
 * ```ts
 * const hello: FetchHandler = () => new Response("hello");
 * ```
 */
export type FetchHandler<Args extends unknown[] = unknown[]> = (request: Request, ...args: Args) => Response | Promise<Response>;

/**
 * Options of {@link turnout}; the functions receive the `Request`.
 *
 * @example
 * ```ts
 * const options: TurnoutFetchOptions = { key: (request) => request.headers.get("x-user-id") ?? undefined, stats };
 * ```
 */
export type TurnoutFetchOptions = TurnoutHttpOptions<Request>;

/**
 * A wrapped fetch handler, with turnout's live counters.
 *
 * @example
 * ```ts
 * const handler: TurnoutFetchHandler = turnout(router, app); handler.counters.requests;
 * ```
 */
export type TurnoutFetchHandler<Args extends unknown[] = unknown[]> = ((request: Request, ...args: Args) => Promise<Response>) & {
  /** Live counters of the handler: requests seen, faults, `410` and `404` answers; they only go up. */
  readonly counters: HttpCounters;
};

const decisions = new WeakMap<Request, Decision>();

/**
 * The `RouteRequest` of a `Request`: its headers (a `Headers` object: cookies and the version header are read
 * from it only when a rule asks) and its path with the query string.
 *
 * @example
 * ```ts
 * router.decide({ ...routeRequest(request), key: request.headers.get("x-user-id") ?? undefined });
 * ```
 */
export function routeRequest(request: Request): RouteRequest {
  return { headers: request.headers, path: targetOf(request.url) };
}

/**
 * The decision turnout made for `request` in {@link turnout} (or `undefined` outside it).
 *
 * @example
 * ```ts
 * const app = turnout(router, (request) => Response.json({ servedBy: decisionOf(request)?.version }));
 * ```
 */
export function decisionOf(request: Request): Decision | undefined {
  return decisions.get(request);
}

/**
 * Wraps a fetch handler: decides each request's version (read it with {@link decisionOf}), answers 410 after a
 * version's sunset and 404 for an unknown version, adds turnout's headers to the handler's response (copying a
 * response whose headers are immutable), and records the outcome in `stats` when the handler has answered: the
 * status and the time to the response's headers; a throw is recorded as a failure and rethrown. Throws
 * `TurnoutConfigError` for bad options; never throws on its own account on the request path.
 *
 * @example
 * ```ts
 * export default { fetch: turnout(router, (request) => Response.json({ servedBy: decisionOf(request)?.version }), { stats }) };
 * ```
 */
export function turnout<Args extends unknown[]>(router: Router, handler: FetchHandler<Args>, options: TurnoutFetchOptions = {}): TurnoutFetchHandler<Args> {
  if (typeof handler !== "function") throw new TypeError("turnout/fetch: the handler must be a function");
  const engine = createEngine<Request>(router, options);
  const wrapped = async (request: Request, ...args: Args): Promise<Response> => {
    const prepared = engine.prepare(request, targetOf(request.url), request);
    decisions.set(request, prepared.decision);
    if (prepared.answer !== undefined) {
      engine.record(prepared, prepared.answer.status);
      return jsonResponse(prepared.answer, prepared.headers);
    }
    let response: Response;
    try {
      response = await handler(request, ...args);
    } catch (error) {
      engine.record(prepared, undefined, error);
      throw error;
    }
    engine.record(prepared, response.status);
    try {
      return withHeaders(response, prepared.headers);
    } catch (error) {
      engine.fault("setting the response headers failed", error);
      return response;
    }
  };
  return Object.assign(wrapped, { counters: engine.counters });
}

/**
 * A fetch handler that dispatches to the handler of the decided version (inside {@link turnout}). With no
 * handler for it, the `fallback` handler runs, else the answer is `404`. With `validate`, the body is checked
 * first (see {@link validate}).
 *
 * @example
 * ```ts
 * const app = turnout(router, versioned({ v1: () => Response.json(listV1()), v2: () => Response.json(listV2()) }));
 * ```
 */
export function versioned<Args extends unknown[]>(
  handlers: Readonly<Record<string, FetchHandler<Args>>>,
  options: VersionedOptions<Request> = {},
): FetchHandler<Args> {
  checkVersioned(handlers, options);
  const validators = options.validate;
  return async (request, ...args) => {
    const decision = decisions.get(request);
    const handler = pickHandler(handlers, decision, options.fallback);
    if (handler === undefined) {
      if (decision === undefined) throw new Error("turnout: versioned() needs to run inside turnout()");
      return new Response(null, { status: 404 });
    }
    if (validators !== undefined && decision !== undefined) {
      const invalid = await checkInput(validators, decision, request, request);
      if (invalid !== undefined) return jsonResponse(invalid, []);
    }
    return handler(request, ...args);
  };
}

/**
 * Validates the request body with the decided version's validator (a function or a Standard Schema such as zod
 * or valibot) before `handler` runs: a JSON body is parsed, a form gives its fields, other bodies their text.
 * Invalid requests get `400` with every problem listed. The handler can still read the body.
 *
 * @example
 * ```ts
 * const app = turnout(router, validate({ v1: UserV1, v2: UserV2 }, createUser));
 * ```
 */
export function validate<Args extends unknown[]>(validators: Validators<Request>, handler: FetchHandler<Args>): FetchHandler<Args> {
  checkValidators(validators, "validate");
  if (typeof handler !== "function") throw new TypeError("turnout/fetch: validate() needs a handler function");
  return async (request, ...args) => {
    const decision = decisions.get(request);
    if (decision === undefined) throw new Error("turnout: validate() needs to run inside turnout()");
    const invalid = await checkInput(validators, decision, request, request);
    return invalid !== undefined ? jsonResponse(invalid, []) : handler(request, ...args);
  };
}

/**
 * Options of {@link createFetchProxy}: the proxy options shared with `createProxy` of `turnout/node` (upstreams,
 * mirror, trustProxy, rewritePath and the middleware's options, whose functions receive the `Request`), plus what
 * a fetch runtime needs.
 *
 * @example
 * ```ts
 * const options: FetchProxyOptions = {
 *   upstreams: { v1: "https://v1.internal.example", v2: "https://v2.internal.example" },
 *   address: (request) => request.headers.get("cf-connecting-ip") ?? undefined,
 *   timeouts: { response: "15s" },
 * };
 * ```
 */
export interface FetchProxyOptions extends SharedProxyOptions<Request> {
  /** Time limits. */
  readonly timeouts?: {
    /** From the start of the request to the upstream's response headers (connecting included); then `504`. Default `"30s"`. */
    readonly response?: Duration;
    /** Longest pause in the upstream's response body; a longer one cuts the response. Default `"60s"`. */
    readonly idle?: Duration;
  };
  /** The `fetch` that reaches the upstreams (a service binding's, an instrumented one). Default: the global `fetch`. */
  readonly fetch?: FetchFunction;
  /**
   * The client's IP address for `X-Forwarded-For` (Bun: `server.requestIP(request)?.address`, Deno: the handler
   * info's `remoteAddr.hostname`, Workers: the `CF-Connecting-IP` header). Receives the proxy's arguments. Default:
   * none, and `X-Forwarded-For` is only sent when `trustProxy` keeps the client's.
   */
  readonly address?: (request: Request, ...args: unknown[]) => string | undefined;
  /**
   * Keeps the runtime alive until a shadow copy has finished (Vercel's `waitUntil`). When the proxy's second
   * argument has a `waitUntil` method (a Workers `ExecutionContext`), that one is used.
   */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * The fetch proxy: a fetch handler with the proxy's live counters.
 *
 * @example
 * ```ts
 * const proxy: TurnoutFetchProxy = createFetchProxy(router, { upstreams }); proxy.counters.upstreamErrors;
 * ```
 */
export type TurnoutFetchProxy = ((request: Request, ...args: unknown[]) => Promise<Response>) & {
  /** Live counters of the proxy: requests, faults, upstream errors and mirrored copies. */
  readonly counters: ProxyCounters;
};

const FETCH_PROXY_FIELDS = [...PROXY_FIELDS.filter((field) => field !== "agent" && field !== "tls"), "fetch", "address", "waitUntil"];

/**
 * A reverse proxy on `fetch`, for any runtime: decides each request's version with `router` and forwards it to
 * that version's upstream, streaming the request and response bodies. Hop-by-hop headers are dropped and
 * `X-Forwarded-For/Proto/Host` added (the client's are trusted only with `trustProxy`); an unreachable upstream
 * gets `502` and a slow one `504`, with the same JSON bodies as `createProxy` of `turnout/node`. Decisions with
 * `mirror` also send a copy to the mirror version, bounded and fire-and-forget. The outcome is recorded when the
 * response body has been sent. Throws `TurnoutConfigError` listing every bad option.
 *
 * @example
 * ```ts
 * const proxy = createFetchProxy(router, { upstreams: { v1: "http://127.0.0.1:3001", v2: "http://127.0.0.1:3002" } });
 * export default { fetch: proxy };
 * ```
 */
export function createFetchProxy(router: Router, options: FetchProxyOptions): TurnoutFetchProxy {
  let settings: ProxySettings | undefined;
  const engine = createEngine<Request>(router, options, FETCH_PROXY_FIELDS, (problems) => {
    settings = resolveProxyOptions(router, options, problems, ["response", "idle"]);
    for (const name of ["fetch", "address", "waitUntil"] as const) {
      if (isRecord(options) && options[name] !== undefined && typeof options[name] !== "function") problems.add(ProblemCode.Type, name, "expected a function");
    }
  });
  const config = settings as ProxySettings;
  const fetchFn: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  const bases = new Map([...config.upstreamUrls].map(([version, url]) => [version, url.origin + url.pathname.replace(/\/$/, "")]));
  const counters = Object.assign(engine.counters, {
    upstreamErrors: 0,
    mirrored: 0,
    mirrorDropped: 0,
    mirrorErrors: 0,
    mirrorInFlight: 0,
    compared: 0,
    mismatches: 0,
  });
  const warn = throttledWarn(engine.logger, 60_000);
  const mirrorWarn = throttledWarn(engine.logger, 60_000);

  const keepAlive = (context: unknown, done: Promise<void>): void => {
    try {
      if (hasWaitUntil(context)) context.waitUntil(done);
      else options.waitUntil?.(done);
    } catch (error) {
      engine.fault("waitUntil threw; the shadow copy may be cut short", error);
    }
  };

  const failed = (version: string, failure: "timeout" | "unavailable", error: unknown): UpstreamError => {
    counters.upstreamErrors++;
    warn("an upstream request failed", { version, kind: failure, error });
    return new UpstreamError(failure === "timeout" ? 504 : 502, error);
  };

  const proxy = async (request: Request, ...args: unknown[]): Promise<Response> => {
    const target = targetOf(request.url);
    const prepared = engine.prepare(request, target, request);
    const { decision } = prepared;
    const base = bases.get(decision.version);
    if (prepared.answer !== undefined || base === undefined) {
      if (base === undefined && prepared.answer === undefined) {
        counters.upstreamErrors++;
        warn("no upstream is configured for a version", { version: decision.version });
      }
      const answer = prepared.answer ?? upstreamAnswer("missing", decision.version);
      engine.record(prepared, answer.status);
      return jsonResponse(answer, prepared.headers);
    }
    const { path, query } = splitTarget(target);
    const pathFor = (version: string): string => {
      let rewritten = path;
      try {
        if (options.rewritePath !== undefined) rewritten = String(options.rewritePath(path, version, decision));
      } catch (error) {
        engine.fault("rewritePath threw; the path is sent unchanged", error);
      }
      return (rewritten.startsWith("/") ? rewritten : `/${rewritten}`) + (query === "" ? "" : `?${query}`);
    };
    const client: HeaderRecord = {};
    request.headers.forEach((value, name) => (client[name] = value));
    // A Request built in code has no Host header (it is a forbidden name): the URL says which host was asked for.
    if (client.host === undefined) {
      const start = request.url.indexOf("//") + 2;
      const end = request.url.indexOf("/", start);
      client.host = request.url.slice(start, end === -1 ? undefined : end);
    }
    let address: string | undefined;
    try {
      address = options.address?.(request, ...args);
    } catch (error) {
      engine.fault("address threw; no client address is forwarded", error);
    }
    const forwarded = forwardHeaders(client, {
      address: typeof address === "string" ? address : "",
      proto: request.url.startsWith("https:") ? "https" : "http",
      trustProxy: config.trustProxy,
    });
    const headers = new Headers();
    for (const name of Object.keys(forwarded)) headers.set(name, String(forwarded[name]));
    let body = request.body;
    const mirrorVersion = decision.mirror;
    const mirrorBase = mirrorVersion === undefined ? undefined : bases.get(mirrorVersion);
    let copy: ReturnType<typeof startCopy>;
    let abandon: (() => void) | undefined;
    if (mirrorVersion !== undefined && mirrorBase !== undefined) {
      const tapped = body === null ? undefined : tapBody(body, config.mirror.maxBodyBytes);
      if (tapped !== undefined) ({ body, abandon } = tapped);
      const mirrorPath = pathFor(mirrorVersion);
      copy = startCopy(
        {
          version: mirrorVersion,
          primaryVersion: decision.version,
          method: request.method,
          path: mirrorPath,
          url: mirrorBase + mirrorPath,
          headers: new Headers(headers),
          body: tapped?.copy ?? Promise.resolve([]),
          declared: Number(request.headers.get("content-length") ?? Number.NaN),
        },
        fetchFn,
        config.mirror,
        counters,
        mirrorWarn,
      );
      if (copy === undefined) abandon?.();
      else keepAlive(args[0], copy.done);
    } else if (mirrorVersion !== undefined) {
      counters.mirrorDropped++;
      mirrorWarn("no upstream is configured for the mirror version", { version: mirrorVersion });
    }
    const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, ...(body === null ? {} : { body, duplex: "half" }) };
    const result = await send(fetchFn, base + pathFor(decision.version), init, request.signal, config.responseMs);
    if ("failure" in result) {
      abandon?.();
      copy?.primaryAnswered(undefined);
      if (result.failure === "gone") {
        engine.record(prepared, undefined);
        return new Response(null, { status: 499 });
      }
      engine.record(prepared, undefined, failed(decision.version, result.failure, result.error));
      return jsonResponse(upstreamAnswer(result.failure, decision.version), prepared.headers);
    }
    const { response, controller } = result;
    copy?.primaryAnswered(response.status);
    const outHeaders = responseHeaders(response.headers);
    addPairs(outHeaders, prepared.headers);
    const status = response.status;
    const init2 = { status, statusText: response.statusText, headers: outHeaders };
    if (response.body === null) {
      engine.record(prepared, status);
      return new Response(null, init2);
    }
    const streamed = guardBody(response.body, config.idleMs, controller, (failure, error) => {
      if (failure === undefined) engine.record(prepared, status);
      else if (failure === "gone") engine.record(prepared, undefined);
      else engine.record(prepared, undefined, failed(decision.version, failure, error));
    });
    return new Response(streamed, init2);
  };
  return Object.assign(proxy, { counters: counters as ProxyCounters });
}

export type { FetchFunction } from "./http/fetch-exchange.js";
export type { ProxyCounters, SharedProxyOptions } from "./http/proxy-shared.js";
export type { MirrorResult } from "./http/mirror.js";
export type {
  HttpCounters,
  TurnoutHttpOptions,
  Validators,
  Validator,
  ValidatorFunction,
  ValidationProblem,
  ValidationContext,
  StandardSchemaLike,
  PinCookieOptions,
  ResponseHeaderNames,
} from "./http/types.js";
export type { VersionedOptions } from "./http/dispatch.js";

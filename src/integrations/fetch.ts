/**
 * `turnout/fetch`: turnout for the Web-standard `Request`/`Response` (Bun, Deno, Cloudflare Workers, Next.js
 * middleware, Node's fetch servers): the decision for a `Request`, a wrapper for any fetch handler, and a proxy
 * that forwards with `fetch`. Web APIs only, no Node module, so it runs wherever `fetch` does.
 */
import type { Decision, RouteRequest, Router } from "../types.js";
import { createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import type { HttpCounters, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators } from "./http/validate.js";
import { checkInput, jsonResponse, targetOf, withHeaders } from "./http/web.js";

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

export type { HttpCounters, TurnoutHttpOptions, Validators, Validator, ValidatorFunction, ValidationProblem, ValidationContext, StandardSchemaLike, PinCookieOptions, ResponseHeaderNames } from "./http/types.js";
export type { VersionedOptions } from "./http/dispatch.js";

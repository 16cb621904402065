/**
 * `turnout/hono`: middleware for Hono 4, on any runtime Hono runs on. Only types are imported from Hono, so
 * loading this module never loads the framework.
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { Decision, Router } from "../types.js";
import { createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import type { HttpCounters, RequestLike, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators } from "./http/validate.js";
import { type HeaderPair, combinesWithYours } from "./http/respond.js";
import { addPairs, checkInput, jsonResponse, targetOf } from "./http/web.js";

/**
 * The Hono environment the middleware provides: `c.get("turnout")` (and `c.var.turnout`) is the decision. Merge it
 * with your own: `new Hono<TurnoutEnv & { Bindings: Env }>()`, or let `app.use(turnout(router))` infer it.
 *
 * @example
 * ```ts
 * const app = new Hono<TurnoutEnv>();
 * app.get("/users", (c) => c.json({ servedBy: c.var.turnout.version }));
 * ```
 */
export type TurnoutEnv = {
  /** Hono's context variables the middleware sets. */
  Variables: {
    /** The request's decision: the version chosen and why; read it as `c.var.turnout` or `c.get("turnout")`. */
    turnout: Decision;
  };
};

/**
 * Options of the Hono middleware; the functions receive Hono's `Context`.
 *
 * @example
 * ```ts
 * const options: TurnoutHonoOptions = { key: (c) => c.req.header("x-user-id"), stats };
 * ```
 */
export type TurnoutHonoOptions = TurnoutHttpOptions<Context>;

/**
 * The middleware, with its live counters.
 *
 * @example
 * ```ts
 * const mw: TurnoutHonoMiddleware = turnout(router); mw.counters.requests;
 * ```
 */
export type TurnoutHonoMiddleware = MiddlewareHandler<TurnoutEnv> & {
  /** Live counters of the middleware: requests seen, faults, `410` and `404` answers; they only go up. */
  readonly counters: HttpCounters;
};

/**
 * Decides the version of every request: sets `c.var.turnout` and turnout's headers (also on the answers of
 * Hono's error handler), answers 410 after a version's sunset and 404 for an unknown version, and records the
 * outcome in `stats` once the response is ready (a thrown error is a failure). Throws `TurnoutConfigError` for
 * bad options; never throws on the request path.
 *
 * @example
 * ```ts
 * const app = new Hono().use(turnout(router, { key: (c) => c.req.header("x-user-id"), stats }));
 * app.get("/users", (c) => c.json({ servedBy: c.var.turnout.version }));
 * ```
 */
export function turnout(router: Router, options: TurnoutHonoOptions = {}): TurnoutHonoMiddleware {
  const engine = createEngine<Context>(router, options);
  const middleware: MiddlewareHandler<TurnoutEnv> = async (c, next) => {
    if (c.get("turnout") !== undefined) return next(); // mounted twice: decide once
    const node = nodeOf(c);
    const prepared = node === undefined ? engine.prepare(c.req.raw, targetOf(c.req.url), c) : engine.prepare(node.incoming, node.incoming.url, c);
    c.set("turnout", prepared.decision);
    if (prepared.answer !== undefined) {
      engine.record(prepared, prepared.answer.status);
      return jsonResponse(prepared.answer, prepared.headers);
    }
    // On Node, unless some header combines with the application's, the headers go on Node's response before the
    // route runs and reach the client whatever response the route returns: Hono's own fast way of writing a
    // response stays open, where reading `c.res.headers` would build a Web `Headers` for every response. Node lets
    // the response's own headers win, as turnout's rule says.
    const outgoing = node !== undefined && !prepared.headers.some(combines) ? node.outgoing : undefined;
    if (outgoing !== undefined) {
      try {
        for (const [name, value] of prepared.headers) outgoing.setHeader(name, value);
      } catch (error) {
        engine.fault("setting the response headers failed", error);
      }
    }
    await next(); // Hono's compose hands a throw to onError and keeps it in c.error
    if (engine.records) engine.record(prepared, c.res.status, c.error);
    if (outgoing !== undefined) return;
    try {
      addPairs(c.res.headers, prepared.headers, true);
    } catch {
      // Immutable headers (a response from fetch): Hono's `res` setter copies the response into a mutable one.
      try {
        c.res = new Response(c.res.body, c.res);
        addPairs(c.res.headers, prepared.headers, true);
      } catch (error) {
        engine.fault("setting the response headers failed", error);
      }
    }
  };
  return Object.assign(middleware, { counters: engine.counters });
}

const combines = ([name]: HeaderPair): boolean => combinesWithYours(name);

/** Node's request and response under `@hono/node-server`, which passes them as `c.env.incoming` and `c.env.outgoing`. */
interface NodePair {
  readonly incoming: RequestLike & { readonly url: string };
  readonly outgoing: { setHeader(name: string, value: string): unknown };
}

/**
 * Node's request and response, when Hono runs on `@hono/node-server`. turnout reads the request headers from Node's
 * request, a plain object already, where the Web `Request`'s `Headers` would be built from the raw headers for
 * turnout alone (unless the application reads them too). Elsewhere, `undefined`: the Web `Request` is read.
 */
function nodeOf(c: Context): NodePair | undefined {
  const env = c.env as { incoming?: unknown; outgoing?: unknown } | undefined;
  const incoming = env?.incoming as { rawHeaders?: unknown; headers?: unknown; url?: unknown } | null | undefined;
  const outgoing = env?.outgoing as { setHeader?: unknown; headersSent?: unknown } | null | undefined;
  if (typeof incoming !== "object" || incoming === null || typeof outgoing !== "object" || outgoing === null) return undefined;
  if (!Array.isArray(incoming.rawHeaders) || typeof incoming.headers !== "object" || incoming.headers === null || typeof incoming.url !== "string")
    return undefined;
  if (typeof outgoing.setHeader !== "function" || outgoing.headersSent !== false) return undefined;
  return { incoming, outgoing } as NodePair;
}

/**
 * Validates the request body with the decided version's validator (a function or a Standard Schema such as zod
 * or valibot): a JSON body is parsed, a form gives its fields, other bodies their text. Invalid requests get `400`
 * with every problem listed; the handler can still read the body. Mount it after `turnout()`.
 *
 * @example
 * ```ts
 * app.post("/users", validate({ v1: UserV1, v2: UserV2 }), createUser);
 * ```
 */
export function validate<E extends TurnoutEnv>(validators: Validators<Context>): MiddlewareHandler<E> {
  checkValidators(validators, "validate");
  return async (c, next) => {
    const decision = c.get("turnout") as Decision | undefined;
    if (decision === undefined) throw new Error("turnout: validate() needs the turnout() middleware before it");
    const invalid = await checkInput(validators, decision, c.req.raw, c as Context);
    if (invalid !== undefined) return jsonResponse(invalid, []);
    await next();
  };
}

/**
 * A Hono handler that dispatches to the handler of the decided version. With no handler for it, the `fallback`
 * handler runs, else the request goes on (`next()`; Hono answers 404 when nothing else does). With `validate`, the
 * body is checked first: a JSON body is parsed, a form gives its fields; invalid requests get `400` with every
 * problem listed.
 *
 * @example
 * ```ts
 * app.get("/users", versioned({ v1: (c) => c.json(listV1()), v2: (c) => c.json(listV2()) }));
 * ```
 */
export function versioned<E extends TurnoutEnv>(handlers: Readonly<Record<string, Handler<E>>>, options: VersionedOptions<Context> = {}): MiddlewareHandler<E> {
  checkVersioned(handlers, options);
  const validators = options.validate;
  return async (c, next) => {
    const decision = c.get("turnout") as Decision | undefined;
    const handler = pickHandler(handlers, decision, options.fallback);
    if (handler === undefined) {
      if (decision === undefined) throw new Error("turnout: versioned() needs the turnout() middleware before it");
      return next();
    }
    if (validators !== undefined && decision !== undefined) {
      const invalid = await checkInput(validators, decision, c.req.raw, c as Context);
      if (invalid !== undefined) return jsonResponse(invalid, []);
    }
    return (await handler(c, next)) as Response | undefined;
  };
}

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

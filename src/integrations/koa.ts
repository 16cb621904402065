/**
 * `turnout/koa`: middleware for Koa 2 and 3. Only types are imported from Koa, so loading this module never
 * loads the framework.
 *
 * @module turnout/koa
 */
import type { Context, Middleware, Next } from "koa";
import type { Decision, Router } from "../types.js";
import { createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import { type HeaderPair, applyHeaders, invalidAnswer } from "./http/respond.js";
import type { HttpCounters, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators, runValidator, validatorFor } from "./http/validate.js";

declare module "koa" {
  interface DefaultState {
    /** The version decision of the turnout middleware for this request. */
    turnout?: Decision;
  }
}

/**
 * Options of the Koa middleware; the functions receive Koa's `Context`.
 *
 * @example
 * ```ts
 * const options: TurnoutKoaOptions = { key: (ctx) => ctx.get("x-user-id") || undefined, stats };
 * ```
 */
export type TurnoutKoaOptions = TurnoutHttpOptions<Context>;

/**
 * The middleware, with its live counters.
 *
 * @example
 * ```ts
 * const mw: TurnoutKoaMiddleware = turnout(router); mw.counters.requests;
 * ```
 */
export type TurnoutKoaMiddleware = Middleware & {
  /** Live counters: requests, faults, 410s (`gone`) and 404s (`unknownVersion`). */
  readonly counters: HttpCounters;
};

/** The `ctx.state` turnout reads and writes, whatever state type the application declares. */
type WithDecision = { turnout?: Decision };

/**
 * Decides the version of every request: sets `ctx.state.turnout` and the response headers, answers 410 after a
 * version's sunset and 404 for an unknown version, and records the outcome in `stats` when the response ends
 * (a thrown error with no 4xx status counts as a failure). Throws `TurnoutConfigError` for bad options; never
 * throws on the request path.
 *
 * @example
 * ```ts
 * app.use(turnout(router, { key: (ctx) => ctx.get("x-user-id") || undefined, stats }));
 * app.use((ctx) => { ctx.body = { servedBy: ctx.state.turnout?.version }; });
 * ```
 */
export function turnout(router: Router, options: TurnoutKoaOptions = {}): TurnoutKoaMiddleware {
  const engine = createEngine<Context>(router, options);
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const state = ctx.state as WithDecision;
    if (state.turnout !== undefined) return next(); // mounted twice: decide once
    const prepared = engine.prepare(ctx.req, ctx.originalUrl, ctx);
    state.turnout = prepared.decision;
    try {
      applyHeaders(ctx.res, prepared.headers);
    } catch (error) {
      engine.fault("setting the response headers failed", error);
    }
    let thrown: unknown;
    engine.watch(ctx.res, prepared, () => thrown);
    if (prepared.answer !== undefined) {
      ctx.status = prepared.answer.status;
      ctx.body = prepared.answer.body;
      ctx.set("cache-control", "no-store");
      return;
    }
    try {
      await next();
    } catch (error) {
      thrown = error;
      keepHeadersOnError(ctx, prepared.headers);
      throw error;
    }
  };
  return Object.assign(middleware, { counters: engine.counters });
}

/**
 * Koa's default error handler (`ctx.onerror`) removes every response header, then sets the error's own `headers`.
 * So that a 500 still says which version failed (and keeps its pin and lifecycle headers), turnout's headers are lent
 * to the error for that one answer, under the error's own, and taken back at once: a shared error object keeps none.
 */
function keepHeadersOnError(ctx: Context, pairs: readonly HeaderPair[]): void {
  if (pairs.length === 0 || Object.hasOwn(ctx, "onerror")) return;
  const onerror = ctx.onerror;
  ctx.onerror = (error: unknown): void => {
    if (typeof error !== "object" || error === null) return onerror.call(ctx, error as Error);
    const target = error as { headers?: unknown };
    const own = Object.hasOwn(target, "headers");
    const previous = target.headers;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of pairs) headers[name] = name === "set-cookie" ? [value] : value;
    try {
      target.headers = { ...headers, ...(typeof previous === "object" && previous !== null ? previous : {}) };
    } catch {
      return onerror.call(ctx, error as Error); // a frozen error: Koa answers without turnout's headers
    }
    try {
      onerror.call(ctx, error as Error);
    } finally {
      if (own) target.headers = previous;
      else delete target.headers;
    }
  };
}

/** Runs the decided version's validator on `ctx.request.body`; true when the request may go on. */
async function passes(validators: Validators<Context>, ctx: Context): Promise<boolean> {
  const decision = (ctx.state as WithDecision).turnout;
  const validator = decision === undefined ? undefined : validatorFor(validators, decision.version);
  if (decision === undefined || validator === undefined) return true;
  const body = (ctx.request as { body?: unknown }).body;
  const problems = await runValidator(validator, body, { version: decision.version, decision, request: ctx });
  if (problems.length === 0) return true;
  const answer = invalidAnswer(decision.version, problems);
  ctx.status = answer.status;
  ctx.body = answer.body;
  return false;
}

/**
 * Validates `ctx.request.body` with the decided version's validator (a function or a Standard Schema such as zod
 * or valibot); invalid requests get `400` with every problem listed. Mount it after a body parser and `turnout()`.
 *
 * @example
 * ```ts
 * router.post("/users", bodyParser(), validate({ v1: UserV1, v2: UserV2 }), createUser);
 * ```
 */
export function validate(validators: Validators<Context>): Middleware {
  checkValidators(validators, "validate");
  return async (ctx, next) => {
    if (await passes(validators, ctx as Context)) await next();
  };
}

/**
 * Dispatches to the handler of the decided version. With no handler for it, the `fallback` handler runs, else
 * the request goes on to the next middleware.
 *
 * @example
 * ```ts
 * app.use(versioned({ v1: (ctx) => { ctx.body = listV1(); }, v2: (ctx) => { ctx.body = listV2(); } }));
 * ```
 */
export function versioned(handlers: Readonly<Record<string, Middleware>>, options: VersionedOptions<Context> = {}): Middleware {
  checkVersioned(handlers, options);
  const validators = options.validate;
  return async (ctx, next) => {
    const decision = (ctx.state as WithDecision).turnout;
    const handler = pickHandler(handlers, decision, options.fallback);
    if (handler === undefined) {
      if (decision === undefined) throw new Error("turnout: versioned() needs the turnout() middleware before it");
      return next();
    }
    if (validators !== undefined && !(await passes(validators, ctx as Context))) return;
    await handler(ctx, next);
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
export type { StandardResultLike, ValidatorResult } from "./http/types.js";
export type { VersionedOptions } from "./http/dispatch.js";

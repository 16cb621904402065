/**
 * `turnout/express`: middleware for Express 4 and 5. Only types are imported from Express, so loading this module
 * never loads the framework.
 *
 * @module turnout/express
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Decision, Router } from "../types.js";
import { createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import { applyHeaders, invalidAnswer, writeJson } from "./http/respond.js";
import type { HttpCounters, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators, isPromiseLike, runValidator, validatorFor } from "./http/validate.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares Locals in its global namespace; augmenting it needs one
  namespace Express {
    interface Locals {
      /** The version decision of the turnout middleware for this request. */
      turnout?: Decision;
    }
  }
}

/**
 * Options of the Express middleware; the functions receive Express's `Request`.
 *
 * @example
 * ```ts
 * const options: TurnoutExpressOptions = { key: (req) => req.get("x-user-id"), stats };
 * ```
 */
export type TurnoutExpressOptions = TurnoutHttpOptions<Request>;

/**
 * The middleware, with its live counters.
 *
 * @example
 * ```ts
 * const mw: TurnoutExpressMiddleware = turnout(router); mw.counters.faults;
 * ```
 */
export type TurnoutExpressMiddleware = RequestHandler & {
  /** Live counters: requests, faults, 410s (`gone`) and 404s (`unknownVersion`). */
  readonly counters: HttpCounters;
};

/**
 * Decides the version of every request: sets `res.locals.turnout` and the response headers, answers 410 after a
 * version's sunset and 404 for an unknown version, and records the outcome in `stats` when the response ends.
 * Throws `TurnoutConfigError` for bad options; never throws on the request path.
 *
 * @example
 * ```ts
 * app.use(turnout(router, { key: (req) => req.get("x-user-id"), stats }));
 * app.get("/users", (req, res) => res.json({ servedBy: res.locals.turnout?.version }));
 * ```
 */
export function turnout(router: Router, options: TurnoutExpressOptions = {}): TurnoutExpressMiddleware {
  const engine = createEngine<Request>(router, options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (res.locals.turnout !== undefined) return next(); // mounted twice: decide once
    const prepared = engine.prepare(req, req.originalUrl, req);
    res.locals.turnout = prepared.decision;
    try {
      applyHeaders(res, prepared.headers);
    } catch (error) {
      engine.fault("setting the response headers failed", error);
    }
    engine.watch(res, prepared);
    if (prepared.answer !== undefined) return writeJson(res, prepared.answer);
    next();
  };
  return Object.assign(middleware, { counters: engine.counters });
}

type Proceed = () => void;

/** Hands a throw or rejection to Express's error handling; one without a reason still fails the request, as in Express 5. */
function failed(next: NextFunction): (error: unknown) => void {
  return (error) => next(error ? error : new Error("turnout: a handler or validator rejected or threw without a reason"));
}

/** Runs the decided version's validator on `req.body`; 400 with the problems, else `proceed`. */
function validation(validators: Validators<Request>) {
  checkValidators(validators, "validate");
  return (req: Request, res: Response, next: NextFunction, proceed: Proceed): void => {
    const decision = res.locals.turnout;
    const validator = decision === undefined ? undefined : validatorFor(validators, decision.version);
    if (decision === undefined || validator === undefined) return proceed();
    const finish = (problems: readonly { path: string; message: string }[]): void =>
      problems.length === 0 ? proceed() : writeJson(res, invalidAnswer(decision.version, problems));
    try {
      const result = runValidator(validator, req.body, { version: decision.version, decision, request: req });
      if (isPromiseLike(result)) result.then(finish, failed(next));
      else finish(result);
    } catch (error) {
      failed(next)(error);
    }
  };
}

/** Calls an Express handler; a rejected promise goes to `next` (Express 5 does this itself, Express 4 does not). */
function call(handler: RequestHandler, req: Request, res: Response, next: NextFunction): void {
  try {
    const result: unknown = handler(req, res, next);
    if (isPromiseLike(result)) result.then(undefined, failed(next));
  } catch (error) {
    failed(next)(error);
  }
}

/**
 * Validates `req.body` with the decided version's validator (a function or a Standard Schema such as zod or
 * valibot); invalid requests get `400` with every problem listed. Mount it after a body parser and `turnout()`.
 *
 * @example
 * ```ts
 * app.post("/users", express.json(), validate({ v1: UserV1, v2: UserV2 }), createUser);
 * ```
 */
export function validate(validators: Validators<Request>): RequestHandler {
  const check = validation(validators);
  return (req, res, next) => check(req, res, next, () => next());
}

/**
 * Dispatches to the handler of the decided version. With no handler for it, the `fallback` handler runs, else
 * the request goes on to the next route.
 *
 * @example
 * ```ts
 * app.get("/users", versioned({ v1: (req, res) => res.json(listV1()), v2: (req, res) => res.json(listV2()) }));
 * ```
 */
export function versioned(handlers: Readonly<Record<string, RequestHandler>>, options: VersionedOptions<Request> = {}): RequestHandler {
  checkVersioned(handlers, options);
  const check = options.validate === undefined ? undefined : validation(options.validate);
  return (req, res, next) => {
    const handler = pickHandler(handlers, res.locals.turnout, options.fallback);
    if (handler === undefined) {
      return next(res.locals.turnout === undefined ? new Error("turnout: versioned() needs the turnout() middleware before it") : undefined);
    }
    if (check === undefined) return call(handler, req, res, next);
    check(req, res, next, () => call(handler, req, res, next));
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

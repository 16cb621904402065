/**
 * `turnout/fastify`: a plugin for Fastify 5 and 4 (4.14 or later, for `onRequestAbort`). Only types are imported from Fastify, so loading this module never
 * loads the framework.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteHandlerMethod, preHandlerAsyncHookHandler } from "fastify";
import type { Decision, Router } from "../types.js";
import { type Prepared, createEngine } from "./http/engine.js";
import { type VersionedOptions, checkVersioned, pickHandler } from "./http/dispatch.js";
import { type JsonAnswer, invalidAnswer } from "./http/respond.js";
import type { HttpCounters, TurnoutHttpOptions, Validators } from "./http/types.js";
import { checkValidators, runValidator, validatorFor } from "./http/validate.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The version decision of the turnout plugin for this request (`null` where the plugin does not apply). */
    turnout: Decision | null;
  }
}

/**
 * Options of the Fastify plugin; the functions receive Fastify's `FastifyRequest`.
 *
 * @example
 * ```ts
 * const options: TurnoutFastifyOptions = { key: (request) => request.headers["x-user-id"] as string | undefined, stats };
 * ```
 */
export type TurnoutFastifyOptions = TurnoutHttpOptions<FastifyRequest>;

/**
 * The plugin, with its live counters.
 *
 * @example
 * ```ts
 * const plugin: TurnoutFastifyPlugin = turnout(router); plugin.counters.requests;
 * ```
 */
export type TurnoutFastifyPlugin = FastifyPluginAsync & {
  /** Live counters of the plugin: requests seen, faults, `410` and `404` answers; they only go up. */
  readonly counters: HttpCounters;
};

/** What the plugin keeps per request: the prepared decision, and the thrown error and whether the outcome was recorded. */
interface Exchange {
  readonly prepared: Prepared;
  error: unknown;
  recorded: boolean;
}

/**
 * A plugin that decides the version of every request in the context it is registered in (and its children,
 * not its siblings): `request.turnout` is the decision (in `onRequest`), turnout's headers go on every reply,
 * error replies and 404s included (set in `onRequest`; a header of the same name the route sets replaces turnout's,
 * Set-Cookie values add up), a version past its sunset gets 410 and an unknown version 404 before any
 * handler runs, and the outcome is recorded in `stats` when the response has been sent (`onResponse`; a thrown
 * error counts as a failure). Throws `TurnoutConfigError` for bad options; never throws on the request path.
 *
 * @example
 * ```ts
 * await app.register(turnout(router, { key: (request) => request.headers["x-user-id"] as string | undefined, stats }));
 * app.get("/users", async (request) => ({ servedBy: request.turnout?.version }));
 * ```
 */
export function turnout(router: Router, options: TurnoutFastifyOptions = {}): TurnoutFastifyPlugin {
  const engine = createEngine<FastifyRequest>(router, options);
  // A request decoration of this plugin's own (not a WeakMap: no ephemeron per request for the collector to trace).
  const held = Symbol("turnout.exchange");
  const exchangeOf = (request: FastifyRequest): Exchange | null => (request as unknown as Record<symbol, Exchange | null>)[held] ?? null;
  const record = (request: FastifyRequest, status: number | undefined): void => {
    const exchange = exchangeOf(request);
    if (exchange === null || exchange.recorded) return;
    exchange.recorded = true;
    engine.record(exchange.prepared, status, exchange.error);
  };
  // The hooks take Fastify's `done` callback: an async hook costs a promise and a trip through the microtask queue
  // per request and hook. Without stats there is nothing to record, so there are no end-of-response hooks and no
  // per-request state beyond `request.turnout`.
  const plugin: FastifyPluginAsync = async (instance) => {
    if (!instance.hasRequestDecorator("turnout")) instance.decorateRequest("turnout", null);
    if (engine.records && !instance.hasRequestDecorator(held)) instance.decorateRequest(held, null);
    // The headers are set as the request comes in, so they are on every reply, error replies and 404s included
    // (Fastify keeps a reply's headers when its error handler answers), and no `onSend` hook runs per reply.
    instance.addHook("onRequest", (request, reply, done) => {
      if (request.turnout !== null) return done(); // registered twice on the way: decide once
      const prepared = engine.prepare(request.raw, request.url, request);
      request.turnout = prepared.decision;
      if (engine.records) (request as unknown as Record<symbol, Exchange>)[held] = { prepared, error: undefined, recorded: false };
      try {
        for (const [name, value] of prepared.headers) {
          // Fastify appends Set-Cookie values itself; a Link an earlier hook set is joined.
          const existing = name === "link" ? reply.getHeader("link") : undefined;
          reply.header(name, existing === undefined ? value : `${String(existing)}, ${value}`);
        }
      } catch (error) {
        engine.fault("setting the response headers failed", error);
      }
      if (prepared.answer !== undefined) answer(reply, prepared.answer);
      else done();
    });
    if (!engine.records) return;
    instance.addHook("onError", (request, _reply, error, done) => {
      const exchange = exchangeOf(request);
      if (exchange !== null) exchange.error = error;
      done();
    });
    instance.addHook("onResponse", (request, reply, done) => {
      record(request, reply.statusCode);
      done();
    });
    instance.addHook("onRequestAbort", (request, done) => {
      record(request, undefined);
      done();
    });
  };
  // What fastify-plugin sets: the hooks apply to the context that registers the plugin, not to a child of it.
  Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "turnout",
    [Symbol.for("plugin-meta")]: { name: "turnout", fastify: "^4.14.0 || ^5.0.0" },
  });
  return Object.assign(plugin, { counters: engine.counters });
}

function answer(reply: FastifyReply, answer: JsonAnswer): FastifyReply {
  return reply.code(answer.status).header("cache-control", "no-store").send(answer.body);
}

/** Runs the decided version's validator on `request.body`: the 400 answer, or `undefined` when the request may go on. */
async function check(validators: Validators<FastifyRequest>, request: FastifyRequest): Promise<JsonAnswer | undefined> {
  const decision = request.turnout;
  if (decision === null || decision === undefined) throw new Error("turnout: validation needs the turnout plugin in this context");
  const validator = validatorFor(validators, decision.version);
  if (validator === undefined) return undefined;
  const problems = await runValidator(validator, request.body, { version: decision.version, decision, request });
  return problems.length === 0 ? undefined : invalidAnswer(decision.version, problems);
}

/**
 * A `preHandler` hook validating `request.body` with the decided version's validator (a function or a Standard
 * Schema such as zod or valibot); invalid requests get `400` with every problem listed.
 *
 * @example
 * ```ts
 * app.post("/users", { preHandler: validate({ v1: UserV1, v2: UserV2 }) }, createUser);
 * ```
 */
export function validate(validators: Validators<FastifyRequest>): preHandlerAsyncHookHandler {
  checkValidators(validators, "validate");
  return async function (request, reply) {
    const invalid = await check(validators, request);
    if (invalid !== undefined) return answer(reply, invalid);
  };
}

/**
 * A route handler that dispatches to the handler of the decided version. With no handler for it, the `fallback`
 * handler runs, else the answer is `404`. With `validate`, the body is checked first.
 *
 * @example
 * ```ts
 * app.get("/users", versioned({ v1: async () => listV1(), v2: async () => listV2() }));
 * ```
 */
export function versioned(handlers: Readonly<Record<string, RouteHandlerMethod>>, options: VersionedOptions<FastifyRequest> = {}): RouteHandlerMethod {
  checkVersioned(handlers, options);
  const validators = options.validate;
  return async function (this: unknown, request, reply) {
    const handler = pickHandler(handlers, request.turnout ?? undefined, options.fallback);
    if (handler === undefined) {
      if (request.turnout === null || request.turnout === undefined) throw new Error("turnout: versioned() needs the turnout plugin in this context");
      return reply.callNotFound();
    }
    if (validators !== undefined) {
      const invalid = await check(validators, request);
      if (invalid !== undefined) return answer(reply, invalid);
    }
    return handler.call(this as never, request, reply);
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

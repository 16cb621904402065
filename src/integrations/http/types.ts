/**
 * The options and shapes shared by turnout's HTTP integrations (Express, Koa, the node:http proxy). Framework
 * objects are described by their shape, so nothing here loads a framework.
 */
import type { Decision, Logger, OutcomeRecorder } from "../../types.js";
import type { Duration } from "../../internal/duration.js";

/**
 * The part of an incoming HTTP request that turnout reads: Node's `IncomingMessage`, Express's `Request` and
 * Koa's `ctx.req` all fit.
 *
 * @example
 * ```ts
 * const like: RequestLike = { method: "GET", url: "/v2/users?page=2", headers: { "x-user-id": "u-1" } };
 * ```
 */
export interface RequestLike {
  /** The HTTP method. */
  readonly method?: string | undefined;
  /** Path and query, e.g. `/api/v2/users?page=2` (Express: `originalUrl`). */
  readonly url?: string | undefined;
  /** Request headers with lower-case names, as Node gives them, or a Web `Headers` object. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>> | { get(name: string): string | null };
}

/**
 * The pin cookie: a short-lived, HttpOnly cookie that carries {@link Decision.pin} back on the next request, so
 * the steps of a multi-step transaction reach the same version in a browser that cannot echo a header.
 *
 * @example
 * ```ts
 * const cookie: PinCookieOptions = { name: "turnout_pin", maxAge: "15m", sameSite: "lax", secure: true };
 * ```
 */
export interface PinCookieOptions {
  /** Cookie name. Default `"turnout_pin"`. */
  readonly name?: string;
  /** Lifetime (a duration: `"15m"`, or ms). Default `"15m"`: a rollback reaches pinned browsers after that. */
  readonly maxAge?: Duration;
  /** `SameSite` attribute. Default `"lax"`. `"none"` forces `Secure`. */
  readonly sameSite?: "strict" | "lax" | "none";
  /** `Secure` attribute. Default `false` (set it behind HTTPS). */
  readonly secure?: boolean;
  /** `HttpOnly` attribute. Default `true`. */
  readonly httpOnly?: boolean;
  /** `Path` attribute. Default `"/"`. */
  readonly path?: string;
  /** `Domain` attribute. Default: none (host-only). */
  readonly domain?: string;
}

/**
 * Names of the response headers turnout sets; `false` turns one off.
 *
 * @example
 * ```ts
 * const headers: ResponseHeaderNames = { version: "x-served-by-version", experiment: false };
 * ```
 */
export interface ResponseHeaderNames {
  /** The version that served the request. Default `"x-api-version"`. */
  readonly version?: string | false;
  /** The experiment's name. Default `"x-ab-test"`. */
  readonly experiment?: string | false;
  /** The experiment variant. Default `"x-ab-variant"`. */
  readonly variant?: string | false;
  /** `Deprecation`, `Sunset` and `Link` for deprecated versions. Default `true`. */
  readonly lifecycle?: boolean;
}

/**
 * Options shared by `turnout/express`, `turnout/koa` and the proxy of `turnout/node`. `Req` is what the
 * framework hands to your functions (Express `Request`, Koa `Context`, Node `IncomingMessage`).
 *
 * @example
 * ```ts
 * const options: TurnoutHttpOptions<Request> = {
 *   key: (req) => req.get("x-user-id"),
 *   stats,
 *   pin: { cookie: { secure: true } },
 *   logger: pino(),
 * };
 * ```
 */
export interface TurnoutHttpOptions<Req> {
  /** The sticky key for the `key` stickiness source (a user id, an account id). */
  readonly key?: (req: Req) => string | undefined;
  /** Attributes for segments, targeting and the `attr:` stickiness source. */
  readonly attributes?: (req: Req) => Readonly<Record<string, string | number | boolean | null | undefined>> | undefined;
  /**
   * The client id for distinct-client counts in the stats. Default: the request's sticky key, the value the router's
   * `stickiness` picked (with `stickiness: ["header:x-user-id"]`, the `x-user-id` header), else the `key` function's
   * result. A client function that throws is logged and counted; the outcome is then recorded without a client.
   */
  readonly client?: (req: Req) => string | undefined;
  /** Where outcomes are recorded when the response finishes (a `createStats()` instance). */
  readonly stats?: OutcomeRecorder;
  /** How the pin travels: a request/response header (default `"x-turnout-pin"`) and an optional cookie. */
  readonly pin?: {
    /** Header read on the request and set on the response; `false` turns it off. Default `"x-turnout-pin"`. */
    readonly header?: string | false;
    /** `true` or cookie options to also set and read the pin as a cookie. Default `false`. */
    readonly cookie?: boolean | PinCookieOptions;
    /**
     * How long a pin turnout issues is honoured (header and cookie alike): the expiry is signed inside the pin and
     * checked against `clock`. A honoured pin is sent back unchanged, never renewed, so a client that echoes it
     * reaches the current split within this time. Default: the cookie's `maxAge`, else `"15m"`.
     */
    readonly maxAge?: Duration;
  };
  /** Response header names. */
  readonly headers?: ResponseHeaderNames;
  /** Answer `410 Gone` once a version's sunset has passed. Default `true`. */
  readonly enforceSunset?: boolean;
  /** A request for a version that does not exist: `"reject"` answers 404 (default), `"stable"` serves the stable version. */
  readonly unknownVersion?: "reject" | "stable";
  /** Epoch milliseconds now, compared with sunset dates. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Where faults inside turnout are reported: a `key`, `attributes` or `client` function that throws, a fault inside
   * the router (which also goes to the router's own logger, if it has one), a failed `recordOutcome`. Default `console`.
   */
  readonly logger?: Logger;
}

/**
 * Counters of an HTTP integration, live (read them at any time).
 *
 * @example
 * ```ts
 * setInterval(() => gauge.set(middleware.counters.faults), 10_000);
 * ```
 */
export interface HttpCounters {
  /** Requests seen. */
  readonly requests: number;
  /**
   * Faults caught inside turnout, each logged: a fault while deciding (the request was served by the stable version,
   * reason `error`), a `client` function that threw, headers that could not be set, an outcome that could not be recorded.
   */
  readonly faults: number;
  /** Requests answered `410 Gone` (sunset). */
  readonly gone: number;
  /** Requests answered `404` for an unknown version. */
  readonly unknownVersion: number;
}

/**
 * One thing wrong with a request, as listed in a `400` body.
 *
 * @example
 * ```ts
 * { path: "email", message: "Invalid email address" }
 * ```
 */
export interface ValidationProblem {
  /** Where in the input: `email`, `items[2].sku`; `""` for the whole input. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

/**
 * A Standard Schema (https://standardschema.dev) validator: zod ≥ 3.24, valibot ≥ 1, ArkType ≥ 2 and others
 * implement it, so they work here without adapters. Described structurally: turnout depends on no schema library.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const v2: StandardSchemaLike = z.object({ first_name: z.string().min(1), email: z.email() });
 * ```
 */
export interface StandardSchemaLike {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The version of the standard (1). */
    readonly version: number;
    /** The library's name. */
    readonly vendor: string;
    /** Validates a value; may be async. */
    readonly validate: (value: unknown) => StandardResultLike | Promise<StandardResultLike>;
  };
}

/**
 * A Standard Schema result: `issues` present means invalid.
 *
 * @example
 * ```ts
 * const failed: StandardResultLike = { issues: [{ message: "Required", path: ["email"] }] };
 * ```
 */
export interface StandardResultLike {
  /** The validated value, when validation succeeded. */
  readonly value?: unknown;
  /** The issues, when validation failed. */
  readonly issues?:
    | ReadonlyArray<{
        /** What is wrong. */
        readonly message: string;
        /** Where: property names and indexes, from the top of the body. */
        readonly path?:
          | ReadonlyArray<
              | PropertyKey
              | {
                  /** One step of the path. */
                  readonly key: PropertyKey;
                }
            >
          | undefined;
      }>
    | undefined;
}

/**
 * What a validator function may return. Valid: `true`, `undefined`, `null` or an empty list. Invalid: `false`,
 * a message, or a list of messages / {@link ValidationProblem}s.
 *
 * @example
 * ```ts
 * const result: ValidatorResult = body.email ? [] : [{ path: "email", message: "required" }];
 * ```
 */
export type ValidatorResult = boolean | string | null | undefined | void | readonly (string | ValidationProblem)[];

/**
 * What a validator function is told besides the input.
 *
 * @example
 * ```ts
 * const check: ValidatorFunction<Request> = (body, { version, request }) => request.method !== "POST" || body != null;
 * ```
 */
export interface ValidationContext<Req> {
  /** The version the request was routed to. */
  readonly version: string;
  /** The whole decision. */
  readonly decision: Decision;
  /** The framework's request object (Express `Request`, Koa `Context`). */
  readonly request: Req;
}

/**
 * A plain validation function: checks the parsed body (Express `req.body`, Koa `ctx.request.body`).
 *
 * @example
 * ```ts
 * const v1: ValidatorFunction<unknown> = (body) =>
 *   typeof body === "object" && body !== null && "name" in body ? true : "name is required";
 * ```
 */
export type ValidatorFunction<Req> = (input: unknown, context: ValidationContext<Req>) => ValidatorResult | Promise<ValidatorResult>;

/**
 * A validator: a plain function or a Standard Schema (zod, valibot, …).
 *
 * @example
 * ```ts
 * const validators: Validators<Request> = { v1: z.object({ name: z.string() }), v2: (body) => body != null };
 * ```
 */
export type Validator<Req> = ValidatorFunction<Req> | StandardSchemaLike;

/**
 * A validator per version; versions without one are not validated.
 *
 * @example
 * ```ts
 * const validators: Validators<Request> = { v1: userV1Schema, v2: userV2Schema };
 * ```
 */
export type Validators<Req> = Readonly<Record<string, Validator<Req>>>;

/** Durations accepted by the HTTP options: `"5s"`, `"250ms"`, or milliseconds. */
export type { Duration };

/**
 * The framework-neutral heart of turnout's HTTP integrations: build the `RouteRequest`, decide, work out the
 * response headers and turnout's own answers (410, 404), and record the outcome when the response ends.
 * Express, Koa and the proxy are thin adapters over this. Nothing here throws on the request path.
 */
import { DecisionReason, type Decision, type Logger, type RouteRequest, type Router } from "../../types.js";
import { ProblemCode } from "../../errors.js";
import { parseDuration } from "../../internal/duration.js";
import { Problems, checkFields, isRecord } from "../../internal/problems.js";
import { internalsOf } from "../../router/internals.js";
import { headerValue, joinTarget, readCookie, splitTarget } from "./request.js";
import {
  type HeaderPair,
  type JsonAnswer,
  type PinCookie,
  availableVersions,
  goneAnswer,
  isSunset,
  lifecycleHeaders,
  pinCookieHeader,
  unknownVersionAnswer,
} from "./respond.js";
import type { HttpCounters, RequestLike, TurnoutHttpOptions } from "./types.js";

/** An HTTP token (RFC 9110): what header and cookie names may contain. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** What Node accepts in a header value; anything else (newlines, characters beyond Latin-1) is percent-encoded. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Cookie attribute values (Path, Domain): visible ASCII without `;` and `,`. */
const COOKIE_ATTRIBUTE = /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]{1,256}$/;
const OPTION_FIELDS = ["key", "attributes", "client", "stats", "pin", "headers", "enforceSunset", "unknownVersion", "clock", "logger"] as const;

/** The live, mutable counters behind {@link HttpCounters}. */
export interface MutableHttpCounters {
  requests: number;
  faults: number;
  gone: number;
  unknownVersion: number;
}

/** Everything worked out for one request before the application (or the upstream) sees it. */
export interface Prepared {
  readonly decision: Decision;
  /** Response headers to set (lower-case names). */
  readonly headers: readonly HeaderPair[];
  /** An answer turnout gives itself instead of the application's (410 after sunset, 404 unknown version). */
  readonly answer: JsonAnswer | undefined;
  /** The client counted in the stats (only with `stats`). */
  readonly client: string | undefined;
  /** `performance.now()` when the request was prepared (only with `stats`; else 0). */
  readonly startedAt: number;
}

/** The part of a Node `ServerResponse` the engine watches to record the outcome. */
export interface ResponseLike {
  readonly statusCode: number;
  readonly writableFinished?: boolean;
  once(event: "finish" | "close", listener: () => void): unknown;
}

/** The engine shared by the adapters. */
export interface Engine<Req> {
  readonly counters: MutableHttpCounters & HttpCounters;
  readonly logger: Logger;
  /** True when outcomes are recorded (a `stats` option): an adapter needs no end-of-response hook without it. */
  readonly records: boolean;
  /** Decides for `request` (`target` is the path + query); never throws. */
  prepare(request: RequestLike, target: string | undefined, req: Req): Prepared;
  /** Records the outcome in the stats when `response` finishes or the client goes away; never throws. */
  watch(response: ResponseLike, prepared: Prepared, thrown?: () => unknown): void;
  /**
   * Records the outcome of a response whose end the adapter observed itself (a fetch `Response`, a Fastify
   * `onResponse`): `status` undefined means the client went away (499). Never throws.
   */
  record(prepared: Prepared, status: number | undefined, error?: unknown): void;
  /** Reports a fault caught inside turnout: logged and counted. */
  fault(message: string, error: unknown): void;
}

function resolvePinCookie(value: unknown, problems: Problems): PinCookie | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && !isRecord(value)) {
    problems.add(ProblemCode.Type, "pin.cookie", "expected a boolean or cookie options");
    return undefined;
  }
  const o: Record<string, unknown> = value === true ? {} : value;
  checkFields(problems, o, "pin.cookie", ["name", "maxAge", "sameSite", "secure", "httpOnly", "path", "domain"]);
  const name = o.name ?? "turnout_pin";
  if (typeof name !== "string" || !TOKEN.test(name)) problems.add(ProblemCode.InvalidName, "pin.cookie.name", "expected a cookie name (an HTTP token)");
  const maxAgeMs = parseDuration(o.maxAge ?? "15m");
  if (maxAgeMs === undefined) problems.add(ProblemCode.InvalidDuration, "pin.cookie.maxAge", 'expected a duration such as "15m" or milliseconds');
  const sameSite = o.sameSite ?? "lax";
  if (sameSite !== "strict" && sameSite !== "lax" && sameSite !== "none") {
    problems.add(ProblemCode.InvalidValue, "pin.cookie.sameSite", 'expected "strict", "lax" or "none"');
  }
  for (const flag of ["secure", "httpOnly"] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== "boolean") problems.add(ProblemCode.Type, `pin.cookie.${flag}`, "expected a boolean");
  }
  for (const attr of ["path", "domain"] as const) {
    const v = o[attr];
    if (v !== undefined && (typeof v !== "string" || !COOKIE_ATTRIBUTE.test(v))) {
      problems.add(ProblemCode.InvalidValue, `pin.cookie.${attr}`, "expected a cookie attribute value (no spaces, ';' or ',')");
    }
  }
  const secure = o.secure === true || sameSite === "none";
  const label = sameSite === "strict" ? "Strict" : sameSite === "none" ? "None" : "Lax";
  const attributes =
    `; Max-Age=${Math.floor((maxAgeMs ?? 0) / 1000)}; Path=${typeof o.path === "string" ? o.path : "/"}` +
    (typeof o.domain === "string" ? `; Domain=${o.domain}` : "") +
    (o.httpOnly === false ? "" : "; HttpOnly") +
    `; SameSite=${label}` +
    (secure ? "; Secure" : "");
  return { name: String(name), attributes, maxAgeMs: maxAgeMs ?? 0 };
}

/** How long an issued pin is honoured: `pin.maxAge`, else the cookie's max age, else 15 minutes. */
function resolvePinMaxAge(pin: Record<string, unknown>, problems: Problems): number {
  const cookie = isRecord(pin.cookie) ? pin.cookie : {};
  const value = pin.maxAge ?? cookie.maxAge ?? "15m";
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000) {
    // An unreadable cookie maxAge is reported with the cookie's other options.
    if (pin.maxAge !== undefined || ms !== undefined) {
      problems.add(
        ProblemCode.InvalidDuration,
        pin.maxAge !== undefined ? "pin.maxAge" : "pin.cookie.maxAge",
        'expected a duration of a second or more, such as "15m"',
      );
    }
    return 0;
  }
  return ms;
}

/**
 * The expiry of a pin issued at `now`: `now + maxAge`, rounded up to a step of a sixtieth of the lifetime (1 s to
 * 1 min), so that one pin per version serves a whole step (the router caches it; no HMAC per request).
 */
export function pinExpiry(now: number, maxAgeMs: number): number {
  const step = Math.min(60_000, Math.max(1000, Math.floor(maxAgeMs / 60_000) * 1000));
  return Math.ceil((now + maxAgeMs) / step) * step;
}

function headerName(value: unknown, fallback: string, path: string, problems: Problems): string | undefined {
  if (value === false) return undefined;
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !TOKEN.test(value)) {
    problems.add(ProblemCode.InvalidName, path, "expected a header name (an HTTP token) or false");
    return undefined;
  }
  return value.toLowerCase();
}

/** Validates the shared options (one `TurnoutConfigError` listing every problem) and resolves the defaults. */
export function resolveOptions(options: unknown, extraFields: readonly string[] = [], extraChecks?: (problems: Problems) => void) {
  const problems = new Problems();
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "", "expected an options object");
  checkFields(problems, o, "", [...OPTION_FIELDS, ...extraFields]);
  for (const fn of ["key", "attributes", "client", "clock"] as const) {
    if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  }
  if (o.stats !== undefined && !(isRecord(o.stats) && typeof o.stats.recordOutcome === "function")) {
    problems.add(ProblemCode.Type, "stats", "expected an OutcomeRecorder (an object with recordOutcome)");
  }
  if (o.logger !== undefined && !(isRecord(o.logger) && typeof o.logger.warn === "function" && typeof o.logger.error === "function")) {
    problems.add(ProblemCode.Type, "logger", "expected a logger with warn and error");
  }
  for (const flag of ["enforceSunset"] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== "boolean") problems.add(ProblemCode.Type, flag, "expected a boolean");
  }
  if (o.unknownVersion !== undefined && o.unknownVersion !== "reject" && o.unknownVersion !== "stable") {
    problems.add(ProblemCode.InvalidValue, "unknownVersion", 'expected "reject" or "stable"');
  }
  const pin: Record<string, unknown> = isRecord(o.pin) ? o.pin : {};
  if (o.pin !== undefined && !isRecord(o.pin)) problems.add(ProblemCode.Type, "pin", "expected an object");
  checkFields(problems, pin, "pin", ["header", "cookie", "maxAge"]);
  const headers: Record<string, unknown> = isRecord(o.headers) ? o.headers : {};
  if (o.headers !== undefined && !isRecord(o.headers)) problems.add(ProblemCode.Type, "headers", "expected an object");
  checkFields(problems, headers, "headers", ["version", "experiment", "variant", "lifecycle"]);
  if (headers.lifecycle !== undefined && typeof headers.lifecycle !== "boolean") problems.add(ProblemCode.Type, "headers.lifecycle", "expected a boolean");
  const resolved = {
    pinHeader: headerName(pin.header, "x-turnout-pin", "pin.header", problems),
    pinCookie: resolvePinCookie(pin.cookie, problems),
    pinMaxAgeMs: resolvePinMaxAge(pin, problems),
    versionHeader: headerName(headers.version, "x-api-version", "headers.version", problems),
    experimentHeader: headerName(headers.experiment, "x-ab-test", "headers.experiment", problems),
    variantHeader: headerName(headers.variant, "x-ab-variant", "headers.variant", problems),
    lifecycle: headers.lifecycle !== false,
    enforceSunset: o.enforceSunset !== false,
    rejectUnknown: o.unknownVersion !== "stable",
  };
  extraChecks?.(problems);
  problems.throwIfAny("turnout options");
  return resolved;
}

function headerSafe(value: string): string {
  return HEADER_VALUE.test(value) ? value.trim() : encodeURIComponent(value);
}

/** The HTTP status an error carries (Koa's `ctx.throw`, http-errors, the proxy's upstream errors), else 500. */
function statusOf(error: unknown): number {
  const status = typeof error === "object" && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

function fallbackDecision(router: Router): Decision {
  let stable = "";
  let revision = 0;
  let canary = false;
  try {
    stable = router.config.stable;
    revision = router.revision;
    canary = router.config.canary === stable;
  } catch {
    // A router that cannot even say its stable version: the adapters still let the request through.
  }
  return Object.freeze({ version: stable, reason: DecisionReason.Error, canary, pin: "", revision });
}

/**
 * Creates the engine for one middleware or proxy. Throws `TurnoutConfigError` for bad options.
 *
 * @example
 * ```ts
 * const engine = createEngine(router, { stats });
 * const prepared = engine.prepare(req, req.url, req);
 * ```
 */
export function createEngine<Req>(
  router: Router,
  options: TurnoutHttpOptions<Req> = {},
  extraFields: readonly string[] = [],
  extraChecks?: (problems: Problems) => void,
): Engine<Req> {
  const settings = resolveOptions(options, extraFields, extraChecks);
  const { pinHeader, pinCookie, pinMaxAgeMs, versionHeader, experimentHeader, variantHeader } = settings;
  const logger: Logger = options.logger ?? console;
  const clock = options.clock ?? Date.now;
  const counters: MutableHttpCounters = { requests: 0, faults: 0, gone: 0, unknownVersion: 0 };

  const fault = (message: string, error: unknown): void => {
    counters.faults++;
    try {
      logger.error(`turnout: ${message}`, { error });
    } catch {
      // The user's logger failed too; the fault is still counted.
    }
  };

  const internals = internalsOf(router);
  const routerFault = (error: unknown): void => fault("deciding the version failed inside the router; serving the stable version", error);
  const fallback = (): Decision => {
    try {
      return internals?.fallback() ?? fallbackDecision(router);
    } catch {
      return fallbackDecision(router);
    }
  };

  /** The client counted in the stats: the `client` option's, else the sticky key (the router's, else `key`'s). */
  const clientOf = (req: Req, routeRequest: RouteRequest, key: string | undefined): string | undefined => {
    try {
      const client = options.client !== undefined ? options.client(req) : (internals?.stickyKey(routeRequest) ?? key);
      return typeof client === "string" ? client : undefined;
    } catch (error) {
      fault("the client function failed; the outcome is recorded without a client", error);
      return undefined;
    }
  };

  const { key: keyOf, attributes: attributesOf, stats } = options;
  const { enforceSunset, lifecycle, rejectUnknown } = settings;
  /** The last Prepared per decision object (decisions are shared, frozen objects), used only without stats. */
  const reused = new WeakMap<Decision, { readonly pin: string | undefined; readonly honoured: boolean; readonly prepared: Prepared }>();

  // The hot path of every adapter: no object spreads, one RouteRequest shape, the clock read only when a pin or a
  // sunset needs it, and the start time only when outcomes are recorded.
  const prepare = (request: RequestLike, target: string | undefined, req: Req): Prepared => {
    counters.requests++;
    const startedAt = stats === undefined ? 0 : performance.now();
    let decision: Decision | undefined;
    let sentPin: string | undefined;
    let client: string | undefined;
    try {
      // The router reads the query from the path's query string itself, and only when a rule asks for it.
      const path = typeof target === "string" && target.charCodeAt(0) === 47 /* "/" */ ? target : joinTarget(splitTarget(target));
      const headers = request.headers;
      sentPin = pinHeader === undefined ? undefined : headerValue(headers, pinHeader);
      if (sentPin === undefined && pinCookie !== undefined) sentPin = readCookie(headerValue(headers, "cookie"), pinCookie.name);
      let key: string | undefined;
      let attributes: RouteRequest["attributes"];
      try {
        const keyed = keyOf?.(req);
        key = typeof keyed === "string" ? keyed : undefined;
        attributes = attributesOf?.(req);
      } catch (error) {
        // The same answer as a fault inside the router: the stable version, with its pin.
        fault("deciding the version failed (the key or attributes function threw); serving the stable version", error);
        decision = fallback();
      }
      if (decision === undefined) {
        // A pin's expiry is judged by this engine's clock, the one that set it.
        const routeRequest: RouteRequest = { headers, path, key, attributes, pin: sentPin, now: sentPin === undefined ? undefined : clock() };
        if (internals !== undefined) decision = internals.decide(routeRequest, routerFault);
        else {
          decision = router.decide(routeRequest);
          if (decision.reason === DecisionReason.Error) counters.faults++; // a router of another make: its fault is not known here
        }
        if (stats !== undefined) client = clientOf(req, routeRequest, key);
      }
    } catch (error) {
      fault("deciding the version failed; serving the stable version", error);
      decision = fallback();
      sentPin = undefined;
      client = undefined;
    }
    try {
      if (decision.reason === DecisionReason.UnknownVersion && rejectUnknown) {
        // No version serves this request: no version, pin or lifecycle headers.
        counters.unknownVersion++;
        return { decision, headers: [], startedAt, answer: unknownVersionAnswer(decision.requested, availableVersions(router.config, clock())), client };
      }
      let pin: string | undefined;
      let honoured = false;
      if (decision.pin !== "" && (pinHeader !== undefined || pinCookie !== undefined)) {
        // A honoured pin is sent back as it came, never re-issued: its expiry must not slide, so that a client
        // echoing it reaches the current split (a promotion, a rollback) within the pin's max age.
        honoured = decision.reason === DecisionReason.Pinned && sentPin !== undefined;
        pin = honoured ? sentPin : router.issuePin(decision.version, pinExpiry(clock(), pinMaxAgeMs));
        if (pin === "") pin = undefined;
      }
      let answer: JsonAnswer | undefined;
      if (enforceSunset && decision.lifecycle?.sunsetAt !== undefined && isSunset(decision, clock())) {
        counters.gone++;
        answer = goneAnswer(decision);
      }
      // Without stats nothing in a Prepared is per request: the same decision with the same pin gets the same one.
      const reusable = stats === undefined && answer === undefined;
      if (reusable) {
        const last = reused.get(decision);
        if (last !== undefined && last.pin === pin && last.honoured === honoured) return last.prepared;
      }
      const headers: HeaderPair[] = [];
      if (versionHeader !== undefined && decision.version !== "") headers.push([versionHeader, decision.version]);
      if (decision.experiment !== undefined) {
        // Experiment and variant names are free text in the config: keep them from breaking the response.
        if (experimentHeader !== undefined) headers.push([experimentHeader, headerSafe(decision.experiment.name)]);
        if (variantHeader !== undefined) headers.push([variantHeader, headerSafe(decision.experiment.variant)]);
      }
      if (pin !== undefined) {
        if (pinHeader !== undefined) headers.push([pinHeader, pin]);
        if (pinCookie !== undefined && !honoured) headers.push(["set-cookie", pinCookieHeader(pinCookie, pin)]);
      }
      if (lifecycle) for (const pair of lifecycleHeaders(decision.lifecycle)) headers.push(pair);
      const prepared: Prepared = { decision, headers, startedAt, answer, client };
      if (reusable) reused.set(decision, { pin, honoured, prepared: Object.freeze(prepared) });
      return prepared;
    } catch (error) {
      fault("building the response headers failed", error);
      return { decision, headers: [], startedAt, answer: undefined, client: undefined };
    }
  };

  const record = (prepared: Prepared, status: number | undefined, error?: unknown): void => {
    // A request for a version that does not exist was served by no version: it is not the stable version's traffic.
    if (stats === undefined || (prepared.decision.reason === DecisionReason.UnknownVersion && prepared.answer !== undefined)) return;
    try {
      // A client that went away before the response finished is a 499 (as nginx and Envoy log it): its
      // duration still counts toward latency, but not as the version's failure.
      const final = status ?? (error === undefined ? 499 : statusOf(error));
      const outcome: { status: number; durationMs: number; error?: unknown; client?: string } = {
        status: final,
        durationMs: performance.now() - prepared.startedAt,
      };
      if (error !== undefined && final >= 500) outcome.error = error;
      if (prepared.client !== undefined) outcome.client = prepared.client;
      stats.recordOutcome(prepared.decision, outcome);
    } catch (error) {
      fault("recording the outcome failed", error);
    }
  };

  const watch = (response: ResponseLike, prepared: Prepared, thrown?: () => unknown): void => {
    if (stats === undefined) return;
    let done = false;
    const finish = (aborted: boolean): void => {
      if (done) return;
      done = true;
      let error: unknown;
      try {
        error = thrown?.();
      } catch (failure) {
        fault("reading the thrown error failed", failure);
      }
      record(prepared, aborted ? undefined : response.statusCode, error);
    };
    response.once("finish", () => finish(false));
    response.once("close", () => finish(response.writableFinished !== true));
  };

  return { counters: counters as MutableHttpCounters & HttpCounters, logger, records: stats !== undefined, prepare, watch, record, fault };
}

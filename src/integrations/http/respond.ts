/**
 * What turnout puts on responses: lifecycle headers (RFC 9745 `Deprecation`, RFC 8594 `Sunset`, RFC 8288 `Link`),
 * the pin cookie, and the JSON bodies of the answers it gives itself (410, 404, 400, 502, 504).
 */
import type { Decision, DecisionLifecycle, RouterConfig } from "../../types.js";
import type { ValidationProblem } from "./types.js";

/** A response header as a name/value pair; names are lower case. */
export type HeaderPair = readonly [name: string, value: string];

const lifecycleCache = new WeakMap<DecisionLifecycle, readonly HeaderPair[]>();

/** An absolute http(s) URL, normalised (percent-encoded, no CR/LF), or `undefined`. */
function safeUrl(value: string | undefined): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `Deprecation`, `Sunset` and `Link` headers of a version's lifecycle. Computed once per compiled config
 * (decisions share their lifecycle object) and cached.
 *
 * - `Deprecation: @<epoch seconds>` (RFC 9745 structured-field date; may lie in the future).
 * - `Sunset: <IMF-fixdate>` (RFC 8594 HTTP-date).
 * - `Link`: `rel="deprecation"` → `policy` (else `migrationGuide`), `rel="sunset"` → `sunsetInfo`,
 *   `rel="successor-version"` → `successorUrl`; one header, comma-separated.
 *
 * @example
 * ```ts
 * lifecycleHeaders(decision.lifecycle);
 * // [["deprecation", "@1735689600"], ["sunset", "Sun, 01 Jun 2025 00:00:00 GMT"], ["link", '<https://…>; rel="deprecation"']]
 * ```
 */
export function lifecycleHeaders(lifecycle: DecisionLifecycle | undefined): readonly HeaderPair[] {
  if (lifecycle === undefined) return [];
  const cached = lifecycleCache.get(lifecycle);
  if (cached !== undefined) return cached;
  const pairs: HeaderPair[] = [];
  const { deprecatedAt, sunsetAt, config } = lifecycle;
  if (typeof deprecatedAt === "number" && Number.isFinite(deprecatedAt)) {
    pairs.push(["deprecation", `@${Math.floor(deprecatedAt / 1000)}`]);
  }
  if (typeof sunsetAt === "number" && Number.isFinite(sunsetAt)) {
    const date = new Date(sunsetAt);
    if (!Number.isNaN(date.getTime())) pairs.push(["sunset", date.toUTCString()]);
  }
  const links: string[] = [];
  const deprecationLink = safeUrl(config.policy) ?? safeUrl(config.migrationGuide);
  if (deprecationLink !== undefined) links.push(`<${deprecationLink}>; rel="deprecation"`);
  const sunsetLink = safeUrl(config.sunsetInfo);
  if (sunsetLink !== undefined) links.push(`<${sunsetLink}>; rel="sunset"`);
  const successorLink = safeUrl(config.successorUrl);
  if (successorLink !== undefined) links.push(`<${successorLink}>; rel="successor-version"`);
  if (links.length > 0) pairs.push(["link", links.join(", ")]);
  const frozen = Object.freeze(pairs);
  lifecycleCache.set(lifecycle, frozen);
  return frozen;
}

/** True once `decision`'s version is past its sunset at `now` (epoch ms). */
export function isSunset(decision: Decision, now: number): boolean {
  const sunsetAt = decision.lifecycle?.sunsetAt;
  return typeof sunsetAt === "number" && now >= sunsetAt;
}

/** The resolved pin cookie settings. */
export interface PinCookie {
  readonly name: string;
  readonly attributes: string;
  readonly maxAgeMs: number;
}

/**
 * A `Set-Cookie` value carrying `pin`.
 *
 * @example
 * ```ts
 * pinCookieHeader({ name: "turnout_pin", attributes: "; Max-Age=900; Path=/; HttpOnly; SameSite=Lax", maxAgeMs: 900_000 }, "v2~3~x");
 * // "turnout_pin=v2~3~x; Max-Age=900; Path=/; HttpOnly; SameSite=Lax"
 * ```
 */
export function pinCookieHeader(cookie: PinCookie, pin: string): string {
  return `${cookie.name}=${encodeURIComponent(pin)}${cookie.attributes}`;
}

/** A JSON answer that turnout gives itself. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * `410 Gone` for a version past its sunset, with a body that names the successor and the migration guide.
 *
 * @example
 * ```ts
 * goneAnswer(decision).body;
 * // { error: "API_VERSION_SUNSET", message: "API v1 was sunset on 2025-06-01. Please migrate to v2.", version: "v1",
 * //   sunset: "2025-06-01T00:00:00.000Z", migration_guide: "https://…", successor: "https://api.example.com/v2/" }
 * ```
 */
export function goneAnswer(decision: Decision): JsonAnswer {
  const lifecycle = decision.lifecycle;
  const config = lifecycle?.config;
  const sunset = typeof lifecycle?.sunsetAt === "number" ? new Date(lifecycle.sunsetAt).toISOString() : undefined;
  const next = config?.successor;
  const body: Record<string, unknown> = {
    error: "API_VERSION_SUNSET",
    message:
      `API ${decision.version} was sunset` + (sunset !== undefined ? ` on ${sunset.slice(0, 10)}` : "") + `. Please migrate to ${next ?? "a newer version"}.`,
    version: decision.version,
  };
  if (sunset !== undefined) body.sunset = sunset;
  const guide = safeUrl(config?.migrationGuide);
  if (guide !== undefined) body.migration_guide = guide;
  const successor = safeUrl(config?.successorUrl) ?? next;
  if (successor !== undefined) body.successor = successor;
  return { status: 410, body };
}

/**
 * The live versions a client may ask for at `now`: listed in `versions` and not past their sunset.
 *
 * @example
 * ```ts
 * availableVersions(router.config, Date.now()); // ["v2", "v3"]
 * ```
 */
export function availableVersions(config: RouterConfig, now: number): string[] {
  const out: string[] = [];
  for (const version of config.versions) {
    const sunset = config.lifecycle?.[version]?.sunset;
    const at = sunset === undefined ? Number.NaN : Date.parse(sunset);
    if (!(now >= at)) out.push(version);
  }
  return out;
}

/**
 * `404 Not Found` for a request naming a version that does not exist, listing the versions that do.
 *
 * @example
 * ```ts
 * unknownVersionAnswer("v9", ["v1", "v2"]).body;
 * // { error: "API_VERSION_UNKNOWN", message: "API version \"v9\" does not exist. Available: v1, v2.", requested: "v9", versions: ["v1", "v2"] }
 * ```
 */
export function unknownVersionAnswer(requested: string | undefined, versions: readonly string[]): JsonAnswer {
  const asked = typeof requested === "string" ? requested.slice(0, 64) : "";
  return {
    status: 404,
    body: {
      error: "API_VERSION_UNKNOWN",
      message: `API version ${JSON.stringify(asked)} does not exist. Available: ${versions.join(", ") || "none"}.`,
      requested: asked,
      versions,
    },
  };
}

/**
 * `400 Bad Request` listing every problem a version's validator found.
 *
 * @example
 * ```ts
 * invalidAnswer("v2", [{ path: "email", message: "Invalid email" }]).body;
 * // { error: "INVALID_REQUEST", message: "The request does not match API v2: 1 problem.", version: "v2", problems: [...] }
 * ```
 */
export function invalidAnswer(version: string, problems: readonly ValidationProblem[]): JsonAnswer {
  const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  return {
    status: 400,
    body: { error: "INVALID_REQUEST", message: `The request does not match API ${version}: ${count}.`, version, problems },
  };
}

/**
 * `502`/`504` from the proxy when the upstream of a version cannot answer.
 *
 * @example
 * ```ts
 * upstreamAnswer("timeout", "v2").status; // 504
 * ```
 */
export function upstreamAnswer(kind: "unavailable" | "timeout" | "missing", version: string): JsonAnswer {
  if (kind === "timeout") {
    return { status: 504, body: { error: "UPSTREAM_TIMEOUT", message: `The ${version} upstream did not answer in time.`, version } };
  }
  if (kind === "missing") {
    return { status: 502, body: { error: "NO_UPSTREAM", message: `No upstream is configured for ${version}.`, version } };
  }
  return { status: 502, body: { error: "UPSTREAM_UNAVAILABLE", message: `The ${version} upstream could not be reached.`, version } };
}

/** The part of Node's `ServerResponse` needed to send a JSON answer. */
export interface JsonResponseLike {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | readonly string[]): unknown;
  end(chunk: string): unknown;
}

/**
 * Sends `answer` as JSON on a Node response (used by Express and the proxy; Koa sets `ctx.body`).
 *
 * @example
 * ```ts
 * writeJson(res, goneAnswer(decision));
 * ```
 */
export function writeJson(res: JsonResponseLike, answer: JsonAnswer): void {
  if (res.headersSent) return;
  const body = JSON.stringify(answer.body);
  res.statusCode = answer.status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", String(Buffer.byteLength(body)));
  res.setHeader("cache-control", "no-store");
  res.end(body);
}

/** Whether turnout's header `name` is combined with the application's own (`Set-Cookie` appended, `Link` joined) rather than set alone. */
export function combinesWithYours(name: string): boolean {
  return name === "set-cookie" || name === "link";
}

/** The part of Node's `ServerResponse` needed to set headers. */
export interface HeaderTarget {
  getHeader(name: string): number | string | readonly string[] | string[] | undefined;
  setHeader(name: string, value: string | readonly string[]): unknown;
}

/**
 * Sets turnout's headers on a response, keeping what is already there for `Set-Cookie` (appended) and `Link`
 * (joined); other headers are replaced.
 *
 * @example
 * ```ts
 * applyHeaders(res, prepared.headers);
 * ```
 */
export function applyHeaders(res: HeaderTarget, pairs: readonly HeaderPair[]): void {
  for (const [name, value] of pairs) {
    if (combinesWithYours(name)) {
      const existing = res.getHeader(name);
      if (existing !== undefined) {
        const list = Array.isArray(existing) ? [...(existing as readonly string[])] : [String(existing)];
        res.setHeader(name, name === "link" ? [...list, value].join(", ") : [...list, value]);
        continue;
      }
    }
    res.setHeader(name, value);
  }
}

/**
 * The proxy's options: their types, defaults and validation (one `TurnoutConfigError` listing every problem).
 */
import type { IncomingMessage } from "node:http";
import { ProblemCode } from "../../errors.js";
import { parseDuration, type Duration } from "../../internal/duration.js";
import { FORBIDDEN_KEYS, type Problems, checkFields, child, isRecord } from "../../internal/problems.js";
import type { OutcomeRecorder, Router } from "../../types.js";
import type { AgentSettings } from "./forward.js";
import type { MirrorSettings } from "./mirror.js";
import type { SharedProxyOptions } from "./proxy-shared.js";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/**
 * Options of `createProxy`: the {@link SharedProxyOptions} with Node's `IncomingMessage`, plus time limits,
 * keep-alive agents and TLS.
 *
 * @example
 * ```ts
 * const options: ProxyOptions = {
 *   upstreams: { v1: "http://10.0.0.1:8080", v2: "http://10.0.0.2:8080" },
 *   stats,
 *   timeouts: { connect: "2s", response: "15s" },
 *   mirror: { maxInFlight: 32, maxBodyBytes: 256 * 1024, compare: true },
 * };
 * ```
 */
export interface ProxyOptions extends SharedProxyOptions<IncomingMessage> {
  /** Time limits; a limit reached before the upstream's response headers gives `504`. */
  readonly timeouts?: {
    /** To establish the TCP (and TLS) connection. Default `"5s"`. */
    readonly connect?: Duration;
    /** From the start of the request to the upstream's response headers. Default `"30s"`. */
    readonly response?: Duration;
    /** Socket inactivity at any point; after the headers it cuts the response. Default `"60s"`. */
    readonly idle?: Duration;
  };
  /** Keep-alive agent limits per upstream. */
  readonly agent?: {
    /** Default 256. */
    readonly maxSockets?: number;
    /** Default 64. */
    readonly maxFreeSockets?: number;
  };
  /**
   * TLS for `https:` upstreams, handed to Node's https agent: a private CA (`ca`), a client certificate for mutual
   * TLS (`cert`, `key`, `passphrase`), the name to verify (`servername`). Default: Node's trusted CAs, no client
   * certificate. `rejectUnauthorized: false` accepts any certificate: for experiments only, never in production.
   */
  readonly tls?: UpstreamTls;
  /**
   * The client of the requests to the upstreams: `"node"` (default) Node's `http.request` over a keep-alive agent,
   * `"undici"` an undici `Pool` per upstream (the `undici` package must be installed: it is an optional peer
   * dependency). Both stream bodies both ways and keep the same time limits, answers, headers, retry and TLS
   * options; shadow copies always go over Node's agents. See the proxy guide for what each costs.
   */
  readonly upstreamClient?: UpstreamClient;
}

/** The client of the proxy's requests to its upstreams (see {@link ProxyOptions.upstreamClient}). */
export type UpstreamClient = "node" | "undici";

/** PEM text or its bytes; a list for several certificates. */
export type PemInput = string | Buffer | readonly (string | Buffer)[];

/** TLS settings of the connections to `https:` upstreams (see {@link ProxyOptions.tls}). */
export interface UpstreamTls {
  /** Certificate authorities to trust instead of Node's defaults (PEM). */
  readonly ca?: PemInput;
  /** Client certificate chain for mutual TLS (PEM). */
  readonly cert?: PemInput;
  /** Private key of the client certificate (PEM). */
  readonly key?: PemInput;
  /** Passphrase of `key`. */
  readonly passphrase?: string;
  /** Server name for SNI and certificate verification, when it differs from the URL's host. */
  readonly servername?: string;
  /** Default `true`. `false` accepts any certificate. */
  readonly rejectUnauthorized?: boolean;
}

const TLS_FIELDS = ["ca", "cert", "key", "passphrase", "servername", "rejectUnauthorized"] as const;

/** Option names the proxy adds to the shared HTTP options. */
export const PROXY_FIELDS = ["upstreams", "timeouts", "mirror", "agent", "tls", "trustProxy", "rewritePath"] as const;

/** Option names of the node:http proxy: the proxy's, plus the choice of upstream client. */
export const NODE_PROXY_FIELDS = [...PROXY_FIELDS, "upstreamClient"] as const;

/** The proxy's settings after validation. */
export interface ProxySettings {
  readonly upstreamUrls: ReadonlyMap<string, URL>;
  readonly agent: AgentSettings;
  readonly connectMs: number;
  readonly responseMs: number;
  readonly idleMs: number;
  readonly mirror: MirrorSettings;
  readonly trustProxy: boolean;
}

function duration(problems: Problems, value: unknown, fallback: string, path: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined || ms <= 0) {
    problems.add(ProblemCode.InvalidDuration, path, 'expected a positive duration such as "5s" or milliseconds');
    return 1;
  }
  return Math.min(ms, 2_147_483_647);
}

function count(problems: Problems, value: unknown, fallback: number, path: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    problems.add(ProblemCode.OutOfRange, path, `expected an integer ≥ ${min}`);
    return fallback;
  }
  return value;
}

/**
 * Validates the proxy's own options against `router`, adding every problem to `problems`.
 *
 * @example
 * ```ts
 * const settings = resolveProxyOptions(router, { upstreams: { v1: "http://127.0.0.1:3001" } }, problems);
 * ```
 */
export function resolveProxyOptions(
  router: Router,
  options: object,
  problems: Problems,
  timeoutFields: readonly string[] = ["connect", "response", "idle"],
): ProxySettings {
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  const upstreamUrls = new Map<string, URL>();
  if (!isRecord(o.upstreams) || Object.keys(o.upstreams).length === 0) {
    problems.add(ProblemCode.Required, "upstreams", "expected one upstream URL per version");
  } else {
    for (const [version, value] of Object.entries(o.upstreams)) {
      const at = child("upstreams", version);
      if (FORBIDDEN_KEYS.has(version)) {
        problems.add(ProblemCode.ForbiddenKey, at, `"${version}" is not allowed as a key`);
        continue;
      }
      let url: URL | undefined;
      try {
        url = value instanceof URL ? new URL(value.href) : typeof value === "string" ? new URL(value) : undefined;
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") {
        problems.add(ProblemCode.InvalidUrl, at, "expected an http(s) URL without query or fragment");
      } else upstreamUrls.set(version, url);
    }
    for (const version of router.config.versions) {
      if (!Object.hasOwn(o.upstreams, version)) problems.add(ProblemCode.Required, child("upstreams", version), `version "${version}" has no upstream`);
    }
  }
  const timeouts: Record<string, unknown> = isRecord(o.timeouts) ? o.timeouts : {};
  if (o.timeouts !== undefined && !isRecord(o.timeouts)) problems.add(ProblemCode.Type, "timeouts", "expected an object");
  checkFields(problems, timeouts, "timeouts", timeoutFields);
  const m: Record<string, unknown> = isRecord(o.mirror) ? o.mirror : {};
  if (o.mirror !== undefined && !isRecord(o.mirror)) problems.add(ProblemCode.Type, "mirror", "expected an object");
  checkFields(problems, m, "mirror", ["maxInFlight", "maxBodyBytes", "timeout", "compare", "methods", "header", "stats", "onResult"]);
  let methods: Set<string> | undefined;
  if (m.methods !== undefined) {
    if (!Array.isArray(m.methods) || !m.methods.every((x) => typeof x === "string" && TOKEN.test(x))) {
      problems.add(ProblemCode.Type, "mirror.methods", "expected a list of HTTP methods");
    } else methods = new Set((m.methods as string[]).map((x) => x.toUpperCase()));
  }
  if (m.compare !== undefined && typeof m.compare !== "boolean") problems.add(ProblemCode.Type, "mirror.compare", "expected a boolean");
  if (m.stats !== undefined && !(isRecord(m.stats) && typeof m.stats.recordOutcome === "function"))
    problems.add(ProblemCode.Type, "mirror.stats", "expected an OutcomeRecorder");
  if (m.onResult !== undefined && typeof m.onResult !== "function") problems.add(ProblemCode.Type, "mirror.onResult", "expected a function");
  const header = m.header === undefined ? "x-turnout-shadow" : m.header;
  if (header !== false && !(typeof header === "string" && TOKEN.test(header)))
    problems.add(ProblemCode.InvalidName, "mirror.header", "expected a header name or false");
  const a: Record<string, unknown> = isRecord(o.agent) ? o.agent : {};
  if (o.agent !== undefined && !isRecord(o.agent)) problems.add(ProblemCode.Type, "agent", "expected an object");
  checkFields(problems, a, "agent", ["maxSockets", "maxFreeSockets"]);
  const tls = resolveTls(o.tls, problems);
  if (o.trustProxy !== undefined && typeof o.trustProxy !== "boolean") problems.add(ProblemCode.Type, "trustProxy", "expected a boolean");
  if (o.rewritePath !== undefined && typeof o.rewritePath !== "function") problems.add(ProblemCode.Type, "rewritePath", "expected a function");

  const maxInFlight = count(problems, m.maxInFlight, 64, "mirror.maxInFlight", 0);
  const settings = {
    connectMs: duration(problems, timeouts.connect, "5s", "timeouts.connect"),
    responseMs: duration(problems, timeouts.response, "30s", "timeouts.response"),
    idleMs: duration(problems, timeouts.idle, "60s", "timeouts.idle"),
    mirror: {
      maxInFlight,
      maxBodyBytes: count(problems, m.maxBodyBytes, 1024 * 1024, "mirror.maxBodyBytes", 0),
      timeoutMs: duration(problems, m.timeout, "10s", "mirror.timeout"),
      compare: m.compare === true,
      methods,
      header: typeof header === "string" ? header.toLowerCase() : undefined,
      stats: m.stats as OutcomeRecorder | undefined,
      onResult: m.onResult as MirrorSettings["onResult"],
    },
    trustProxy: o.trustProxy === true,
  };
  const agent = {
    maxSockets: count(problems, a.maxSockets, 256, "agent.maxSockets", 1),
    maxFreeSockets: count(problems, a.maxFreeSockets, 64, "agent.maxFreeSockets", 0),
    ...(tls === undefined ? {} : { tls }),
  };
  return { upstreamUrls, agent, ...settings };
}

const isPem = (value: unknown): boolean => typeof value === "string" || Buffer.isBuffer(value);

/** Checks `tls` field by field; answers a frozen copy with only the known fields, or undefined. */
function resolveTls(value: unknown, problems: Problems): UpstreamTls | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.add(ProblemCode.Type, "tls", "expected an object");
    return undefined;
  }
  checkFields(problems, value, "tls", TLS_FIELDS);
  const copy: Record<string, unknown> = {};
  for (const name of ["ca", "cert", "key"] as const) {
    const pem = value[name];
    if (pem === undefined) continue;
    if (isPem(pem) || (Array.isArray(pem) && pem.length > 0 && pem.every(isPem))) copy[name] = Array.isArray(pem) ? [...pem] : pem;
    else problems.add(ProblemCode.Type, child("tls", name), "expected PEM text, a Buffer, or a list of them");
  }
  for (const name of ["passphrase", "servername"] as const) {
    if (value[name] === undefined) continue;
    if (typeof value[name] === "string" && value[name] !== "") copy[name] = value[name];
    else problems.add(ProblemCode.Type, child("tls", name), "expected a non-empty string");
  }
  if (value.rejectUnauthorized !== undefined) {
    if (typeof value.rejectUnauthorized === "boolean") copy.rejectUnauthorized = value.rejectUnauthorized;
    else problems.add(ProblemCode.Type, "tls.rejectUnauthorized", "expected a boolean");
  }
  return Object.freeze(copy) as UpstreamTls;
}

/**
 * What the node:http proxy and the fetch proxy share: their common options, their counters and the error an
 * upstream failure is recorded with. No Node module here: the fetch proxy runs in any runtime.
 */
import type { Decision, OutcomeRecorder } from "../../types.js";
import type { Duration } from "../../internal/duration.js";
import type { MirrorCounters, MirrorResult } from "./mirror.js";
import type { HttpCounters, TurnoutHttpOptions } from "./types.js";

/**
 * Options shared by the node:http proxy (`createProxy`) and the fetch proxy (`createFetchProxy`). The shared
 * HTTP options (key, stats, pin, headers, sunset …) apply as in the middleware; the functions receive `Req`.
 *
 * @example
 * ```ts
 * const options: SharedProxyOptions<Request> = {
 *   upstreams: { v1: "http://10.0.0.1:8080", v2: "http://10.0.0.2:8080" },
 *   stats,
 *   mirror: { maxInFlight: 32, maxBodyBytes: 256 * 1024, compare: true },
 * };
 * ```
 */
export interface SharedProxyOptions<Req> extends TurnoutHttpOptions<Req> {
  /** One base URL per version (`http:` or `https:`); its path is prefixed to every request path. */
  readonly upstreams: Readonly<Record<string, string | URL>>;
  /** Shadow traffic for decisions that carry `mirror`. */
  readonly mirror?: {
    /** Copies in flight at most; more are dropped and counted. Default 64 (0 turns mirroring off). */
    readonly maxInFlight?: number;
    /** Body bytes copied at most; a longer body drops the copy. Default 1 MiB. */
    readonly maxBodyBytes?: number;
    /** Time limit of a copy, response included. Default `"10s"`. */
    readonly timeout?: Duration;
    /** Compare the mirror's status with the primary's and count mismatches. Default `false`. */
    readonly compare?: boolean;
    /** Only these methods are mirrored, e.g. `["GET", "HEAD"]`. Default: all. */
    readonly methods?: readonly string[];
    /** Header added to copies so the mirror can tell them apart (and skip side effects). Default `"x-turnout-shadow"`; `false` adds none. */
    readonly header?: string | false;
    /** Records the copies' outcomes (use a separate stats instance: shadow traffic is not real traffic). */
    readonly stats?: OutcomeRecorder;
    /** Called once per copy with what happened. */
    readonly onResult?: (result: MirrorResult) => void;
  };
  /** Trust `X-Forwarded-*` from the client (behind another proxy) and extend them. Default `false`: replace them. */
  readonly trustProxy?: boolean;
  /** Changes the path sent to an upstream, e.g. strips `/v2`: `(path, version) => path.replace(/^\/v\d+/, "")`. */
  readonly rewritePath?: (path: string, version: string, decision: Decision) => string;
}

/**
 * The proxy's live counters.
 *
 * @example
 * ```ts
 * const { mirrored, mirrorDropped, mirrorErrors, mismatches, upstreamErrors } = proxy.counters;
 * ```
 */
export interface ProxyCounters extends HttpCounters, Readonly<MirrorCounters> {
  /** Primary exchanges that failed: answered 502/504, or cut mid-response. */
  readonly upstreamErrors: number;
}

/** The error an upstream failure is recorded with in the stats: its status is the answer's (502 or 504). */
export class UpstreamError extends Error {
  constructor(
    readonly status: number,
    cause: unknown,
  ) {
    super(status === 504 ? "upstream timeout" : "upstream unavailable", { cause });
    this.name = "UpstreamError";
  }
}

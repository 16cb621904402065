/**
 * The upstream hop of one primary exchange: what an upstream client (Node's `http.request`, or undici) must do so
 * that the exchange in `exchange.ts` keeps one set of semantics whichever client carries it. The client sends the
 * request, reports the response head, streams the body into the client's response with backpressure, and says
 * how an attempt failed; the exchange decides the answers, the retry and the time limit to the response.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { HeaderRecord } from "./headers.js";

/** One attempt to send a request upstream. */
export interface HopRequest {
  readonly method: string | undefined;
  /** The path with the upstream's base path and the query. */
  readonly path: string;
  /** The headers sent upstream (hop-by-hop removed, `X-Forwarded-*`, the upstream's `Host`). */
  readonly headers: OutgoingHttpHeaders;
  /** The client's request, whose body is streamed upstream; `undefined` sends no body (a retry). */
  readonly body: IncomingMessage | undefined;
  /** Socket inactivity limit. */
  readonly idleMs: number;
  /** Time limit to establish the connection (TLS included). */
  readonly connectMs: number;
}

/**
 * How an attempt failed: `timeout` the client's own time limit (connect, idle), `reset` a reused keep-alive
 * connection that the upstream had closed before any of the response came back (a bodyless idempotent request may
 * be sent again), `other` anything else.
 */
export type HopFailure = "timeout" | "reset" | "other";

/** What a hop reports to its exchange. */
export interface HopEvents {
  /**
   * The upstream's response head arrived (its headers as received; the exchange drops hop-by-hop ones). Answers
   * `false` when the client has gone: the hop then drops the response rather than streaming it.
   */
  head(status: number, message: string | undefined, headers: HeaderRecord): boolean;
  /** The attempt failed (before or during the response); called at most once per attempt. */
  failed(error: unknown, kind: HopFailure): void;
}

/**
 * An upstream client: starts `request`, streams the response body into `res` after `events.head`, and answers the
 * function that cuts the attempt (with the reason it reports). May throw when the request cannot be sent at all.
 */
export type Hop = (request: HopRequest, res: ServerResponse, events: HopEvents) => (reason?: Error) => void;

/** A time limit of the upstream exchange was reached. */
export class UpstreamTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`upstream ${what} timeout after ${ms} ms`);
    this.name = "UpstreamTimeout";
  }
}

/** Starts a request over Node's agent: `Upstream.request` of `forward.ts`. */
export type StartRequest = (method: string | undefined, path: string, headers: OutgoingHttpHeaders, idleMs?: number) => ClientRequest;

/**
 * The hop over Node's `http.request`/`https.request` with a keep-alive agent: the idle limit is the socket's
 * timeout, the connect limit a timer from the socket's assignment to its (TLS) connection, a reset is an
 * `ECONNRESET` on a socket the agent reused.
 *
 * @example
 * ```ts
 * const hop = nodeHop(upstream.request, false);
 * ```
 */
export function nodeHop(start: StartRequest, secure: boolean): Hop {
  return (request, res, events) => {
    const up = start(request.method, request.path, request.headers, request.idleMs);
    let timedOut = false;
    let done = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const failed = (error: unknown, kind: HopFailure): void => {
      if (done) return;
      done = true;
      events.failed(error, kind);
    };
    const timeout = (what: string, ms: number): void => {
      timedOut = true;
      up.destroy(new UpstreamTimeout(what, ms));
    };
    up.on("timeout", () => timeout("idle", request.idleMs));
    up.once("socket", (socket: Socket) => {
      if (!socket.connecting) return; // a reused keep-alive socket: no connect limit, no more listeners
      connectTimer = setTimeout(() => timeout("connect", request.connectMs), request.connectMs);
      // For https the connection is established once the TLS handshake is done, not at the TCP connect.
      socket.once(secure ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
      up.once("close", () => clearTimeout(connectTimer));
    });
    up.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      failed(error, timedOut ? "timeout" : up.reusedSocket && error.code === "ECONNRESET" ? "reset" : "other");
    });
    up.on("response", (upstreamRes: IncomingMessage) => {
      if (!events.head(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage || undefined, upstreamRes.headers)) return void upstreamRes.resume();
      upstreamRes.on("error", (error) => failed(error, timedOut ? "timeout" : "other"));
      upstreamRes.on("aborted", () => failed(new Error("the upstream closed the connection mid-response"), "other"));
      upstreamRes.pipe(res);
    });
    if (request.body !== undefined) request.body.pipe(up);
    else up.end();
    return (reason) => up.destroy(reason);
  };
}

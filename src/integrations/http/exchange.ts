/**
 * One primary exchange of the proxy: stream the request to the upstream and the response back, with connect,
 * response and idle time limits, `502`/`504` JSON answers before the response has started, and one retry of a
 * bodyless idempotent request whose reused keep-alive socket the upstream had just closed.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type Upstream, withoutHopByHop } from "./forward.js";
import { type HeaderPair, applyHeaders, upstreamAnswer, writeJson } from "./respond.js";

/** Why an upstream exchange failed: `timeout` answers 504, `unavailable` 502. */
export type UpstreamFailure = "timeout" | "unavailable";

/** What {@link exchange} needs. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly upstream: Upstream;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly version: string;
  /** turnout's own response headers (version, pin, lifecycle), added to the upstream's. */
  readonly extraHeaders: readonly HeaderPair[];
  readonly connectMs: number;
  readonly responseMs: number;
  readonly idleMs: number;
  /** The upstream's status when its response starts; `undefined` when it failed before that. */
  onStatus(status: number | undefined): void;
  /** Called once when the exchange fails (before or during the response). */
  onFailure(kind: UpstreamFailure, error: unknown): void;
}

const RETRYABLE = new Set(["GET", "HEAD", "OPTIONS"]);

class Timeout extends Error {
  constructor(what: string, ms: number) {
    super(`upstream ${what} timeout after ${ms} ms`);
    this.name = "UpstreamTimeout";
  }
}

/**
 * Starts the client's response with the upstream's status and headers (minus hop-by-hop) and turnout's own
 * headers: `Set-Cookie` appended, `Link` joined, the others replaced. One `writeHead` with a ready header object
 * when nothing was set on the response before (the usual case: one validation pass, no per-header bookkeeping);
 * header by header otherwise, so that what is already there is kept the same way.
 */
function writeUpstreamHead(res: ServerResponse, upstreamRes: IncomingMessage, extra: readonly HeaderPair[]): void {
  const headers = withoutHopByHop(upstreamRes.headers);
  const status = upstreamRes.statusCode ?? 502;
  const message = upstreamRes.statusMessage || undefined;
  if (res.getHeaderNames().length > 0) {
    res.statusCode = status;
    if (message !== undefined) res.statusMessage = message;
    for (const name of Object.keys(headers)) res.setHeader(name, headers[name] as string | string[]);
    applyHeaders(res, extra);
    return;
  }
  for (const [name, value] of extra) {
    const existing = name === "set-cookie" || name === "link" ? headers[name] : undefined;
    if (existing === undefined) headers[name] = value;
    else {
      const list = Array.isArray(existing) ? [...existing, value] : [existing, value];
      headers[name] = name === "link" ? list.join(", ") : list;
    }
  }
  res.writeHead(status, message, headers);
}

/**
 * Runs one primary exchange. Never throws; every outcome ends the client's response one way or another. The caller
 * watches the client's response and calls the returned function when the client goes away before its end: the
 * upstream request is then cut.
 *
 * @example
 * ```ts
 * exchange({ req, res, upstream, path: "/users", headers, version: "v1", extraHeaders: [], connectMs: 5000,
 *   responseMs: 30000, idleMs: 60000, onStatus() {}, onFailure() {} });
 * ```
 */
export function exchange(x: Exchange): () => void {
  const { req, res } = x;
  let clientGone = false;
  let responding = false;
  let failed = false;
  let current: ClientRequest | undefined;
  const bodyless = RETRYABLE.has(req.method ?? "") && req.headers["transfer-encoding"] === undefined && (req.headers["content-length"] ?? "0") === "0";

  const fail = (kind: UpstreamFailure, error: unknown): void => {
    if (failed || clientGone) return;
    failed = true;
    if (!responding) x.onStatus(undefined);
    x.onFailure(kind, error);
    if (!responding && !res.headersSent) {
      applyHeaders(res, x.extraHeaders);
      writeJson(res, upstreamAnswer(kind, x.version));
    } else res.destroy(); // the response had started: cut it, the client sees a truncated body
  };

  const send = (attempt: number): void => {
    let up: ClientRequest;
    try {
      up = x.upstream.request(req.method, x.path, x.headers, x.idleMs);
    } catch (error) {
      return fail("unavailable", error); // e.g. a rewritten path that Node refuses to send
    }
    current = up;
    let timedOut = false;
    const timeout = (what: string, ms: number): void => {
      timedOut = true;
      up.destroy(new Timeout(what, ms));
    };
    const responseTimer = setTimeout(() => timeout("response", x.responseMs), x.responseMs);
    let connectTimer: NodeJS.Timeout | undefined;
    const clearTimers = (): void => {
      clearTimeout(responseTimer);
      clearTimeout(connectTimer);
    };
    up.on("timeout", () => timeout("idle", x.idleMs));
    up.once("socket", (socket: Socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => timeout("connect", x.connectMs), x.connectMs);
      // For https the connection is established once the TLS handshake is done, not at the TCP connect.
      socket.once(x.upstream.url.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
    });
    up.once("close", clearTimers);
    up.on("error", (error: NodeJS.ErrnoException) => {
      clearTimers();
      if (clientGone) return;
      if (attempt === 0 && bodyless && !responding && !timedOut && up.reusedSocket && error.code === "ECONNRESET") return send(1);
      fail(timedOut ? "timeout" : "unavailable", error);
    });
    up.on("response", (upstreamRes: IncomingMessage) => {
      clearTimers();
      if (clientGone) return void upstreamRes.resume();
      responding = true;
      x.onStatus(upstreamRes.statusCode);
      writeUpstreamHead(res, upstreamRes, x.extraHeaders);
      upstreamRes.on("error", (error) => fail(timedOut ? "timeout" : "unavailable", error));
      upstreamRes.on("aborted", () => fail("unavailable", new Error("the upstream closed the connection mid-response")));
      upstreamRes.pipe(res);
    });
    if (attempt === 0) req.pipe(up);
    else up.end();
  };
  send(0);
  return () => {
    clientGone = true;
    current?.destroy();
  };
}

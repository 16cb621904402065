/**
 * One primary exchange of the proxy: stream the request to the upstream and the response back, with connect,
 * response and idle time limits, `502`/`504` JSON answers before the response has started, and one retry of a
 * bodyless idempotent request whose reused keep-alive socket the upstream had just closed. The upstream client
 * (Node's `http.request` or undici) is a {@link Hop}; these rules are the same for both.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { type HeaderRecord, withoutHopByHop } from "./headers.js";
import { type Hop, type HopFailure, UpstreamTimeout } from "./hop.js";
import { type HeaderPair, applyHeaders, upstreamAnswer, writeJson } from "./respond.js";

/** Why an upstream exchange failed: `timeout` answers 504, `unavailable` 502. */
export type UpstreamFailure = "timeout" | "unavailable";

/** What {@link exchange} needs. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The upstream client of the decided version. */
  readonly hop: Hop;
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

/**
 * Starts the client's response with the upstream's status and headers (minus hop-by-hop) and turnout's own
 * headers: `Set-Cookie` appended, `Link` joined, the others replaced. One `writeHead` with a ready header object
 * when nothing was set on the response before (the usual case: one validation pass, no per-header bookkeeping);
 * header by header otherwise, so that what is already there is kept the same way.
 */
function writeUpstreamHead(res: ServerResponse, status: number, message: string | undefined, received: HeaderRecord, extra: readonly HeaderPair[]): void {
  const headers = withoutHopByHop(received);
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
 * exchange({ req, res, hop: upstream.hop, path: "/users", headers, version: "v1", extraHeaders: [], connectMs: 5000,
 *   responseMs: 30000, idleMs: 60000, onStatus() {}, onFailure() {} });
 * ```
 */
export function exchange(x: Exchange): () => void {
  const { req, res } = x;
  let clientGone = false;
  let responding = false;
  let failed = false;
  let cut: ((reason?: Error) => void) | undefined;
  let responseTimer: NodeJS.Timeout | undefined;
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
    let timedOut = false;
    responseTimer = setTimeout(() => {
      timedOut = true;
      cut?.(new UpstreamTimeout("response", x.responseMs));
    }, x.responseMs);
    const events = {
      head(status: number, message: string | undefined, headers: HeaderRecord): boolean {
        clearTimeout(responseTimer);
        if (clientGone) return false;
        responding = true;
        x.onStatus(status);
        writeUpstreamHead(res, status, message, headers, x.extraHeaders);
        return true;
      },
      failed(error: unknown, kind: HopFailure): void {
        clearTimeout(responseTimer);
        if (clientGone) return;
        if (attempt === 0 && bodyless && !responding && !timedOut && kind === "reset") return send(1);
        fail(timedOut || kind === "timeout" ? "timeout" : "unavailable", error);
      },
    };
    const request = { method: req.method, path: x.path, headers: x.headers, body: attempt === 0 ? req : undefined, idleMs: x.idleMs, connectMs: x.connectMs };
    try {
      cut = x.hop(request, res, events);
    } catch (error) {
      clearTimeout(responseTimer);
      fail("unavailable", error); // e.g. a rewritten path that Node refuses to send
    }
  };
  send(0);
  return () => {
    clientGone = true;
    clearTimeout(responseTimer);
    cut?.();
  };
}

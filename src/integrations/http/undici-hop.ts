/**
 * The upstream hop over undici (`upstreamClient: "undici"`): a `Pool` per upstream and its `dispatch`, the
 * lowest-level way to use it, with the response body written straight into the client's response. undici is an
 * optional peer dependency, loaded only when chosen; Node's built-in fetch carries a copy of undici that cannot be
 * imported, so the package must be installed.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { PassThrough } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import { ProblemCode } from "../../errors.js";
import type { Problems } from "../../internal/problems.js";
import type * as Undici from "undici";
import type { HeaderRecord } from "./headers.js";
import type { Hop, HopFailure, HopEvents, HopRequest } from "./hop.js";
import type { UpstreamTls } from "./proxy-options.js";

/** The parts of the undici package the hop uses. */
export type UndiciModule = Pick<typeof Undici, "Pool" | "util">;

/**
 * Loads the undici package installed next to turnout: the module, or the reason it could not be loaded.
 *
 * @example
 * ```ts
 * const undici = loadUndici();
 * if (undici instanceof Error) throw undici;
 * ```
 */
export function loadUndici(): UndiciModule | Error {
  try {
    const undici = createRequire(import.meta.url)("undici") as Partial<UndiciModule>;
    if (typeof undici.Pool !== "function" || typeof undici.util?.parseHeaders !== "function")
      return new Error("the undici package has no Pool or util.parseHeaders");
    return undici as UndiciModule;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Checks `upstreamClient`; for `"undici"` loads the package, adding a problem when it is not installed. Answers the
 * loaded package, or `undefined` for Node's client.
 *
 * @example
 * ```ts
 * const undici = resolveUpstreamClient(options.upstreamClient, problems);
 * ```
 */
export function resolveUpstreamClient(value: unknown, problems: Problems): UndiciModule | undefined {
  if (value === undefined || value === "node") return undefined;
  if (value !== "undici") {
    problems.add(ProblemCode.InvalidValue, "upstreamClient", 'expected "node" or "undici"');
    return undefined;
  }
  const undici = loadUndici();
  if (!(undici instanceof Error)) return undici;
  problems.add(ProblemCode.MissingPackage, "upstreamClient", `the undici package could not be loaded (npm install undici): ${undici.message}`);
  return undefined;
}

/** Error codes of undici's own time limits: connect, response headers (idle before them), body (idle after them). */
const TIMEOUTS = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

interface UndiciFailure {
  readonly code?: unknown;
  /** undici's `SocketError` describes the connection: bytes read before include earlier responses on it. */
  readonly socket?: { readonly bytesRead?: unknown };
}

/**
 * How an undici failure counts. A reset is a connection closed by the upstream (`UND_ERR_SOCKET`) that had carried
 * a response before, or a plain `ECONNRESET`/`EPIPE`, for which undici does not say whether the connection was
 * reused (the exchange still retries only a bodyless idempotent request, once, before any of its response).
 */
function classify(error: unknown): HopFailure {
  const { code, socket } = (typeof error === "object" && error !== null ? error : {}) as UndiciFailure;
  if (typeof code !== "string") return "other";
  if (TIMEOUTS.has(code)) return "timeout";
  if (code === "UND_ERR_SOCKET") return typeof socket?.bytesRead === "number" && socket.bytesRead > 0 ? "reset" : "other";
  return code === "ECONNRESET" || code === "EPIPE" ? "reset" : "other";
}

/** Whether the client's request carries a body (a declared length other than 0, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** What an undici hop needs to know of its upstream. */
export interface UndiciUpstream {
  readonly url: URL;
  readonly maxSockets: number;
  readonly connectMs: number;
  readonly tls: UpstreamTls | undefined;
}

/**
 * A hop over an undici `Pool` for one upstream, and the function that closes the pool's connections.
 *
 * @example
 * ```ts
 * const { hop, close } = undiciHop(undici, { url, maxSockets: 256, connectMs: 5000, tls: undefined });
 * ```
 */
export function undiciHop(undici: UndiciModule, upstream: UndiciUpstream): { hop: Hop; close(): void } {
  const secure = upstream.url.protocol === "https:";
  const { tls } = upstream;
  const pool = new undici.Pool(upstream.url.origin, {
    connections: upstream.maxSockets,
    pipelining: 1,
    // Validated PEM inputs; Node takes them as they are.
    connect: { timeout: upstream.connectMs, ...(secure ? (tls as ConnectionOptions | undefined) : undefined) },
  });
  // undici takes the name to verify from the Host header unless the request names it: tls.servername wins.
  const servername = secure ? tls?.servername : undefined;
  const { parseHeaders } = undici.util;

  const hop: Hop = (request: HopRequest, res: ServerResponse, events: HopEvents) => {
    let abort: ((reason?: Error) => void) | undefined;
    let pending: Error | undefined;
    let done = false;
    const failed = (error: unknown): void => {
      if (done) return;
      done = true;
      events.failed(error, classify(error));
    };
    const client = request.body;
    // A copy of the request (shadow traffic) may set the body flowing before the pool reads it: the pass-through
    // keeps every chunk for the upstream, and pushes back on the client once its small buffer is full.
    const body = client !== undefined && hasBody(client) ? client.pipe(new PassThrough()) : null;
    const handler: Undici.Dispatcher.DispatchHandler = {
      onConnect(cut) {
        if (pending !== undefined) cut(pending);
        else abort = cut;
      },
      onHeaders(status, raw, resume, message) {
        if (status < 200) return true; // informational (103 Early Hints): Node's client passes them over too
        if (!events.head(status, message || undefined, parseHeaders(raw) as HeaderRecord)) return false;
        res.on("drain", resume);
        return true;
      },
      onData(chunk) {
        return res.write(chunk);
      },
      onComplete() {
        done = true;
        res.end();
      },
      onError: failed,
    };
    // One options literal of a fixed shape per request. `servername` is read by undici though its types omit it.
    const options: Undici.Dispatcher.DispatchOptions & { servername: string | undefined } = {
      method: (request.method ?? "GET") as Undici.Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers as Record<string, string | string[]>,
      body,
      headersTimeout: request.idleMs,
      bodyTimeout: request.idleMs,
      servername, // undefined: undici's own choice (the Host header's name)
    };
    pool.dispatch(options, handler);
    return (reason) => {
      if (abort !== undefined) return abort(reason ?? new Error("the request was cut"));
      // Still waiting for a connection: answer now, and cut the request once the pool starts it.
      pending = reason ?? new Error("the request was cut");
      failed(pending);
    };
  };
  return { hop, close: () => void pool.destroy().catch(() => undefined) };
}

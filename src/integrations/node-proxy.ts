/**
 * A node:http reverse proxy in front of one upstream per version, with shadow traffic.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Router } from "../types.js";
import { createEngine } from "./http/engine.js";
import { exchange } from "./http/exchange.js";
import { buildUpstreams, forwardedHeaders } from "./http/forward.js";
import { startMirror, throttledWarn } from "./http/mirror.js";
import { NODE_PROXY_FIELDS, type ProxyOptions, type ProxySettings, resolveProxyOptions } from "./http/proxy-options.js";
import { splitTarget } from "./http/request.js";
import { applyHeaders, upstreamAnswer, writeJson } from "./http/respond.js";
import { type ProxyCounters, UpstreamError } from "./http/proxy-shared.js";
import { type UndiciModule, resolveUpstreamClient } from "./http/undici-hop.js";

export type { ProxyCounters };

/**
 * A request listener for `http.createServer`, with counters and `close()`.
 *
 * @example
 * ```ts
 * const proxy = createProxy(router, { upstreams });
 * http.createServer(proxy).listen(8080);
 * ```
 */
export interface TurnoutProxy {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Live counters (primary and mirror). */
  readonly counters: ProxyCounters;
  /** Closes the upstream keep-alive connections (call after closing the server). */
  close(): void;
}

/**
 * Creates a reverse proxy that decides each request's version with `router` and streams it to that version's
 * upstream. Decisions with `mirror` also send a copy to the mirror version, which never delays or changes the
 * client's response. Throws `TurnoutConfigError` listing every bad option.
 *
 * @example
 * ```ts
 * const proxy = createProxy(router, {
 *   upstreams: { v1: "http://127.0.0.1:3001", v2: "http://127.0.0.1:3002" },
 *   stats,
 *   key: (req) => req.headers["x-user-id"] as string | undefined,
 *   mirror: { compare: true },
 * });
 * http.createServer(proxy).listen(8080);
 * ```
 */
export function createProxy(router: Router, options: ProxyOptions): TurnoutProxy {
  let settings: ProxySettings | undefined;
  let undici: UndiciModule | undefined;
  const engine = createEngine<IncomingMessage>(router, options, NODE_PROXY_FIELDS, (problems) => {
    settings = resolveProxyOptions(router, options, problems);
    undici = resolveUpstreamClient(options.upstreamClient, problems);
  });
  const config = settings as ProxySettings;
  const upstreams = buildUpstreams(config, undici);
  const counters = Object.assign(engine.counters, {
    upstreamErrors: 0,
    mirrored: 0,
    mirrorDropped: 0,
    mirrorErrors: 0,
    mirrorInFlight: 0,
    compared: 0,
    mismatches: 0,
  });
  const warn = throttledWarn(engine.logger, 60_000);
  const mirrorWarn = throttledWarn(engine.logger, 60_000);
  const rewrite = options.rewritePath;

  const proxy = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      forward(req, res);
    } catch (error) {
      // Nothing above is expected to throw; if it does, the client still gets an answer and the process lives on.
      engine.fault("proxying the request failed", error);
      if (res.headersSent) res.destroy();
      else writeJson(res, { status: 502, body: { error: "PROXY_FAULT", message: "The request could not be proxied." } });
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const prepared = engine.prepare(req, req.url, req);
    let failure: UpstreamError | undefined;
    let cut: (() => void) | undefined;
    // One watch on the response for both the outcome and a client that goes away (which cuts the upstream).
    res.once("close", () => {
      const finished = res.writableFinished;
      if (!finished) cut?.();
      engine.record(prepared, finished ? res.statusCode : undefined, failure);
    });
    const { decision } = prepared;
    const upstream = upstreams.primary.get(decision.version);
    if (prepared.answer !== undefined || upstream === undefined) {
      if (upstream === undefined && prepared.answer === undefined) {
        counters.upstreamErrors++;
        warn("no upstream is configured for a version", { version: decision.version });
      }
      applyHeaders(res, prepared.headers);
      return writeJson(res, prepared.answer ?? upstreamAnswer("missing", decision.version));
    }
    const { path, query } = splitTarget(req.url);
    const pathFor = (version: string): string => {
      let rewritten = path;
      try {
        if (rewrite !== undefined) rewritten = String(rewrite(path, version, decision));
      } catch (error) {
        engine.fault("rewritePath threw; the path is sent unchanged", error);
      }
      return (rewritten.startsWith("/") ? rewritten : `/${rewritten}`) + (query === "" ? "" : `?${query}`);
    };
    const headers = forwardedHeaders(req, upstream.url, config.trustProxy);
    const mirrorVersion = decision.mirror;
    const mirrorUpstream = mirrorVersion === undefined ? undefined : upstreams.mirror.get(mirrorVersion);
    if (mirrorVersion !== undefined && mirrorUpstream === undefined) {
      counters.mirrorDropped++;
      mirrorWarn("no upstream is configured for the mirror version", { version: mirrorVersion });
    }
    const copy =
      mirrorVersion === undefined || mirrorUpstream === undefined
        ? undefined
        : startMirror(
            req,
            { ...headers, host: mirrorUpstream.url.host },
            mirrorUpstream.basePath + pathFor(mirrorVersion),
            mirrorUpstream,
            mirrorVersion,
            decision.version,
            config.mirror,
            counters,
            mirrorWarn,
          );
    cut = exchange({
      req,
      res,
      hop: upstream.hop,
      headers,
      version: decision.version,
      extraHeaders: prepared.headers,
      path: upstream.basePath + pathFor(decision.version),
      connectMs: config.connectMs,
      responseMs: config.responseMs,
      idleMs: config.idleMs,
      onStatus: (status) => copy?.primaryAnswered(status),
      onFailure: (kind, error) => {
        counters.upstreamErrors++;
        failure = new UpstreamError(kind === "timeout" ? 504 : 502, error);
        warn("an upstream request failed", { version: decision.version, kind, error });
      },
    });
  };

  const close = (): void => {
    for (const upstream of [...upstreams.primary.values(), ...upstreams.mirror.values()]) upstream.close();
  };
  return Object.assign(proxy, { counters: counters as ProxyCounters, close });
}

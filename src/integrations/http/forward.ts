/**
 * Reverse-proxy plumbing: upstream targets with their keep-alive agents, hop-by-hop header removal
 * (RFC 9110 §7.6.1) and `X-Forwarded-*`.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import { type HeaderRecord, forwardHeaders, withoutHopByHop } from "./headers.js";
import { type Hop, nodeHop } from "./hop.js";
import type { ProxySettings, UpstreamTls } from "./proxy-options.js";
import { type UndiciModule, undiciHop } from "./undici-hop.js";

export { withoutHopByHop };

/** One upstream: where requests of a version go, and the agent that keeps its connections alive. */
export interface Upstream {
  readonly url: URL;
  /** The upstream URL's path without a trailing slash (`""` for `/`), prefixed to every request path. */
  readonly basePath: string;
  readonly agent: HttpAgent;
  /**
   * Starts a request to this upstream over its agent (`path` includes the base path and the query). With
   * `idleMs`, the request emits `timeout` after that long without activity on its socket.
   */
  request(method: string | undefined, path: string, headers: OutgoingHttpHeaders, idleMs?: number): ClientRequest;
  /** The client of the primary exchanges: over `request`, or over an undici pool. */
  readonly hop: Hop;
  /** Closes the keep-alive connections. */
  close(): void;
}

/** Keep-alive settings for the upstream agents. */
export interface AgentSettings {
  readonly maxSockets: number;
  readonly maxFreeSockets: number;
  /** TLS options of `https:` upstreams (validated: see `ProxyOptions.tls`); ignored for `http:`. */
  readonly tls?: UpstreamTls;
}

/** The primary exchanges over undici instead of Node's agent: the loaded package and the connect limit. */
export interface UndiciClient {
  readonly undici: UndiciModule;
  readonly connectMs: number;
}

/**
 * An upstream for `url` (http or https) with its own keep-alive agent; with `client`, its primary exchanges go
 * over an undici pool (of `settings.maxSockets` connections) instead.
 *
 * @example
 * ```ts
 * const v2 = createUpstream(new URL("http://127.0.0.1:3002/api"), { maxSockets: 256, maxFreeSockets: 64 });
 * ```
 */
export function createUpstream(url: URL, settings: AgentSettings, client?: UndiciClient): Upstream {
  const secure = url.protocol === "https:";
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, maxFreeSockets: settings.maxFreeSockets, scheduling: "lifo" as const };
  const agent = secure ? new HttpsAgent({ ...(settings.tls as ConnectionOptions | undefined), ...agentOptions }) : new HttpAgent(agentOptions);
  const request = secure ? httpsRequest : httpRequest;
  const basePath = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname;
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname; // IPv6 literals
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const protocol = url.protocol;
  // One options object literal per request, of the same shape every time: Node's request parsing stays fast.
  // The idle limit as the `timeout` option rather than `ClientRequest.setTimeout`: Node then watches the socket
  // with one listener instead of three.
  const start = (method: string | undefined, path: string, headers: OutgoingHttpHeaders, idleMs?: number): ClientRequest =>
    request({ protocol, hostname, port, method, path, headers, agent, timeout: idleMs } satisfies RequestOptions);
  const pool =
    client === undefined ? undefined : undiciHop(client.undici, { url, maxSockets: settings.maxSockets, connectMs: client.connectMs, tls: settings.tls });
  const close = (): void => {
    agent.destroy();
    pool?.close();
  };
  return { url, basePath, agent, request: start, hop: pool?.hop ?? nodeHop(start, secure), close };
}

/**
 * The headers sent upstream for a Node request: see {@link forwardHeaders}; the client's address and scheme come
 * from its socket.
 *
 * @example
 * ```ts
 * forwardedHeaders(req, upstream.url, false)["x-forwarded-for"]; // "203.0.113.7"
 * ```
 */
export function forwardedHeaders(req: IncomingMessage, target: URL, trustProxy: boolean): OutgoingHttpHeaders {
  const proto = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  const headers = forwardHeaders(req.headers as HeaderRecord, { address: req.socket.remoteAddress ?? "", proto, trustProxy });
  headers.host = target.host;
  return headers;
}

/**
 * The upstreams of the primary traffic and of the copies: separate keep-alive agents, so that a hanging mirror
 * never holds a socket the primary needs. With `undici`, the primary traffic goes over undici pools; the copies
 * always go over Node's agents.
 *
 * @example
 * ```ts
 * const { primary, mirror } = buildUpstreams(settings);
 * ```
 */
export function buildUpstreams(settings: ProxySettings, undici?: UndiciModule): { primary: Map<string, Upstream>; mirror: Map<string, Upstream> } {
  const primary = new Map<string, Upstream>();
  const mirror = new Map<string, Upstream>();
  const copies = Math.max(1, settings.mirror.maxInFlight);
  for (const [version, url] of settings.upstreamUrls) {
    primary.set(version, createUpstream(url, settings.agent, undici === undefined ? undefined : { undici, connectMs: settings.connectMs }));
    mirror.set(version, createUpstream(url, { ...settings.agent, maxSockets: copies, maxFreeSockets: Math.min(settings.agent.maxFreeSockets, copies) }));
  }
  return { primary, mirror };
}

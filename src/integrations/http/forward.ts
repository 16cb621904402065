/**
 * Reverse-proxy plumbing: upstream targets with their keep-alive agents, hop-by-hop header removal
 * (RFC 9110 §7.6.1) and `X-Forwarded-*`.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

/** Headers that describe one connection, never forwarded (plus those named in `Connection`). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * A copy of `headers` without hop-by-hop headers, including every header that `Connection` names.
 *
 * @example
 * ```ts
 * withoutHopByHop({ connection: "close, x-secret", "x-secret": "1", accept: "*\/*" }); // { accept: "*\/*" }
 * ```
 */
export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let named: Set<string> | undefined;
  const connection = headers.connection;
  if (typeof connection === "string" && connection !== "") {
    named = new Set(connection.toLowerCase().split(",").map((token) => token.trim()).filter((token) => token !== ""));
  }
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** One upstream: where requests of a version go, and the agent that keeps its connections alive. */
export interface Upstream {
  readonly url: URL;
  /** The upstream URL's path without a trailing slash (`""` for `/`), prefixed to every request path. */
  readonly basePath: string;
  readonly agent: HttpAgent;
  request(options: RequestOptions): ClientRequest;
}

/** Keep-alive settings for the upstream agents. */
export interface AgentSettings {
  readonly maxSockets: number;
  readonly maxFreeSockets: number;
  /** TLS options of `https:` upstreams (validated: see `ProxyOptions.tls`); ignored for `http:`. */
  readonly tls?: object;
}

/**
 * An upstream for `url` (http or https) with its own keep-alive agent.
 *
 * @example
 * ```ts
 * const v2 = createUpstream(new URL("http://127.0.0.1:3002/api"), { maxSockets: 256, maxFreeSockets: 64 });
 * ```
 */
export function createUpstream(url: URL, settings: AgentSettings): Upstream {
  const secure = url.protocol === "https:";
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, maxFreeSockets: settings.maxFreeSockets, scheduling: "lifo" as const };
  const agent = secure ? new HttpsAgent({ ...settings.tls, ...agentOptions }) : new HttpAgent(agentOptions);
  const request = secure ? httpsRequest : httpRequest;
  const basePath = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname;
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname; // IPv6 literals
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  return { url, basePath, agent, request: (options) => request({ ...options, protocol: url.protocol, hostname, port }) };
}

/**
 * Headers through which a client could claim another address, port, scheme or path prefix to an upstream that
 * trusts them (Spring's ForwardedHeaderFilter, Tomcat's RemoteIpValve, …). Without `trustProxy` they are dropped.
 */
const CLIENT_ADDRESS_HEADERS = [
  "forwarded",
  "x-real-ip",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-forwarded-server",
  "x-forwarded-ssl",
  "x-client-ip",
  "true-client-ip",
] as const;

/**
 * The headers sent upstream: the client's minus hop-by-hop and `Expect`, `Host` set to the upstream's (the client's is kept
 * in `X-Forwarded-Host`), and `X-Forwarded-For/Proto/Host`. Without `trustProxy`, forwarded headers from the
 * client are replaced, not extended, and the other address headers (`Forwarded`, `X-Real-IP`, `X-Forwarded-Port`,
 * `X-Forwarded-Prefix`, …) are dropped: a client cannot forge its address. With it, `Forwarded` is extended too.
 *
 * @example
 * ```ts
 * forwardedHeaders(req, upstream.url, false)["x-forwarded-for"]; // "203.0.113.7"
 * ```
 */
export function forwardedHeaders(req: IncomingMessage, target: URL, trustProxy: boolean): OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  const address = req.socket.remoteAddress ?? "";
  if (!trustProxy) for (const name of CLIENT_ADDRESS_HEADERS) delete headers[name];
  const prior = req.headers["x-forwarded-for"];
  const priorList = Array.isArray(prior) ? prior.join(", ") : prior;
  headers["x-forwarded-for"] = trustProxy && priorList ? `${priorList}, ${address}` : address;
  const proto = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  const priorProto = req.headers["x-forwarded-proto"];
  headers["x-forwarded-proto"] = trustProxy && typeof priorProto === "string" && priorProto !== "" ? priorProto : proto;
  const priorHost = req.headers["x-forwarded-host"];
  const host = trustProxy && typeof priorHost === "string" && priorHost !== "" ? priorHost : req.headers.host;
  if (host !== undefined) headers["x-forwarded-host"] = host;
  else delete headers["x-forwarded-host"];
  if (trustProxy && req.headers.forwarded !== undefined) {
    // RFC 7239: a proxy that trusts the chain appends its own element.
    const node = address.includes(":") ? `"[${address}]"` : address;
    headers.forwarded = `${String(req.headers.forwarded)}, for=${node};proto=${proto}`;
  }
  headers.host = target.host;
  delete headers.expect; // Node already answered "100 Continue" to the client
  return headers;
}

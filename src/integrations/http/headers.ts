/**
 * Reverse-proxy header rules shared by the node:http and the fetch proxies: hop-by-hop removal (RFC 9110 §7.6.1)
 * and `X-Forwarded-*`. No Node module is imported, so the fetch proxy runs in any runtime.
 */

/** Headers with lower-case names; a value may be a list (Node's `set-cookie`). */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/** Who sent the request, as the server in front of the proxy saw it. */
export interface ForwardFrom {
  /** The client's IP address (`""` when the runtime does not say). */
  readonly address: string;
  /** The scheme the client used. */
  readonly proto: "http" | "https";
  /** Trust (and extend) the forwarded headers the client sent. */
  readonly trustProxy: boolean;
}

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
export function withoutHopByHop(headers: HeaderRecord): HeaderRecord {
  const out: HeaderRecord = {};
  const named = connectionTokens(headers.connection);
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The header names a `Connection` header lists (lower case), or `undefined` when it lists none. */
function connectionTokens(connection: string | string[] | undefined): Set<string> | undefined {
  if (typeof connection !== "string" || connection === "") return undefined;
  const lower = connection.toLowerCase();
  // Nearly every request and response says just "keep-alive" or "close": nothing more to remove, nothing to allocate.
  if (lower === "keep-alive" || lower === "close") return undefined;
  let named: Set<string> | undefined;
  for (const token of lower.split(",")) {
    const name = token.trim();
    if (name !== "" && !HOP_BY_HOP.has(name)) (named ??= new Set()).add(name);
  }
  return named;
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
 * What {@link forwardHeaders} never copies as it came: hop-by-hop headers, `Host` and `Expect` (the client's host
 * goes on in `X-Forwarded-Host`; the caller sets the upstream's; the server in front already answered
 * "100 Continue"), and the forwarded headers it works out itself. Without `trustProxy`, the client's address
 * headers too.
 */
const SKIP_TRUSTED: ReadonlySet<string> = new Set([...HOP_BY_HOP, "host", "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"]);
const SKIP_UNTRUSTED: ReadonlySet<string> = new Set([...SKIP_TRUSTED, ...CLIENT_ADDRESS_HEADERS]);

/**
 * The headers sent upstream: the client's minus hop-by-hop, `Host` and `Expect` (the client's host is kept in
 * `X-Forwarded-Host`; the caller sets the upstream's), and `X-Forwarded-For/Proto/Host`. Without `trustProxy`, forwarded headers from the
 * client are replaced, not extended, and the other address headers (`Forwarded`, `X-Real-IP`, `X-Forwarded-Port`,
 * `X-Forwarded-Prefix`, …) are dropped: a client cannot forge its address. With it, `Forwarded` is extended too.
 *
 * @example
 * ```ts
 * forwardHeaders(req.headers, { address: "203.0.113.7", proto: "http", trustProxy: false })["x-forwarded-for"]; // "203.0.113.7"
 * ```
 */
export function forwardHeaders(client: HeaderRecord, from: ForwardFrom): HeaderRecord {
  const { address, proto, trustProxy } = from;
  // One pass that copies only what is forwarded as it came: no `delete`, which would turn the object into a
  // slow dictionary for everything that reads it afterwards (Node's request writer).
  const skip = trustProxy ? SKIP_TRUSTED : SKIP_UNTRUSTED;
  const named = connectionTokens(client.connection);
  const headers: HeaderRecord = {};
  for (const name of Object.keys(client)) {
    if (skip.has(name) || named?.has(name)) continue;
    const value = client[name];
    if (value !== undefined) headers[name] = value;
  }
  const prior = client["x-forwarded-for"];
  const priorList = Array.isArray(prior) ? prior.join(", ") : prior;
  const chain = trustProxy && priorList ? (address === "" ? priorList : `${priorList}, ${address}`) : address;
  // A runtime that does not say who the client is (a bare fetch handler) forwards no address rather than a blank one.
  if (chain !== "") headers["x-forwarded-for"] = chain;
  const priorProto = client["x-forwarded-proto"];
  headers["x-forwarded-proto"] = trustProxy && typeof priorProto === "string" && priorProto !== "" ? priorProto : proto;
  const priorHost = client["x-forwarded-host"];
  const host = trustProxy && typeof priorHost === "string" && priorHost !== "" ? priorHost : client.host;
  if (host !== undefined) headers["x-forwarded-host"] = host;
  if (trustProxy && client.forwarded !== undefined) {
    // RFC 7239: a proxy that trusts the chain appends its own element.
    const node = address === "" ? "unknown" : address.includes(":") ? `"[${address}]"` : address;
    headers.forwarded = `${String(client.forwarded)}, for=${node};proto=${proto}`;
  }
  return headers;
}

/**
 * From an HTTP request to the framework-neutral `RouteRequest` the router decides on.
 */
/** Longest header value turnout reads a pin or cookie from; longer values are ignored (a defined answer to junk). */
const MAX_HEADER_LENGTH = 8192;

/**
 * Splits a request target into its path and its raw query (without `?`). Absolute-form targets
 * (`http://host/path?q`) and junk get a defined answer: the path always starts with `/`.
 *
 * @example
 * ```ts
 * splitTarget("/v2/users?page=2"); // { path: "/v2/users", query: "page=2" }
 * ```
 */
export function splitTarget(target: string | undefined): { path: string; query: string } {
  let url = typeof target === "string" && target.length > 0 ? target : "/";
  if (url.charCodeAt(0) !== 47 /* "/" */) {
    try {
      // Absolute-form (RFC 9112 §3.2.2) is honoured for http(s) only; `A:` or `mailto:x` are junk paths, not URLs.
      const parsed = new URL(url);
      url = parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.pathname + parsed.search : "/" + url;
    } catch {
      url = "/" + url;
    }
  }
  const hash = url.indexOf("#");
  if (hash !== -1) url = url.slice(0, hash);
  const mark = url.indexOf("?");
  return mark === -1 ? { path: url, query: "" } : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

/**
 * The inverse of {@link splitTarget}.
 *
 * @example
 * ```ts
 * joinTarget({ path: "/v2/users", query: "page=2" }); // "/v2/users?page=2"
 * ```
 */
export function joinTarget(target: { readonly path: string; readonly query: string }): string {
  return target.query === "" ? target.path : `${target.path}?${target.query}`;
}

/** Request headers as Node gives them (lower-case names) or as a Web `Headers` object. */
export type HeadersInput = Readonly<Record<string, string | readonly string[] | undefined>> | { get(name: string): string | null };

/**
 * The first value of a header, or `undefined` when it is missing, empty or absurdly long. `name` is lower case.
 *
 * @example
 * ```ts
 * headerValue({ "x-turnout-pin": ["a", "b"] }, "x-turnout-pin"); // "a"
 * headerValue(new Headers({ "X-Turnout-Pin": "a" }), "x-turnout-pin"); // "a"
 * ```
 */
export function headerValue(headers: HeadersInput, name: string): string | undefined {
  const raw = typeof headers.get === "function" ? (headers as { get(name: string): string | null }).get(name) : (headers as Record<string, unknown>)[name];
  const value = typeof raw === "string" ? raw : Array.isArray(raw) ? (raw[0] as unknown) : undefined;
  return typeof value === "string" && value.length > 0 && value.length <= MAX_HEADER_LENGTH ? value : undefined;
}

/**
 * Reads one cookie from a `Cookie` header without parsing the others. Values are URI-decoded when they can be.
 *
 * @example
 * ```ts
 * readCookie("a=1; turnout_pin=v2~3~x; b=2", "turnout_pin"); // "v2~3~x"
 * ```
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > MAX_HEADER_LENGTH) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end === -1) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (value === "") return undefined;
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
    start = end + 1;
  }
  return undefined;
}

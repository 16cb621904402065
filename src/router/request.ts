import { queryParam } from "../internal/web.js";

/**
 * Reading fields from an untrusted request. Every reader accepts anything (wrong types, null, arrays, objects whose
 * prototype chain holds `__proto__` or `constructor`) and answers a string or `undefined`; none allocates when the
 * field is a plain string.
 */

/** Where a condition or a sticky key reads from. */
export const FieldSource = { Key: 0, Header: 1, Cookie: 2, Attr: 3, Query: 4 } as const;
export type FieldSource = (typeof FieldSource)[keyof typeof FieldSource];

/** The request as decide sees it: any object. */
export type LooseRequest = {
  readonly key?: unknown;
  readonly headers?: unknown;
  readonly cookies?: unknown;
  readonly path?: unknown;
  readonly query?: unknown;
  readonly attributes?: unknown;
  readonly pin?: unknown;
  readonly now?: unknown;
};

/** A bag's own lookup method (`Headers`, `Map`, `URLSearchParams`, …), called with the bag as `this`. */
export type BagGetter = (this: unknown, name: string) => unknown;

/** The bag itself when it is an object (a record or something with a `get` method), else `undefined`. */
export function bagOf(value: unknown): object | undefined {
  return typeof value === "object" && value !== null ? value : undefined;
}

/**
 * The bag's `get` method when it has one, else `undefined` (the bag is then read as a record). Read once per
 * decision: every field of the bag is then read through the same classification.
 */
export function getterOf(bag: object | undefined): BagGetter | undefined {
  if (bag === undefined) return undefined;
  const get = (bag as { get?: unknown }).get;
  return typeof get === "function" ? (get as BagGetter) : undefined;
}

/** A bag value as decide sees it: a string as it is, an array as its first element if that is a string. */
export function stringOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return typeof first === "string" ? first : undefined;
  }
  return undefined;
}

/** Reads a string from a classified bag (see {@link bagOf}, {@link getterOf}). */
export function readBagWith(bag: object | undefined, get: BagGetter | undefined, name: string): string | undefined {
  if (bag === undefined) return undefined;
  return stringOf(get === undefined ? (bag as Record<string, unknown>)[name] : get.call(bag, name));
}

/**
 * `readBagWith` for sticky keys alone: the same code in a separate function, so that its property load sees only
 * the key headers' names and keeps a fast inline cache instead of sharing the megamorphic one of every other read.
 */
export function readKeyHeader(bag: object | undefined, get: BagGetter | undefined, name: string): string | undefined {
  if (bag === undefined) return undefined;
  return stringOf(get === undefined ? (bag as Record<string, unknown>)[name] : get.call(bag, name));
}

/** Reads a string from a bag that is either a plain record or has a `get(name)` method. Arrays give their first string. */
export function readBag(bag: unknown, name: string): string | undefined {
  const object = bagOf(bag);
  return readBagWith(object, getterOf(object), name);
}

/** Reads one cookie from `request.cookies`, or else from the `cookie` header of the classified header bag. */
export function readCookie(request: LooseRequest, name: string, headers: object | undefined, get: BagGetter | undefined): string | undefined {
  const cookies = request.cookies;
  if (typeof cookies === "object" && cookies !== null) {
    const value: unknown = (cookies as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  }
  const header = readBagWith(headers, get, "cookie");
  return header === undefined ? undefined : cookieFromHeader(header, name);
}

/** Finds `name` in a `Cookie` header value (`a=1; b=2`); quotes around the value are removed. */
export function cookieFromHeader(header: string, name: string): string | undefined {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/** Reads an attribute: strings as they are, finite numbers and booleans as their string form. */
export function readAttribute(request: LooseRequest, name: string): string | undefined {
  const attributes = request.attributes;
  if (typeof attributes !== "object" || attributes === null) return undefined;
  const value: unknown = (attributes as Record<string, unknown>)[name];
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "boolean") return value ? "true" : "false";
  return undefined;
}

/** Reads a query parameter from `request.query`, or else from the query string of `request.path`. */
export function readQuery(request: LooseRequest, name: string): string | undefined {
  const query = request.query;
  if (typeof query === "object" && query !== null) return readBag(query, name);
  const path = request.path;
  if (typeof path !== "string") return undefined;
  const mark = path.indexOf("?");
  if (mark < 0) return undefined;
  return queryParam(path.slice(mark + 1), name);
}

/** Reads a field by source kind; header and cookie fields come from the classified header bag. */
export function readField(
  request: LooseRequest,
  source: FieldSource,
  name: string,
  headers: object | undefined,
  get: BagGetter | undefined,
): string | undefined {
  switch (source) {
    case FieldSource.Key: {
      const key = request.key;
      return typeof key === "string" ? key : undefined;
    }
    case FieldSource.Header:
      return readBagWith(headers, get, name);
    case FieldSource.Cookie:
      return readCookie(request, name, headers, get);
    case FieldSource.Attr:
      return readAttribute(request, name);
    default:
      return readQuery(request, name);
  }
}

/** The request path without its query string; `""` when missing or not a string. */
export function pathOf(request: LooseRequest): string {
  const path = request.path;
  if (typeof path !== "string") return "";
  const mark = path.indexOf("?");
  return mark < 0 ? path : path.slice(0, mark);
}

/** True when `path` is `prefix` or continues it at a segment boundary (`/api/cart` matches `/api/cart/items`). */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith("/")) return true;
  const next = path.charCodeAt(prefix.length);
  return next === 47 /* / */;
}

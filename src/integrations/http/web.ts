/**
 * The engine's side of the Web-standard `Request`/`Response`: the path a router sees, turnout's headers on a
 * response (copied into a new one when its headers are immutable), JSON answers, and the body a validator reads.
 * Shared by `turnout/fetch` and `turnout/hono`; Web APIs only, so it runs in Node, Bun, Deno, workerd and browsers.
 */
import { isRecord } from "../../internal/problems.js";
import type { Decision } from "../../types.js";
import { type HeaderPair, type JsonAnswer, combinesWithYours, invalidAnswer } from "./respond.js";
import type { Validators } from "./types.js";
import { runValidator, validatorFor } from "./validate.js";

/**
 * The path and query of an absolute URL (`https://a.example/v2/users?page=2#x` → `/v2/users?page=2`), without
 * parsing it: a `Request`'s URL is already absolute and normalised.
 *
 * @example
 * ```ts
 * targetOf("http://127.0.0.1:8080/v2/users?page=2"); // "/v2/users?page=2"
 * ```
 */
export function targetOf(url: string): string {
  const scheme = url.indexOf("://");
  const slash = scheme === -1 ? -1 : url.indexOf("/", scheme + 3);
  if (slash === -1) return "/";
  const hash = url.indexOf("#", slash);
  return hash === -1 ? url.slice(slash) : url.slice(slash, hash);
}

/**
 * Adds turnout's headers to `headers`: `Set-Cookie` and `Link` are appended to the application's (Headers joins Link
 * values with ", "); the others replace the application's, or with `keepYours` are set only where it set none (as
 * when turnout sets them before the route).
 */
export function addPairs(headers: Headers, pairs: readonly HeaderPair[], keepYours = false): void {
  for (const [name, value] of pairs) {
    if (combinesWithYours(name)) headers.append(name, value);
    else if (!keepYours || !headers.has(name)) headers.set(name, value);
  }
}

/**
 * `response` with turnout's headers added. Responses from `fetch`, `Response.redirect()` and some frameworks have
 * immutable headers: those are copied into a new `Response` with the same status, status text, headers and body
 * stream (the body is not read). A response that cannot be copied (`101 Switching Protocols`, `Response.error()`)
 * is returned as it is.
 *
 * @example
 * ```ts
 * return withHeaders(await fetch(upstream), [["x-api-version", "v2"]]);
 * ```
 */
export function withHeaders(response: Response, pairs: readonly HeaderPair[]): Response {
  if (pairs.length === 0) return response;
  try {
    addPairs(response.headers, pairs);
    return response;
  } catch {
    if (response.status < 200 || response.status > 599) return response;
    // The headers are complete before the Response exists: some servers' Response (@hono/node-server's) keep the init.
    const headers = new Headers(response.headers);
    addPairs(headers, pairs);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/**
 * A JSON answer of turnout's own (410, 404, 400, 502, 504) as a `Response`, with turnout's headers.
 *
 * @example
 * ```ts
 * jsonResponse(goneAnswer(decision), prepared.headers).status; // 410
 * ```
 */
export function jsonResponse(answer: JsonAnswer, pairs: readonly HeaderPair[]): Response {
  const headers = new Headers({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  addPairs(headers, pairs);
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
}

/** The answer of {@link readInput} for a body that says it is JSON and is not. */
export const NOT_JSON = Object.freeze({ path: "", message: "the body is not valid JSON" });

/**
 * The input a version's validator checks, read from a clone (the handler can still read the body): parsed JSON
 * when the `Content-Type` says JSON, the fields of a form, the text otherwise, `undefined` without a body.
 * `{ problem }` when a JSON body does not parse.
 *
 * @example
 * ```ts
 * const { input } = await readInput(request); // { name: "Ada" }
 * ```
 */
export async function readInput(request: Request): Promise<{ input: unknown; problem?: typeof NOT_JSON }> {
  if (request.body === null) return { input: undefined };
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  const copy = request.clone();
  if (type.includes("json")) {
    const text = await copy.text();
    if (text === "") return { input: undefined };
    try {
      return { input: JSON.parse(text) as unknown };
    } catch {
      return { input: undefined, problem: NOT_JSON };
    }
  }
  if (type.startsWith("application/x-www-form-urlencoded")) return { input: Object.fromEntries(new URLSearchParams(await copy.text())) };
  return { input: await copy.text() };
}

/** True for an object with a `waitUntil` method (a Workers `ExecutionContext`, a Vercel or Netlify context). */
export function hasWaitUntil(value: unknown): value is { waitUntil(promise: Promise<unknown>): void } {
  return (isRecord(value) || typeof value === "function") && typeof (value as { waitUntil?: unknown }).waitUntil === "function";
}

/**
 * Runs the validator of `decision`'s version on the request's body (see {@link readInput}): the `400` answer
 * listing every problem, or `undefined` when the request may go on (valid, or no validator for the version).
 * A validator that throws or rejects is the application's fault: the error propagates.
 *
 * @example
 * ```ts
 * const invalid = await checkInput(validators, decision, request, request);
 * if (invalid !== undefined) return jsonResponse(invalid, []);
 * ```
 */
export async function checkInput<Req>(validators: Validators<Req>, decision: Decision, request: Request, req: Req): Promise<JsonAnswer | undefined> {
  const validator = validatorFor(validators, decision.version);
  if (validator === undefined) return undefined;
  const { input, problem } = await readInput(request);
  const problems = problem !== undefined ? [problem] : await runValidator(validator, input, { version: decision.version, decision, request: req });
  return problems.length === 0 ? undefined : invalidAnswer(decision.version, problems);
}

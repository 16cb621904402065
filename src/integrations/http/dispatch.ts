/**
 * The framework-neutral part of `versioned({ v1: handler, v2: handler })`: checking the handler map once and
 * picking the handler of a decision's version on each request.
 */
import { ProblemCode } from "../../errors.js";
import { FORBIDDEN_KEYS, Problems, checkFields, child, isRecord } from "../../internal/problems.js";
import type { Decision } from "../../types.js";
import { checkValidators } from "./validate.js";
import type { Validators } from "./types.js";

/**
 * Options of `versioned()`.
 *
 * @example
 * ```ts
 * versioned({ v1: listV1, v2: listV2 }, { fallback: "v1", validate: { v1: userV1, v2: userV2 } });
 * ```
 */
export interface VersionedOptions<Req> {
  /** The handler used when the decided version has none (and when the turnout middleware did not run). */
  readonly fallback?: string;
  /** A validator per version, run on the parsed body before the handler (400 with the problems when invalid). */
  readonly validate?: Validators<Req>;
}

/**
 * Checks `versioned()`'s arguments when it is called: one `TurnoutConfigError` lists every problem.
 *
 * @example
 * ```ts
 * checkVersioned({ v1: handler, v2: "oops" }, {}); // throws: handlers.v2 — expected a function
 * ```
 */
export function checkVersioned(handlers: unknown, options: unknown): void {
  const problems = new Problems();
  if (!isRecord(handlers) || Object.keys(handlers).length === 0) {
    problems.add(ProblemCode.Empty, "handlers", "expected an object with one handler per version");
  } else {
    for (const key of Object.keys(handlers)) {
      if (FORBIDDEN_KEYS.has(key)) problems.add(ProblemCode.ForbiddenKey, child("handlers", key), `"${key}" is not allowed as a key`);
      else if (typeof handlers[key] !== "function") problems.add(ProblemCode.Type, child("handlers", key), "expected a handler function");
    }
  }
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "options", "expected an object");
  else if (isRecord(options)) {
    checkFields(problems, options, "options", ["fallback", "validate"]);
    const fallback = options.fallback;
    if (fallback !== undefined && !(typeof fallback === "string" && isRecord(handlers) && Object.hasOwn(handlers, fallback))) {
      problems.add(ProblemCode.UnknownVersion, "options.fallback", "expected the name of one of the handlers");
    }
  }
  problems.throwIfAny("versioned() arguments");
  if (isRecord(options) && options.validate !== undefined) checkValidators(options.validate, "validate");
}

/**
 * The handler for `decision` (its version's, else the fallback's), or `undefined`.
 *
 * @example
 * ```ts
 * pickHandler({ v1, v2 }, decision, "v1");
 * ```
 */
export function pickHandler<H>(handlers: Readonly<Record<string, H>>, decision: Decision | undefined, fallback: string | undefined): H | undefined {
  if (decision !== undefined && Object.hasOwn(handlers, decision.version)) return handlers[decision.version];
  return fallback !== undefined ? handlers[fallback] : undefined;
}

/**
 * Per-version request validation: plain functions and Standard Schema validators (zod, valibot, ArkType …),
 * reduced to one list of {@link ValidationProblem}s.
 */
import { ProblemCode } from "../../errors.js";
import { FORBIDDEN_KEYS, Problems, child, isRecord } from "../../internal/problems.js";
import type { StandardSchemaLike, ValidationContext, ValidationProblem, Validator, Validators, ValidatorResult } from "./types.js";

/** At most this many problems are listed in a 400 body; a huge input cannot make a huge answer. */
const MAX_PROBLEMS = 100;
/** Messages are cut to this length. */
const MAX_MESSAGE = 500;

/**
 * True when `value` implements Standard Schema v1 (`value["~standard"].validate` is a function).
 *
 * @example
 * ```ts
 * isStandardSchema(z.string()); // true
 * ```
 */
export function isStandardSchema(value: unknown): value is StandardSchemaLike {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return isRecord(props) && typeof props.validate === "function";
}

function clip(message: unknown): string {
  const text = typeof message === "string" ? message : String(message);
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

/** A Standard Schema issue path (`["items", 2, "sku"]` or `[{ key: "items" }, …]`) as `items[2].sku`. */
function issuePath(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string {
  if (!Array.isArray(path)) return "";
  let out = "";
  for (const segment of path as ReadonlyArray<unknown>) {
    const key = isRecord(segment) ? segment.key : segment;
    if (typeof key === "number") out = child(out, key);
    else if (typeof key === "string") out = child(out, key);
    else if (typeof key === "symbol") out = child(out, key.toString());
  }
  return out;
}

function fromFunctionResult(result: ValidatorResult): ValidationProblem[] {
  if (result === true || result === undefined || result === null) return [];
  if (result === false) return [{ path: "", message: "the request is not valid" }];
  if (typeof result === "string") return [{ path: "", message: clip(result) }];
  if (!Array.isArray(result)) return [{ path: "", message: "the validator returned an unexpected value" }];
  const problems: ValidationProblem[] = [];
  for (const item of result as ReadonlyArray<unknown>) {
    if (problems.length === MAX_PROBLEMS) break;
    if (typeof item === "string") problems.push({ path: "", message: clip(item) });
    else if (isRecord(item)) {
      problems.push({ path: typeof item.path === "string" ? clip(item.path) : "", message: clip(item.message ?? "invalid") });
    }
  }
  return problems;
}

function fromStandardResult(result: unknown): ValidationProblem[] {
  if (!isRecord(result)) return [{ path: "", message: "the schema returned an unexpected value" }];
  const issues = result.issues;
  if (!Array.isArray(issues)) return [];
  const problems: ValidationProblem[] = [];
  for (const issue of issues as ReadonlyArray<unknown>) {
    if (problems.length === MAX_PROBLEMS) break;
    if (!isRecord(issue)) continue;
    problems.push({ path: issuePath(issue.path as never), message: clip(issue.message ?? "invalid") });
  }
  if (problems.length === 0) problems.push({ path: "", message: "the request is not valid" });
  return problems;
}

/** True for promises and other thenables. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * Runs one validator on `input`; synchronous validators give a synchronous answer. An empty list means valid.
 * A validator that throws (or rejects) is a fault of the application: the error propagates.
 *
 * @example
 * ```ts
 * const problems = await runValidator(z.object({ name: z.string() }), { name: 1 }, context);
 * // [{ path: "name", message: "Invalid input: expected string, received number" }]
 * ```
 */
export function runValidator<Req>(
  validator: Validator<Req>,
  input: unknown,
  context: ValidationContext<Req>,
): readonly ValidationProblem[] | Promise<readonly ValidationProblem[]> {
  if (isStandardSchema(validator)) {
    const result = validator["~standard"].validate(input);
    return isPromiseLike(result) ? Promise.resolve(result).then(fromStandardResult) : fromStandardResult(result);
  }
  const result = validator(input, context);
  return isPromiseLike(result) ? Promise.resolve(result).then(fromFunctionResult) : fromFunctionResult(result);
}

/**
 * The validator for a version, looked up safely (`__proto__` and inherited names never match).
 *
 * @example
 * ```ts
 * validatorFor(validators, decision.version);
 * ```
 */
export function validatorFor<Req>(validators: Validators<Req>, version: string): Validator<Req> | undefined {
  return Object.hasOwn(validators, version) ? validators[version] : undefined;
}

/**
 * Checks a `{ version: validator }` map when the middleware is created: one `TurnoutConfigError` lists every
 * entry that is neither a function nor a Standard Schema.
 *
 * @example
 * ```ts
 * checkValidators({ v1: "oops" }, "validate"); // throws: validate.v1 — expected a function or a Standard Schema
 * ```
 */
export function checkValidators(validators: unknown, path: string): void {
  const problems = new Problems();
  if (!isRecord(validators)) {
    problems.add(ProblemCode.Type, path, "expected an object of validators per version");
  } else {
    for (const key of Object.keys(validators)) {
      const at = child(path, key);
      if (FORBIDDEN_KEYS.has(key)) problems.add(ProblemCode.ForbiddenKey, at, `"${key}" is not allowed as a key`);
      else if (typeof validators[key] !== "function" && !isStandardSchema(validators[key])) {
        problems.add(ProblemCode.Type, at, "expected a function or a Standard Schema (zod, valibot, …)");
      }
    }
  }
  problems.throwIfAny("validators");
}

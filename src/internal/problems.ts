import { type ConfigProblem, type ProblemCode, TurnoutConfigError } from "../errors.js";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Keys that must never be used as names: they reach `Object.prototype`. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Extends a problem path: `child("split", "v3")` → `split.v3`, `child("steps", 2)` → `steps[2]`,
 * `child("split", "we.ird")` → `split["we.ird"]`.
 */
export function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const part = IDENTIFIER.test(key) ? key : JSON.stringify(key);
  if (path === "") return IDENTIFIER.test(key) ? key : `[${part}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${part}]`;
}

/** Collects every problem of a configuration, so that one error can list them all. */
export class Problems {
  readonly list: ConfigProblem[] = [];

  add(code: ProblemCode, path: string, message: string): void {
    this.list.push({ code, path, message: `${path || "(root)"}: ${message}` });
  }

  get size(): number {
    return this.list.length;
  }

  /** Throws a {@link TurnoutConfigError} listing every problem, if there is any. */
  throwIfAny(subject?: string): void {
    if (this.list.length > 0) throw new TurnoutConfigError(this.list, subject);
  }
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Describes a value's JSON type for messages: `null`, `array`, `number`, … */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Reports fields of `value` that are not in `known` (typos) and forbidden keys. Uses own keys only, so
 * `JSON.parse('{"__proto__": …}')` is caught.
 */
export function checkFields(problems: Problems, value: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) problems.add("forbidden_key", child(path, key), `"${key}" is not allowed as a key`);
    else if (!known.includes(key)) problems.add("unknown_field", child(path, key), `unknown field "${key}" (known: ${known.join(", ")})`);
  }
}

/** Throws a {@link TurnoutConfigError} with a single problem (for checks outside a whole-config validation). */
export function failConfig(code: ProblemCode, path: string, message: string, subject: string): never {
  const problems = new Problems();
  problems.add(code, path, message);
  throw new TurnoutConfigError(problems.list, subject);
}

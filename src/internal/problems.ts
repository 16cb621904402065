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
    else if (!known.includes(key)) {
      const guess = closest(key, known);
      const hint = guess === undefined ? "" : `did you mean "${guess}"? `;
      problems.add("unknown_field", child(path, key), `unknown field "${key}" (${hint}known: ${known.join(", ")})`);
    }
  }
}

/**
 * The known name a mistyped one most likely meant: the nearest by edit distance (a swap of two neighbouring
 * letters counts as one edit, so `spilt` → `split`), when it is close enough to be a typo: at most 1 edit for
 * names up to 4 letters, 2 up to 8, 3 beyond. Case is ignored.
 */
export function closest(name: string, known: readonly string[]): string | undefined {
  const limit = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), or `cap` once it is certain to reach it. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((rows[i - 1]![j] as number) + 1, (row[j - 1] as number) + 1, (rows[i - 1]![j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]![j - 2] as number) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return Math.min(rows[a.length]![b.length] as number, cap);
}

/** Throws a {@link TurnoutConfigError} with a single problem (for checks outside a whole-config validation). */
export function failConfig(code: ProblemCode, path: string, message: string, subject: string): never {
  const problems = new Problems();
  problems.add(code, path, message);
  throw new TurnoutConfigError(problems.list, subject);
}

/**
 * Typed errors. Configuration problems carry a stable `code` and a `path`; tests and tools should match on
 * those, never on message wording.
 */

/**
 * Stable codes for configuration (and rollout plan) problems.
 *
 * @example
 * ```ts
 * if (problem.code === ProblemCode.UnknownVersion) highlight(problem.path);
 * ```
 */
export const ProblemCode = {
  /** The value has the wrong JSON type (string expected, got number, …). */
  Type: "type",
  /** A required field is missing. */
  Required: "required",
  /** A field that this format does not know (often a typo). */
  UnknownField: "unknown_field",
  /** An empty string, array or object where content is required. */
  Empty: "empty",
  /** A name listed twice. */
  Duplicate: "duplicate",
  /** A version name that is not in `versions`. */
  UnknownVersion: "unknown_version",
  /** NaN, Infinity or a non-number where a finite number is required. */
  NotFinite: "not_finite",
  /** A negative number where only zero or more is allowed. */
  Negative: "negative",
  /** A number outside its allowed range. */
  OutOfRange: "out_of_range",
  /** Every weight is zero: nothing could receive traffic. */
  ZeroTotal: "zero_total",
  /** A date that does not parse as ISO 8601 / RFC 3339. */
  InvalidDate: "invalid_date",
  /** Dates in the wrong order (sunset before deprecation). */
  DateOrder: "date_order",
  /** A regular expression that does not compile. */
  InvalidRegex: "invalid_regex",
  /** A regular expression that could backtrack catastrophically (nested quantifiers, backreferences, …). */
  UnsafeRegex: "unsafe_regex",
  /** `__proto__`, `constructor` or `prototype` used as a key or name. */
  ForbiddenKey: "forbidden_key",
  /** A name with characters outside the allowed set. */
  InvalidName: "invalid_name",
  /** A string or list longer than allowed. */
  TooLong: "too_long",
  /** A stickiness source that is not `header:…`, `cookie:…`, `attr:…`, `query:…` or `key`. */
  InvalidSource: "invalid_source",
  /** A value not in the allowed set (`keyless: "sometimes"`). */
  InvalidValue: "invalid_value",
  /** Two settings that contradict each other. */
  Conflict: "conflict",
  /** A URL that does not parse. */
  InvalidUrl: "invalid_url",
  /** A duration that does not parse (`"5 minutes"` instead of `"5m"`). */
  InvalidDuration: "invalid_duration",
  /** A weight the configured bucketing scheme cannot express exactly (0.5 % where it rolls out in whole percents). */
  NotExpressible: "not_expressible",
  /** An optional package that a chosen option needs is not installed (`upstreamClient: "undici"` without undici). */
  MissingPackage: "missing_package",
} as const;

/** One of the {@link ProblemCode} values. */
export type ProblemCode = (typeof ProblemCode)[keyof typeof ProblemCode];

/**
 * One thing wrong with a configuration.
 *
 * @example
 * ```ts
 * { code: "unknown_version", path: "split.v3", message: "split.v3: unknown version \"v3\" (versions are v1, v2)" }
 * ```
 */
export interface ConfigProblem {
  /** Stable machine-readable code. */
  readonly code: ProblemCode;
  /** Where, as a path into the configuration: `split.v3`, `overrides[0].header`, `steps[2].weight`. */
  readonly path: string;
  /** Human-readable explanation, beginning with the path. */
  readonly message: string;
}

/**
 * Thrown by `createRouter`, `router.update` (and the rollout plan validator) when a configuration is invalid.
 * Lists every problem at once; the router keeps serving its previous configuration.
 *
 * @example
 * ```ts
 * try {
 *   router.update(next);
 * } catch (error) {
 *   if (error instanceof TurnoutConfigError) for (const p of error.problems) console.error(p.code, p.path);
 * }
 * ```
 */
export class TurnoutConfigError extends Error {
  /** Always `"TURNOUT_CONFIG_INVALID"`, so the error can be recognised across realms and builds. */
  readonly code = "TURNOUT_CONFIG_INVALID" as const;
  /** Every problem found, in the order of the configuration. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], subject = "configuration") {
    const head = `invalid ${subject}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`;
    super([head, ...problems.map((problem) => `  - [${problem.code}] ${problem.message}`)].join("\n"));
    this.name = "TurnoutConfigError";
    this.problems = Object.freeze(problems.map((problem) => Object.freeze({ ...problem })));
  }
}

/**
 * True when `error` is a {@link TurnoutConfigError}, also when it comes from the other build (ESM vs CJS) or realm.
 *
 * @example
 * ```ts
 * if (isTurnoutConfigError(error)) report(error.problems);
 * ```
 */
export function isTurnoutConfigError(error: unknown): error is TurnoutConfigError {
  return (
    error instanceof TurnoutConfigError ||
    (typeof error === "object" &&
      error !== null &&
      (error as { code?: unknown }).code === "TURNOUT_CONFIG_INVALID" &&
      Array.isArray((error as { problems?: unknown }).problems))
  );
}

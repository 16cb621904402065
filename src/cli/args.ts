/**
 * Command-line parsing on `node:util` `parseArgs` (the package has no runtime dependencies), with errors that say
 * what was wrong and where to look.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseDuration } from "../index.js";

/** A mistake in how the command was called: exit code 2, with a pointer to `--help`. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** An option of a command, as `parseArgs` takes it, plus the text for `--help`. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
}

/** The parsed command line: option values and positionals. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses `argv` strictly: unknown options and missing values are {@link UsageError}s.
 *
 * @example
 * ```ts
 * const { values, positionals } = parse("simulate", argv, { keys: { type: "string" }, json: { type: "boolean" } });
 * ```
 */
export function parse(command: string, argv: readonly string[], options: Readonly<Record<string, OptionSpec>>): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: "boolean", short: "h" } } as ParseArgsConfig["options"],
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, "") : String(error);
    throw new UsageError(message, command);
  }
}

/**
 * A string option's value, if given.
 *
 * @example
 * ```ts
 * text(parse("simulate", ["--plan", "p.json"], SIMULATE_OPTIONS), "plan"); // "p.json"
 * ```
 */
export function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * A boolean option's value.
 *
 * @example
 * ```ts
 * flag(parse("validate", ["--json", "a.json"], VALIDATE_OPTIONS), "json"); // true
 * ```
 */
export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

/**
 * A number option within [min, max] (integers only when `integer`), or `fallback`.
 *
 * @example
 * ```ts
 * number(parsed, "keys", 100_000, 1, 10_000_000, true, "simulate"); // "--keys 1_000_000" → 1000000
 * ```
 */
export function number(parsed: Parsed, name: string, fallback: number, min: number, max: number, integer = false, command?: string): number {
  const raw = text(parsed, name);
  if (raw === undefined) return fallback;
  const cleaned = raw.replaceAll("_", "").replaceAll(",", "");
  const value = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(cleaned) ? Number(cleaned) : Number.NaN;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name}: expected ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got ${JSON.stringify(raw)}`, command);
  }
  return value;
}

/**
 * A duration option (`"90s"`, `"5m"`, `"1h30m"` or milliseconds), in ms, or `fallback`.
 *
 * @example
 * ```ts
 * duration(parsed, "approve-after", undefined, "simulate"); // "--approve-after 10m" → 600000
 * ```
 */
export function duration(parsed: Parsed, name: string, fallback: number | undefined, command?: string): number | undefined {
  const raw = text(parsed, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
  if (ms === undefined) throw new UsageError(`--${name}: expected a duration such as "90s", "5m" or "1h30m", got ${JSON.stringify(raw)}`, command);
  return ms;
}

/**
 * Terminal output: colour only when it is wanted (a TTY, no `NO_COLOR`, not `TERM=dumb`, or `--color`), the width
 * to draw charts in, and number formatting shared by tables and charts.
 */

/** Where a command writes, and how. */
export interface Output {
  /** Writes text as is. */
  write(text: string): void;
  /** Whether ANSI colours are used. */
  readonly color: boolean;
  /** Columns available for charts. */
  readonly width: number;
}

/** Something like `process.stdout`. */
export interface StreamLike {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Whether to colour a stream: `--color`/`--no-color` win; otherwise only a TTY, with `NO_COLOR` unset or empty
 * (https://no-color.org) and `TERM` not `dumb`.
 *
 * @example
 * ```ts
 * wantsColor(process.stdout, process.env, undefined); // false when piped
 * ```
 */
export function wantsColor(stream: StreamLike, env: Readonly<Record<string, string | undefined>>, forced: boolean | undefined): boolean {
  if (forced !== undefined) return forced;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/**
 * An {@link Output} over a stream.
 *
 * @example
 * ```ts
 * const out = outputOf(process.stdout, process.env, undefined, undefined);
 * ```
 */
export function outputOf(
  stream: StreamLike,
  env: Readonly<Record<string, string | undefined>>,
  forcedColor: boolean | undefined,
  width: number | undefined,
): Output {
  const columns = width ?? (stream.isTTY === true && typeof stream.columns === "number" && stream.columns > 0 ? stream.columns : Number(env.COLUMNS) || 100);
  return { write: (text) => void stream.write(text), color: wantsColor(stream, env, forcedColor), width: Math.max(40, Math.min(columns, 240)) };
}

/** ANSI styles by name. */
export const STYLE = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
} as const;
/** A style name. */
export type StyleName = keyof typeof STYLE;

/**
 * Wraps `text` in an ANSI style when `on`.
 *
 * @example
 * ```ts
 * paint(out.color, "red", "✗ failed");
 * ```
 */
export function paint(on: boolean, style: StyleName | undefined, text: string): string {
  if (!on || style === undefined || text === "") return text;
  const [open, close] = STYLE[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Terminal styles of versions in charts, by position: the stable first, the canary second. */
export const VERSION_STYLES: readonly StyleName[] = ["blue", "yellow", "green", "magenta", "cyan", "red"];

/**
 * Removes ANSI escapes (to measure or to compare text).
 *
 * @example
 * ```ts
 * plain(paint(true, "red", "✗")); // "✗"
 * ```
 */
export function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/**
 * Pads to a visible width (ANSI escapes do not count).
 *
 * @example
 * ```ts
 * pad(paint(true, "red", "v2"), 4); // "\u001b[31mv2\u001b[39m  "
 * ```
 */
export function pad(text: string, width: number, align: "left" | "right" = "left"): string {
  const gap = Math.max(0, width - [...plain(text)].length);
  return align === "left" ? text + " ".repeat(gap) : " ".repeat(gap) + text;
}

/**
 * 1234567 → "1,234,567".
 *
 * @example
 * ```ts
 * grouped(1234567); // "1,234,567"
 * ```
 */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * A percentage with a sensible number of decimals: 90 → "90", 9.987 → "9.99", 0.004 → "0.004".
 *
 * @example
 * ```ts
 * percent(9.987); // "9.99"
 * ```
 */
export function percent(value: number, decimals = 2): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = value.toFixed(decimals);
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/**
 * Lays out rows as aligned columns; `right` lists the columns aligned to the right.
 *
 * @example
 * ```ts
 * table([["v1", "90 %"], ["v2", "10 %"]], [1]); // ["v1  90 %", "v2  10 %"]
 * ```
 */
export function table(rows: readonly (readonly string[])[], right: readonly number[] = [], gap = "  "): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...plain(cell)].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => pad(cell, widths[i] ?? 0, right.includes(i) ? "right" : "left"))
      .join(gap)
      .trimEnd(),
  );
}

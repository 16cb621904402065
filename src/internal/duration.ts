const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * A duration: milliseconds as a number, or a string of number+unit parts: `"500ms"`, `"90s"`, `"5m"`, `"1h30m"`, `"2d"`.
 *
 * @example
 * ```ts
 * const hold: Duration = "15m";
 * ```
 */
export type Duration = number | string;

/**
 * Parses a {@link Duration} to milliseconds; `undefined` when it is not a valid, finite, non-negative duration.
 *
 * @example
 * ```ts
 * parseDuration("1h30m"); // 5_400_000
 * parseDuration(250);     // 250
 * parseDuration("soon");  // undefined
 * ```
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string" || value.length > 64 || !DURATION.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(PART)) total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  return Number.isFinite(total) ? total : undefined;
}

/**
 * Formats milliseconds compactly for messages and charts: `5400000` → `"1h30m"`.
 *
 * @example
 * ```ts
 * formatDuration(90_000); // "1m30s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/**
 * Whole percentages of `counts` that sum to exactly 100 (all 0 when the counts sum to 0), by largest remainder:
 * each name gets ⌊100·n/N⌋, then the points still missing go one each to the largest remainders 100·n mod N.
 * Equal remainders: more requests first, then the name first in code-unit order. Integer arithmetic throughout
 * while 100·N < 2^53, so the result never depends on floating-point rounding; beyond, the same rule on shares in
 * floating point (still whole percentages summing to 100). A count that is not a finite number ≥ 0 (negative, NaN,
 * Infinity, missing) counts as 0.
 *
 * @example
 * ```ts
 * largestRemainder(["v1", "v2", "v3"], [1, 1, 1]); // { v1: 34, v2: 33, v3: 33 }
 * largestRemainder(["v1", "v2"], [200, 800]);      // { v1: 20, v2: 80 }
 * ```
 */
export function largestRemainder(names: readonly string[], counts: readonly number[]): Record<string, number> {
  const clean = names.map((_, i) => {
    const n = counts[i];
    return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
  });
  const total = clean.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  if (total <= 0) {
    for (const name of names) out[name] = 0;
    return out;
  }
  // Beyond 2^53 the integer arithmetic is no longer exact (and 100·N may overflow): shares of the largest count.
  const exact = 100 * total <= Number.MAX_SAFE_INTEGER;
  const largest = exact ? 1 : Math.max(...clean);
  const scaledTotal = exact ? total : clean.reduce((a, n) => a + n / largest, 0);
  const rows = names.map((name, i) => {
    const n = clean[i] as number;
    if (!exact) {
      const share = (100 * (n / largest)) / scaledTotal;
      const quotient = Math.min(100, Math.floor(share));
      return { name, n, quotient, remainder: share - quotient };
    }
    let quotient = Math.floor((100 * n) / total);
    let remainder = 100 * n - quotient * total;
    if (remainder < 0) {
      quotient -= 1;
      remainder += total;
    } else if (remainder >= total) {
      quotient += 1;
      remainder -= total;
    }
    return { name, n, quotient, remainder };
  });
  let missing = 100 - rows.reduce((a, row) => a + row.quotient, 0);
  const order = [...rows].sort((a, b) => b.remainder - a.remainder || b.n - a.n || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const row of order) {
    if (missing <= 0) break;
    if (row.remainder > 0) {
      row.quotient += 1;
      missing -= 1;
    }
  }
  // Only floating-point shares can leave a point over (their remainders may not add up exactly).
  for (const row of order) {
    if (missing <= 0) break;
    row.quotient += 1;
    missing -= 1;
  }
  for (const row of rows) out[row.name] = row.quotient;
  return out;
}

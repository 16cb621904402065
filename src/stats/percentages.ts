/**
 * Whole percentages of `counts` that sum to exactly 100 (all 0 when the counts sum to 0), by largest remainder:
 * each name gets ⌊100·n/N⌋, then the points still missing go one each to the largest remainders 100·n mod N.
 * Equal remainders: more requests first, then the name first in code-unit order. Integer arithmetic throughout
 * (exact while 100·N < 2^53), so the result never depends on floating-point rounding.
 *
 * @example
 * ```ts
 * largestRemainder(["v1", "v2", "v3"], [1, 1, 1]); // { v1: 34, v2: 33, v3: 33 }
 * largestRemainder(["v1", "v2"], [200, 800]);      // { v1: 20, v2: 80 }
 * ```
 */
export function largestRemainder(names: readonly string[], counts: readonly number[]): Record<string, number> {
  const total = counts.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  if (total <= 0) {
    for (const name of names) out[name] = 0;
    return out;
  }
  const rows = names.map((name, i) => {
    const n = counts[i] ?? 0;
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
  const order = [...rows].sort(
    (a, b) => b.remainder - a.remainder || b.n - a.n || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (const row of order) {
    if (missing <= 0) break;
    if (row.remainder > 0) {
      row.quotient += 1;
      missing -= 1;
    }
  }
  for (const row of rows) out[row.name] = row.quotient;
  return out;
}

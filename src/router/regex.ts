/**
 * Regular expressions in configuration run against request data on the request path, so they are vetted when the
 * config is compiled: patterns that could backtrack catastrophically are refused, and values longer than
 * {@link MAX_MATCH_INPUT} never match.
 */

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 256;
/** Longest value a pattern is ever run against; longer values do not match. */
export const MAX_MATCH_INPUT = 512;
/** Most unbounded quantifiers (`*`, `+`, `{n,}`) in one pattern: two keep the worst case quadratic in 512 characters. */
export const MAX_UNBOUNDED_QUANTIFIERS = 2;

/** What is wrong with a pattern, or `undefined` when it is acceptable. */
export type PatternVerdict = { readonly code: "invalid_regex" | "unsafe_regex" | "too_long"; readonly message: string };

/**
 * Checks that `source` compiles and has a star height of at most one: no quantified group may contain another
 * quantifier or an alternation (`(a+)+`, `(a|aa)*`, `(\w+\s?)*`), no backreferences, and at most
 * {@link MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (`.*.*.*x` backtracks polynomially). This refuses some
 * harmless patterns; it never accepts one with exponential backtracking.
 */
export function vetPattern(source: string): PatternVerdict | undefined {
  if (source.length > MAX_PATTERN_LENGTH) {
    return { code: "too_long", message: `pattern is ${source.length} characters (at most ${MAX_PATTERN_LENGTH})` };
  }
  try {
    new RegExp(source);
  } catch (error) {
    return { code: "invalid_regex", message: `does not compile: ${(error as Error).message}` };
  }
  // Walk the pattern: for every open group remember whether it contains a quantifier or an alternation.
  const stack: { risky: boolean }[] = [];
  let inClass = false;
  let unbounded = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const next = source[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(next) || next === "k")) {
        return { code: "unsafe_regex", message: "backreferences are not allowed" };
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      continue;
    }
    if (c === "(") {
      stack.push({ risky: false });
      // Skip a group marker (`?:`, `?=`, `?!`, `?<=`, `?<!`, `?<name>`) so its `?` is not read as a quantifier.
      const marker = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(i + 1));
      if (marker) i += marker[0].length;
      continue;
    }
    if (c === "|") {
      const top = stack[stack.length - 1];
      if (top) top.risky = true;
      continue;
    }
    const quantifierAt = isQuantifier(source, i);
    if (c === ")") {
      const group = stack.pop();
      if (group === undefined) continue;
      const quantified = isQuantifier(source, i + 1) > 0;
      if (quantified && group.risky) {
        return {
          code: "unsafe_regex",
          message: "a repeated group contains a quantifier or an alternation (catastrophic backtracking)",
        };
      }
      const parent = stack[stack.length - 1];
      if (parent && (group.risky || quantified)) parent.risky = true;
      continue;
    }
    if (quantifierAt > 0) {
      if (c === "*" || c === "+" || /^\{\d+,\}/.test(source.slice(i))) unbounded++;
      const top = stack[stack.length - 1];
      if (top) top.risky = true;
      i += quantifierAt - 1;
    }
  }
  if (unbounded > MAX_UNBOUNDED_QUANTIFIERS) {
    return {
      code: "unsafe_regex",
      message: `${unbounded} unbounded quantifiers (at most ${MAX_UNBOUNDED_QUANTIFIERS}: more can backtrack polynomially)`,
    };
  }
  return undefined;
}

/** Length of the quantifier starting at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each optionally lazy), or 0. */
function isQuantifier(source: string, i: number): number {
  const c = source[i];
  if (c === "*" || c === "+" || c === "?") return source[i + 1] === "?" ? 2 : 1;
  if (c === "{") {
    const match = /^\{\d+(,\d*)?\}\??/.exec(source.slice(i));
    return match ? match[0].length : 0;
  }
  return 0;
}

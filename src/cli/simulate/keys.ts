/**
 * Routing simulated keys through real routers: the split of N keys, and which keys move between two configs.
 */
import type { RouteRequest, Router, RouterConfig, StickinessSource } from "../../index.js";

/**
 * How a key reaches a router: through the config's first stickiness source (a header, cookie, attribute, query
 * parameter, or `request.key`).
 *
 * @example
 * ```ts
 * requestFor("header:x-user-id")("user-1"); // { headers: { "x-user-id": "user-1" } }
 * ```
 */
export function requestFor(source: StickinessSource): (key: string) => RouteRequest {
  const colon = source.indexOf(":");
  const kind = colon < 0 ? source : source.slice(0, colon);
  const name = colon < 0 ? "" : source.slice(colon + 1);
  switch (kind) {
    case "header": {
      const header = name.toLowerCase();
      return (key) => ({ headers: { [header]: key } });
    }
    case "cookie":
      return (key) => ({ cookies: { [name]: key } });
    case "attr":
      return (key) => ({ attributes: { [name]: key } });
    case "query":
      return (key) => ({ query: { [name]: key } });
    default:
      return (key) => ({ key });
  }
}

/**
 * The stickiness source keys are sent through.
 *
 * @example
 * ```ts
 * sourceOf({ versions: ["v1"], stable: "v1", stickiness: ["header:x-user-id"] }); // "header:x-user-id"
 * ```
 */
export function sourceOf(config: RouterConfig): StickinessSource {
  return config.stickiness?.[0] ?? "key";
}

/**
 * Configured shares (0–1) of every version named in `config`.
 *
 * @example
 * ```ts
 * configuredShares({ versions: ["v1", "v2"], stable: "v1", split: { v1: 3, v2: 1 } }); // Map { v1 → 0.75, v2 → 0.25 }
 * ```
 */
export function configuredShares(config: RouterConfig): Map<string, number> {
  const split = config.split ?? { [config.stable]: 100 };
  let total = 0;
  for (const version of config.versions) total += Object.hasOwn(split, version) ? (split[version] as number) : 0;
  const shares = new Map<string, number>();
  for (const version of config.versions) shares.set(version, total > 0 ? (Object.hasOwn(split, version) ? (split[version] as number) : 0) / total : 0);
  return shares;
}

/** One version's row of a split. */
export interface SplitRow {
  readonly version: string;
  readonly keys: number;
  /** Observed share, 0–1. */
  readonly share: number;
  /** Configured share, 0–1. */
  readonly expected: number;
  /** (observed − expected) / the binomial standard deviation of the share for N keys (0 when it is 0). */
  readonly sigma: number;
}

/** The split of N keys. */
export interface SplitResult {
  readonly keys: number;
  readonly prefix: string;
  readonly source: StickinessSource;
  readonly rows: readonly SplitRow[];
  /** Decisions per reason. */
  readonly reasons: Readonly<Record<string, number>>;
}

/**
 * Routes keys `prefix + 0` … `prefix + (n − 1)` and counts versions and reasons.
 *
 * @example
 * ```ts
 * const split = simulateSplit(router, 100_000, "user-");
 * split.rows; // [{ version: "v1", keys: 90012, share: 0.90012, expected: 0.9, sigma: 0.13 }, …]
 * ```
 */
export function simulateSplit(router: Router, n: number, prefix: string, onProgress?: (fraction: number) => void): SplitResult {
  const source = sourceOf(router.config);
  const request = requestFor(source);
  const counts = new Map<string, number>();
  const reasons: Record<string, number> = {};
  const chunk = Math.max(1, Math.floor(n / 100));
  for (let i = 0; i < n; i++) {
    const decision = router.decide(request(prefix + i));
    counts.set(decision.version, (counts.get(decision.version) ?? 0) + 1);
    reasons[decision.reason] = (reasons[decision.reason] ?? 0) + 1;
    if (onProgress !== undefined && i % chunk === chunk - 1) onProgress((i + 1) / n);
  }
  const expected = configuredShares(router.config);
  const versions = [...router.config.versions, ...[...counts.keys()].filter((v) => !expected.has(v))];
  const rows = versions.map((version) => {
    const keys = counts.get(version) ?? 0;
    const share = n > 0 ? keys / n : 0;
    const p = expected.get(version) ?? 0;
    const sd = Math.sqrt((p * (1 - p)) / Math.max(1, n));
    return { version, keys, share, expected: p, sigma: sd > 0 ? (share - p) / sd : 0 };
  });
  return { keys: n, prefix, source, rows, reasons };
}

/** Which keys change version between two configurations. */
export interface MovementResult {
  readonly keys: number;
  /** The union of both configs' versions, in order. */
  readonly versions: readonly string[];
  /** `matrix[i][j]`: keys on `versions[i]` before and `versions[j]` after. */
  readonly matrix: readonly (readonly number[])[];
  /** Keys whose version changed. */
  readonly moved: number;
  /**
   * The fewest keys that could have moved for the observed before/after counts: ½ Σ |before(v) − after(v)| (the
   * total-variation distance in keys). `moved === minimum` means only keys that had to move, moved.
   */
  readonly minimum: number;
  /** The total-variation distance between the two configured splits (0–1): the share that must move. */
  readonly configuredDistance: number;
}

/**
 * Routes the same keys through two routers and counts the transitions.
 *
 * @example
 * ```ts
 * const m = simulateMovement(before, after, 100_000, "user-");
 * m.moved === m.minimum; // true: a raise of the canary moves only keys from stable to canary
 * ```
 */
export function simulateMovement(before: Router, after: Router, n: number, prefix: string, onProgress?: (fraction: number) => void): MovementResult {
  const versions = [...before.config.versions];
  for (const v of after.config.versions) if (!versions.includes(v)) versions.push(v);
  const index = new Map(versions.map((v, i) => [v, i]));
  const matrix = versions.map(() => versions.map(() => 0));
  const requestBefore = requestFor(sourceOf(before.config));
  const requestAfter = requestFor(sourceOf(after.config));
  const chunk = Math.max(1, Math.floor(n / 100));
  for (let i = 0; i < n; i++) {
    const key = prefix + i;
    const a = index.get(before.decide(requestBefore(key)).version) ?? 0;
    const b = index.get(after.decide(requestAfter(key)).version) ?? 0;
    (matrix[a] as number[])[b] = ((matrix[a] as number[])[b] as number) + 1;
    if (onProgress !== undefined && i % chunk === chunk - 1) onProgress((i + 1) / n);
  }
  let moved = 0;
  let imbalance = 0;
  versions.forEach((_, i) => {
    let out = 0;
    let into = 0;
    versions.forEach((__, j) => {
      if (i === j) return;
      out += (matrix[i] as number[])[j] as number;
      into += (matrix[j] as number[])[i] as number;
    });
    moved += out;
    imbalance += Math.abs(out - into);
  });
  const sharesBefore = configuredShares(before.config);
  const sharesAfter = configuredShares(after.config);
  let distance = 0;
  for (const v of versions) distance += Math.abs((sharesBefore.get(v) ?? 0) - (sharesAfter.get(v) ?? 0));
  return { keys: n, versions, matrix, moved, minimum: imbalance / 2, configuredDistance: distance / 2 };
}

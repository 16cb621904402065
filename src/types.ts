/**
 * The public types of turnout's core: router configuration, requests, decisions, and the small contracts that the
 * stats, rollout and integration modules share. Everything here is plain data (JSON-friendly) or an interface.
 */

// ---------------------------------------------------------------------------------------------------------------
// Router configuration
// ---------------------------------------------------------------------------------------------------------------

/**
 * Where a request's sticky key comes from. The router tries the sources in order; the first one present wins.
 *
 * - `key` — `request.key`, set by your code.
 * - `header:<name>` — a request header (name matched case-insensitively).
 * - `cookie:<name>` — a cookie (from `request.cookies`, or parsed from the `cookie` header).
 * - `attr:<name>` — `request.attributes[name]` (strings and finite numbers).
 * - `query:<name>` — a query parameter.
 *
 * @example
 * ```ts
 * const stickiness: StickinessSource[] = ["header:x-transaction-id", "header:x-user-id", "cookie:uid", "key"];
 * ```
 */
export type StickinessSource = "key" | `header:${string}` | `cookie:${string}` | `attr:${string}` | `query:${string}`;

/**
 * What happens to requests that carry no sticky key.
 *
 * @example
 * ```ts
 * const config = { versions: ["v1", "v2"], stable: "v1", split: { v1: 80, v2: 20 }, keyless: KeylessMode.RoundRobin };
 * ```
 */
export const KeylessMode = {
  /** Weighted random choice per request, using the router's injectable `rng` (default). */
  Random: "random",
  /** Smooth weighted round-robin: every run of Σweights requests gets exactly each version's weight. */
  RoundRobin: "round-robin",
  /** Always the stable version (anonymous traffic never reaches the canary). */
  Stable: "stable",
} as const;
/** One of the {@link KeylessMode} values. */
export type KeylessMode = (typeof KeylessMode)[keyof typeof KeylessMode];

/**
 * A test on one request field. Exactly one source (`header`, `cookie`, `attr`, `query`) and at most one matcher
 * (`equals`, `values`, `matches`, `present`; with none, the field must be present).
 *
 * @example
 * ```ts
 * const paid: Condition = { header: "x-user-plan", values: ["pro", "enterprise"] };
 * const internal: Condition = { attr: "email", matches: "@example\\.com$" };
 * ```
 */
export interface Condition {
  /** A header name (case-insensitive). */
  readonly header?: string;
  /** A cookie name. */
  readonly cookie?: string;
  /** An attribute name in `request.attributes`. */
  readonly attr?: string;
  /** A query parameter name. */
  readonly query?: string;
  /** The value must equal this string exactly. */
  readonly equals?: string;
  /** The value must be one of these strings. */
  readonly values?: readonly string[];
  /** The value must match this regular expression (checked for safety when the config is compiled). */
  readonly matches?: string;
  /** `true`: the field must be present; `false`: it must be absent. */
  readonly present?: boolean;
}

/**
 * A header rule that beats the weights: developers and QA force a version with a header.
 * The decision's reason is `header_match`.
 *
 * @example
 * ```ts
 * const override: HeaderOverride = { header: "x-canary", equals: "true", version: "v2" };
 * ```
 */
export interface HeaderOverride {
  /** The header name (case-insensitive). */
  readonly header: string;
  /** The value must equal this string exactly. */
  readonly equals?: string;
  /** The value must be one of these strings. */
  readonly values?: readonly string[];
  /** The value must match this regular expression. */
  readonly matches?: string;
  /** With no matcher, the header's presence is enough. */
  readonly present?: boolean;
  /**
   * `true`: the value must equal the router's `overrideSecret` (compared in constant time; no other matcher), so that
   * only those who hold the secret can force the version. The secret stays out of the config. An override without
   * it lets anyone who can set the header choose the version.
   */
  readonly secret?: boolean;
  /** The version the request goes to. */
  readonly version: string;
}

/**
 * Client-chosen versions. Each enabled channel reads a version token (`v2`, `2`, or an alias) from the request.
 * A token that resolves to a live version wins over every other rule (`explicit_version`); a token that does not
 * gives the `unknown_version` decision.
 *
 * Token resolution, in order: `aliases[token]`, a version named exactly `token`, a version named `"v" + token`.
 *
 * @example
 * ```ts
 * const explicit: ExplicitSelection = {
 *   path: { prefix: "/api" },           // /api/v2/users
 *   header: "x-api-version",            // X-API-Version: 2
 *   accept: "api",                      // Accept: application/vnd.api.v2+json
 *   query: "version",                   // ?version=2
 *   aliases: { "2024-06-01": "v2" },
 * };
 * ```
 */
export interface ExplicitSelection {
  /**
   * The version is the first path segment after `prefix` (default `""`): `/v2/users`, `/api/v2/users`.
   * Only segments matching `pattern` (default `^v[0-9]+$`) or naming a version/alias count as a request for a
   * version; other paths are not explicit requests at all.
   */
  readonly path?: {
    /** The path before the version segment, e.g. `/api`. Default `""`. */
    readonly prefix?: string;
    /** Which segments count as a request for a version (besides version names and aliases). Default `^v[0-9]+$`. */
    readonly pattern?: string;
  };
  /** A header whose value is the version token, e.g. `x-api-version`. */
  readonly header?: string;
  /** The vendor name in an Accept media type: `application/vnd.<accept>.<token>+json`. */
  readonly accept?: string;
  /** A query parameter whose value is the version token, e.g. `version`. */
  readonly query?: string;
  /** Extra tokens that name versions, e.g. `{ "2": "v2", "beta": "v3" }`. */
  readonly aliases?: Readonly<Record<string, string>>;
}

/**
 * A user segment: requests matching every `include` condition and none of the `exclude` conditions go to
 * `version` (reason `segment_match`). Segments are tried in order.
 *
 * @example
 * ```ts
 * const paid: Segment = {
 *   name: "paid",
 *   version: "v2",
 *   include: [{ header: "x-user-plan", values: ["pro", "enterprise"] }],
 *   exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
 * };
 * ```
 */
export interface Segment {
  /** A label shown in decisions (`rule`) and explanations. */
  readonly name?: string;
  /** The version this segment routes to. */
  readonly version: string;
  /** All must match (an empty or missing list matches every request). */
  readonly include?: readonly Condition[];
  /** Any match excludes the request from the segment. */
  readonly exclude?: readonly Condition[];
}

/**
 * One arm of an experiment.
 *
 * @example
 * ```ts
 * const treatment: ExperimentVariant = { name: "treatment", weight: 50, version: "v2" };
 * ```
 */
export interface ExperimentVariant {
  /** The variant name reported in decisions and the `X-AB-Variant` header. */
  readonly name: string;
  /** Relative weight among the experiment's variants. */
  readonly weight: number;
  /** Optional: route this variant's requests to a version (reason `experiment`). */
  readonly version?: string;
}

/**
 * A sticky, salted A/B test. Keyed requests that match the targeting (and one of `paths`, if given) are assigned
 * a variant by hashing the key with the experiment's salt; the same key always gets the same variant until the
 * salt changes. The first matching experiment applies.
 *
 * @example
 * ```ts
 * const checkout: Experiment = {
 *   name: "checkout-flow-v2",
 *   salt: "checkout-v2-2024",
 *   paths: ["/api/v1/checkout", "/api/v1/cart"],
 *   variants: [
 *     { name: "control", weight: 50, version: "v1" },
 *     { name: "treatment", weight: 50, version: "v2" },
 *   ],
 *   include: [{ header: "x-user-plan", values: ["pro", "enterprise"] }],
 *   exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
 * };
 * ```
 */
export interface Experiment {
  /** Unique name (reported in `X-AB-Test`). */
  readonly name: string;
  /** Changing it re-randomises the assignment. Defaults to `name`. */
  readonly salt?: string;
  /** At least one variant; weights are relative. */
  readonly variants: readonly ExperimentVariant[];
  /** Targeting: all must match. */
  readonly include?: readonly Condition[];
  /** Targeting: any match excludes. */
  readonly exclude?: readonly Condition[];
  /** Path prefixes the experiment applies to; missing means every path. */
  readonly paths?: readonly string[];
  /** Where this experiment's key comes from; defaults to the router's `stickiness`. */
  readonly stickiness?: readonly StickinessSource[];
  /** Bucket as a feature-flag SDK does (the variants' order is theirs; `order` does not apply). Default turnout's. */
  readonly bucketing?: Bucketing;
}

/**
 * How requests are bucketed: turnout's own scheme (the default), or the scheme of a feature-flag SDK, reproduced user
 * for user so that moving a percentage rollout from that SDK to turnout moves nobody. See
 * docs/compatibility-bucketing.md. The weights stay in `split` (or the experiment's variants), in the units the
 * source SDK can express; a weight it could not express is refused (`not_expressible`), never rounded.
 *
 * @example
 * ```ts
 * const bucketing: Bucketing = { scheme: "unleash", groupId: "new-checkout", mode: "rollout" };
 * ```
 */
export type Bucketing = TurnoutBucketing | UnleashBucketing | GrowthBookBucketing | FlagdBucketing | LaunchDarklyBucketing;

/**
 * What a compatibility scheme does with a request that has no sticky key: `router` applies the router's `keyless`
 * mode; `sdk` does what the source SDK does (Unleash: a random draw, as its `default` stickiness; GrowthBook and
 * flagd: not enrolled, so the stable version; LaunchDarkly: bucket 0, the first version with a weight).
 *
 * @example
 * ```ts
 * const keyless: BucketingKeyless = "sdk";
 * ```
 */
export type BucketingKeyless = "router" | "sdk";

/**
 * turnout's own bucketing: MurmurHash3 of the key seeded with the salt, 10,000 buckets.
 *
 * @example
 * ```ts
 * const own: TurnoutBucketing = { scheme: "turnout" };
 * ```
 */
export interface TurnoutBucketing {
  /** Selects turnout's own bucketing (the default when `bucketing` is not set). */
  readonly scheme: "turnout";
}

/**
 * Unleash: `normalizedValue = murmur3(groupId + ":" + key, seed) % normalizer + 1`. In `rollout` mode (a gradual /
 * flexible rollout strategy) the second version of `order` gets the key when the value is at most the rollout
 * percentage, a whole number (seed 0, normaliser 100). In `variants` mode (feature or strategy variants) the value
 * (seed 86028157, normaliser `totalWeight`) picks the first version whose running weight reaches it.
 *
 * @example
 * ```ts
 * const rollout: UnleashBucketing = { scheme: "unleash", groupId: "new-checkout" }; // split { v1: 75, v2: 25 }
 * const variants: UnleashBucketing = { scheme: "unleash", mode: "variants", groupId: "new-checkout", order: ["v1", "v2"] };
 * ```
 */
export interface UnleashBucketing {
  /** Selects Unleash's bucketing. */
  readonly scheme: "unleash";
  /** `rollout` (default): a gradual rollout of two versions; `variants`: weighted variants. */
  readonly mode?: "rollout" | "variants";
  /** The strategy's `groupId` (Unleash defaults it to the flag name) or, for feature variants, the flag name. */
  readonly groupId: string;
  /** Versions in Unleash's variant order; for `rollout`, [off, on]. Default: [stable, canary] / `versions`. */
  readonly order?: readonly string[];
  /** `variants` only: the sum of the Unleash variant weights (default 1000, as the Unleash server makes them). */
  readonly totalWeight?: number;
  /**
   * `variants` only: the gradual / flexible rollout percentage (a whole number, 0–100) that enables the flag before a
   * variant is chosen, as Unleash evaluates a rollout strategy with variants. Keys outside it get the stable version
   * (the flag is off). Default: no rollout, every key gets a variant.
   */
  readonly rollout?: number;
  /** With `rollout`: the rollout strategy's `groupId`, when it differs from `groupId` (feature variants hash the flag name). */
  readonly rolloutGroupId?: string;
  /** `utf8` (default: the Go, Java, .NET, Python and Rust SDKs) or `latin1` (unleash-client-node: a byte per code unit). */
  readonly encoding?: "utf8" | "latin1";
  /** Requests without a key: the router's `keyless` mode (default) or a random draw, as Unleash's `default` stickiness. */
  readonly keyless?: BucketingKeyless;
}

/**
 * GrowthBook: `n = fnv1a32(key + seed) % 1000 / 1000` (hash version 1) or
 * `fnv1a32(String(fnv1a32(seed + key))) % 10000 / 10000` (version 2). In `experiment` mode the ranges are
 * `[start, start + coverage × weight)` over the weights as fractions; in `rollout` mode (a rollout rule with
 * coverage) the second version of `order` gets the key when `n ≤` its share.
 *
 * @example
 * ```ts
 * const experiment: GrowthBookBucketing = { scheme: "growthbook", seed: "checkout-exp", hashVersion: 2, coverage: 0.5 };
 * ```
 */
export interface GrowthBookBucketing {
  /** Selects GrowthBook's bucketing. */
  readonly scheme: "growthbook";
  /** `experiment` (default): variations with weights; `rollout`: a percentage rollout rule of two versions. */
  readonly mode?: "experiment" | "rollout";
  /** The experiment's `seed` (GrowthBook defaults it to the experiment key) or, for a rollout rule, the feature key. */
  readonly seed: string;
  /** 1 (GrowthBook's default) or 2. */
  readonly hashVersion?: 1 | 2;
  /** `experiment` only: the share of keys included, 0–1 (default 1); the others go to the stable version. */
  readonly coverage?: number;
  /** `experiment` only: `[id, start, end]`: only keys whose namespace hash is in `[start, end)` are included. */
  readonly namespace?: readonly [string, number, number];
  /**
   * `experiment` only: the experiment's explicit `ranges`, one `[start, end)` per version of `order`, used instead of
   * coverage and weights (the split's weights must then be proportional to the ranges' widths).
   */
  readonly ranges?: readonly (readonly [number, number])[];
  /** `rollout` only: the rule's explicit `range` `[start, end)` for the second version (its width is the split's share). */
  readonly range?: readonly [number, number];
  /** The experiment's or rule's `filters`: a key is included only when, for every filter, its hash falls in one of the ranges. */
  readonly filters?: readonly GrowthBookFilter[];
  /** Versions in GrowthBook's variation order; for `rollout`, [off, on]. Default: `versions` / [stable, canary]. */
  readonly order?: readonly string[];
  /** `utf16` (default: the JavaScript SDK), `utf8` (the Go SDK) or `codepoint` (the Python SDK). */
  readonly encoding?: "utf16" | "utf8" | "codepoint";
  /** Requests without a key: the router's `keyless` mode (default) or not enrolled (the stable version). */
  readonly keyless?: BucketingKeyless;
}

/**
 * One of GrowthBook's `filters`: the key's hash under `seed` (hash version 2 unless given) must fall in one of
 * `ranges`. The filter hashes the same key as the bucketing (a filter on another attribute cannot be expressed).
 *
 * @example
 * ```ts
 * const filter: GrowthBookFilter = { seed: "pricing-holdout", ranges: [[0, 0.5]] };
 * ```
 */
export interface GrowthBookFilter {
  /** The filter's seed. */
  readonly seed: string;
  /** `[start, end)` ranges of the hash, 0–1. */
  readonly ranges: readonly (readonly [number, number])[];
  /** 1 or 2 (GrowthBook's default for filters). */
  readonly hashVersion?: 1 | 2;
}

/**
 * flagd's `fractional` operation: MurmurHash3 (seed 0) of `flagKey + key`. `v2` (current flagd):
 * `bucket = hash × totalWeight >> 32` against the running integer weights; `v1` (earlier flagd):
 * `|int32 hash| / 2^31-1 × 100` against running percentages.
 *
 * @example
 * ```ts
 * const fractional: FlagdBucketing = { scheme: "flagd", flagKey: "checkout-flag", order: ["v1", "v2"] };
 * ```
 */
export interface FlagdBucketing {
  /** Selects flagd's `fractional` bucketing. */
  readonly scheme: "flagd";
  /** The text hashed before the key: the flag key (the default bucketing), or a `cat` expression's literal, or "". */
  readonly flagKey: string;
  /** `v2` (default, current flagd) or `v1` (the earlier floating-point bucketing). */
  readonly bucketing?: "v2" | "v1";
  /** `go` (default: the flagd daemon and Go evaluator, UTF-8) or `js` (@openfeature/flagd-core, imurmurhash). */
  readonly implementation?: "go" | "js";
  /** The sum of the flag's fractional weights (default 100). */
  readonly totalWeight?: number;
  /** Versions in the order of the `fractional` buckets. Default: `versions`. */
  readonly order?: readonly string[];
  /** Requests without a key: the router's `keyless` mode (default) or the default variant (the stable version). */
  readonly keyless?: BucketingKeyless;
}

/**
 * LaunchDarkly percentage rollouts: `bucket = int(sha1(flagKey + "." + salt + "." + key)[0..15], 16) / 0xFFFFFFFFFFFFFFF`
 * (experiments: `seed + "." + key`), against running weights in thousandths of a percent (100,000 in all).
 *
 * @example
 * ```ts
 * const rollout: LaunchDarklyBucketing = { scheme: "launchdarkly", flagKey: "new-checkout", salt: "a1b2c3" };
 * ```
 */
export interface LaunchDarklyBucketing {
  /** Selects LaunchDarkly's percentage-rollout bucketing. */
  readonly scheme: "launchdarkly";
  /** The flag key. */
  readonly flagKey: string;
  /** The flag's `salt` (from the flag's JSON). */
  readonly salt: string;
  /** An experiment's rollout `seed`, which replaces `flagKey.salt` (0 means none, as in the SDKs). */
  readonly seed?: number;
  /** Versions in the order of the rollout's variations. Default: `versions`. */
  readonly order?: readonly string[];
  /** Requests without a key: the router's `keyless` mode (default) or bucket 0 (the first version with a weight). */
  readonly keyless?: BucketingKeyless;
}

/**
 * Shadow traffic: a copy of `percent` % of the requests routed to another version is also sent to `version`,
 * whose response is discarded. The decision carries `mirror: version`; the proxy does the copying.
 *
 * @example
 * ```ts
 * const mirror: MirrorRule = { version: "v2", percent: 100 };
 * ```
 */
export interface MirrorRule {
  /** The version that receives the copies. */
  readonly version: string;
  /** Share of eligible requests mirrored, 0–100 (sticky per key, random for keyless requests). */
  readonly percent: number;
  /** Only requests whose primary version is in this list are mirrored (default: every other version). */
  readonly from?: readonly string[];
}

/**
 * Deprecation and sunset of a version (RFC 9745 `Deprecation`, RFC 8594 `Sunset`).
 *
 * @example
 * ```ts
 * const v1: Lifecycle = {
 *   deprecated: "2025-01-01T00:00:00Z",
 *   sunset: "2025-06-01T00:00:00Z",
 *   successor: "v2",
 *   successorUrl: "https://api.example.com/v2/",
 *   migrationGuide: "https://docs.example.com/migration/v1-to-v2",
 *   policy: "https://docs.example.com/deprecation-policy",
 * };
 * ```
 */
export interface Lifecycle {
  /** When the version was (or will be) deprecated: an ISO 8601 date-time. */
  readonly deprecated?: string;
  /** When the version stops being served (410 Gone after this instant): an ISO 8601 date-time. */
  readonly sunset?: string;
  /** The version that replaces this one. */
  readonly successor?: string;
  /** Link for `rel="successor-version"` and the 410 body's `successor`. */
  readonly successorUrl?: string;
  /** Link for the migration guide (`rel="deprecation"` when `policy` is missing). */
  readonly migrationGuide?: string;
  /** Link for `rel="deprecation"`: the deprecation policy. */
  readonly policy?: string;
  /** Link for `rel="sunset"`: where the sunset is announced. */
  readonly sunsetInfo?: string;
}

/**
 * The router's configuration: plain JSON, so it can live in a file, a Kubernetes ConfigMap or Redis.
 *
 * @example
 * ```ts
 * const config: RouterConfig = {
 *   versions: ["v1", "v2"],
 *   stable: "v1",
 *   canary: "v2",
 *   split: { v1: 90, v2: 10 },
 *   stickiness: ["header:x-transaction-id", "header:x-user-id", "cookie:uid", "key"],
 *   overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
 * };
 * ```
 */
export interface RouterConfig {
  /** Names of the live versions (1–64 of `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 characters each). */
  readonly versions: readonly string[];
  /** The baseline: receives fallback, error and rollback traffic. */
  readonly stable: string;
  /** The version under test; its decisions carry `canary: true`. */
  readonly canary?: string;
  /** Relative weights per version (missing versions weigh 0); default: all traffic to `stable`. */
  readonly split?: Readonly<Record<string, number>>;
  /** Changes every sticky assignment at once. Default `""`. */
  readonly salt?: string;
  /** Where the sticky key comes from; first present wins. Default `["key"]`. */
  readonly stickiness?: readonly StickinessSource[];
  /** What requests without a sticky key get. Default `"random"`. */
  readonly keyless?: KeylessMode;
  /** Header rules that beat the weights, tried in order. */
  readonly overrides?: readonly HeaderOverride[];
  /** Client-chosen versions (path, header, Accept, query). */
  readonly explicit?: ExplicitSelection;
  /** Attribute/header conditions → version, tried in order. */
  readonly segments?: readonly Segment[];
  /** Sticky, salted A/B tests, tried in order. */
  readonly experiments?: readonly Experiment[];
  /** Shadow traffic. */
  readonly mirror?: MirrorRule;
  /** Deprecation and sunset per version. */
  readonly lifecycle?: Readonly<Record<string, Lifecycle>>;
  /** How the split buckets keys: turnout's own scheme (default) or a feature-flag SDK's. */
  readonly bucketing?: Bucketing;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and decisions
// ---------------------------------------------------------------------------------------------------------------

/** A header value as Node gives it: a string, a list (repeated headers), or missing. */
export type HeaderValue = string | readonly string[] | undefined;

/**
 * Something with a case-insensitive `get`, such as the Fetch API's `Headers` or `URLSearchParams`.
 *
 * @example
 * ```ts
 * router.decide({ headers: new Headers({ "x-user-id": "u-1" }) });
 * ```
 */
export interface GetLike {
  /** Returns the value, or `null`/`undefined` when missing. */
  get(name: string): string | null | undefined;
}

/**
 * A framework-neutral request. Every field is optional; junk in any field gets a defined answer, never an
 * exception. Header names in plain objects are expected in lower case (as Node gives them).
 *
 * @example
 * ```ts
 * router.decide({
 *   headers: { "x-user-id": "user-123" },
 *   path: "/api/orders",
 *   pin: previous.pin,
 * });
 * ```
 */
export interface RouteRequest {
  /** An explicit sticky key (the `key` stickiness source). */
  readonly key?: string;
  /** Request headers: a plain object with lower-case names, or a `Headers`-like object. */
  readonly headers?: Readonly<Record<string, HeaderValue>> | GetLike;
  /** Parsed cookies; when missing, cookies are read from the `cookie` header. */
  readonly cookies?: Readonly<Record<string, string | undefined>>;
  /** The URL path (a query string after `?` is ignored for path matching). */
  readonly path?: string;
  /** Query parameters: a plain object or a `URLSearchParams`-like object. */
  readonly query?: Readonly<Record<string, HeaderValue>> | GetLike;
  /** Application attributes for segments, targeting and the `attr:` stickiness source. */
  readonly attributes?: Readonly<Record<string, string | number | boolean | null | undefined>>;
  /** A pin token from an earlier decision (see {@link Decision.pin}) or from {@link Router.issuePin}. */
  readonly pin?: string;
  /**
   * The time the request is judged at (epoch milliseconds), against which a pin's expiry is checked. Default: the
   * router's `clock`. The HTTP integrations pass their own `clock` here. With a pin that expires, passing `now` keeps
   * `decide` free of allocation: reading `Date.now()` itself allocates a number on each call.
   */
  readonly now?: number;
}

/**
 * Why a decision went the way it did. Listed in precedence order: an earlier reason beats a later one.
 *
 * @example
 * ```ts
 * if (decision.reason === DecisionReason.UnknownVersion) respond(404);
 * ```
 */
export const DecisionReason = {
  /** The client asked for a live version (path, header, Accept or query). */
  ExplicitVersion: "explicit_version",
  /** The client asked for a version that is not live; `version` is the stable one and `requested` says what was asked. */
  UnknownVersion: "unknown_version",
  /** A header override matched. */
  HeaderMatch: "header_match",
  /** A valid pin to a live version. */
  Pinned: "pinned",
  /** An experiment variant mapped to a version. */
  Experiment: "experiment",
  /** A segment matched. */
  SegmentMatch: "segment_match",
  /** The sticky key's bucket, under the split. */
  WeightedRouting: "weighted_routing",
  /** No sticky key: random or round-robin under the split. */
  Keyless: "keyless",
  /** No sticky key and `keyless: "stable"`. */
  Fallback: "fallback",
  /** An internal fault: the stable version, and the fault went to the logger. */
  Error: "error",
} as const;
/** One of the {@link DecisionReason} values. */
export type DecisionReason = (typeof DecisionReason)[keyof typeof DecisionReason];

/**
 * Why a pin sent with the request was not used.
 *
 * @example
 * ```ts
 * if (decision.pinIgnored === PinIgnored.NotLive) log.info("transaction's version was retired");
 * ```
 */
export const PinIgnored = {
  /** The pin names a version that is no longer in `versions`. */
  NotLive: "not_live",
  /** The pin is garbled, forged, in an old format, or signed with a secret no longer accepted. */
  Invalid: "invalid",
  /** The pin's expiry (see {@link Router.issuePin}) has passed. */
  Expired: "expired",
} as const;
/** One of the {@link PinIgnored} values. */
export type PinIgnored = (typeof PinIgnored)[keyof typeof PinIgnored];

/**
 * A version's deprecation facts as carried on a decision, precomputed when the config is compiled.
 * Integrations compare `sunsetAt` with their clock (the core has none) to answer 410 Gone.
 *
 * @example
 * ```ts
 * if (d.lifecycle?.sunsetAt !== undefined && Date.now() >= d.lifecycle.sunsetAt) respond(410);
 * ```
 */
export interface DecisionLifecycle {
  /** Epoch milliseconds of deprecation, when configured. */
  readonly deprecatedAt?: number;
  /** Epoch milliseconds of sunset, when configured. */
  readonly sunsetAt?: number;
  /** The lifecycle block as configured. */
  readonly config: Lifecycle;
}

/**
 * The experiment a decision took part in.
 *
 * @example
 * ```ts
 * res.setHeader("X-AB-Test", d.experiment.name); res.setHeader("X-AB-Variant", d.experiment.variant);
 * ```
 */
export interface DecisionExperiment {
  /** The experiment's name. */
  readonly name: string;
  /** The assigned variant's name. */
  readonly variant: string;
}

/**
 * The answer to "which version serves this request?". Frozen; equal outcomes may share one object, so
 * `decide` allocates nothing on the keyed path.
 *
 * @example
 * ```ts
 * const d = router.decide({ headers: { "x-user-id": "user-123" } });
 * // { version: "v1", reason: "weighted_routing", canary: false, pin: "v1~1~k2x9s0", revision: 1 }
 * ```
 */
export interface Decision {
  /** The version that serves the request. */
  readonly version: string;
  /** Why (see {@link DecisionReason} for the precedence). */
  readonly reason: DecisionReason;
  /** True when `version` is the configured canary. */
  readonly canary: boolean;
  /** The rule that decided, as a config path: `overrides[0]`, `segments[1]`, `explicit.header`, `split`. */
  readonly rule?: string;
  /** The experiment and variant, when an experiment applied. */
  readonly experiment?: DecisionExperiment;
  /** The version that should receive a shadow copy of this request, if any. */
  readonly mirror?: string;
  /** Deprecation and sunset facts of `version`, if configured. */
  readonly lifecycle?: DecisionLifecycle;
  /** Send this back as `request.pin` to reach the same version on the next step of a transaction. */
  readonly pin: string;
  /** The config revision that made the decision. */
  readonly revision: number;
  /**
   * With reason `unknown_version`: the version the client asked for, named as the config names versions. When the
   * versions are named `v…`, a token starting with a digit gets its `v` (it would have reached `v` + token), so
   * `/api/v9/…`, `X-API-Version: 9`, `?version=9` and `Accept: application/vnd.acme.9+json` all report `"v9"`;
   * any other token is reported as sent (`X-API-Version: beta` → `"beta"`). At most 64 characters.
   */
  readonly requested?: string;
  /** Present when the request carried a pin that was not used, and why. */
  readonly pinIgnored?: PinIgnored;
}

/**
 * A sticky experiment assignment.
 *
 * @example
 * ```ts
 * router.assign("checkout-flow-v2", "user-123"); // { experiment: "checkout-flow-v2", variant: "treatment", version: "v2", bucket: 7345 }
 * ```
 */
export interface Assignment {
  /** The experiment's name. */
  readonly experiment: string;
  /** The assigned variant. */
  readonly variant: string;
  /** The version the variant routes to, if it names one. */
  readonly version?: string;
  /** The key's bucket under the experiment's salt, 0–9999. */
  readonly bucket: number;
}

/**
 * One rule that `explain` looked at.
 *
 * @example
 * ```ts
 * { rule: "overrides[0]", kind: "override", matched: false, detail: "header x-canary is missing" }
 * ```
 */
export interface ExplainStep {
  /** The config path of the rule. */
  readonly rule: string;
  /** The rule kind: `explicit`, `override`, `pin`, `experiment`, `segment`, `split`, `keyless`, `mirror`. */
  readonly kind: string;
  /** Whether the rule matched. */
  readonly matched: boolean;
  /** Why, in words. */
  readonly detail: string;
}

/**
 * Everything `decide` considered, for debugging (not the hot path).
 *
 * @example
 * ```ts
 * for (const step of router.explain(request).steps) console.log(step.matched ? "✓" : "·", step.rule, step.detail);
 * ```
 */
export interface Explanation {
  /** The decision `decide` returns for the same request. */
  readonly decision: Decision;
  /** The sticky key and the source it came from, if any. */
  readonly key?: {
    /** The stickiness source the key came from, e.g. `header:x-user-id`. */
    readonly source: StickinessSource;
    /** The key itself. */
    readonly value: string;
  };
  /** The key's bucket under the router's salt, 0–9999. */
  readonly bucket?: number;
  /** The rules in precedence order. */
  readonly steps: readonly ExplainStep[];
}

/**
 * Receives what turnout cannot throw: faults on the request path, rejected reloads, dropped mirrors.
 * `console` satisfies it; so do pino and winston loggers.
 *
 * @example
 * ```ts
 * createRouter(config, { logger: console });
 * ```
 */
export interface Logger {
  /** Something was handled but should be looked at. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** A fault was caught and worked around. */
  error(message: string, details?: Record<string, unknown>): void;
}

/**
 * Options of {@link Router} creation.
 *
 * @example
 * ```ts
 * createRouter(config, { rng: seededRandom(42), logger: console });
 * ```
 */
export interface RouterOptions {
  /** Random numbers in [0, 1) for keyless `random` traffic and keyless mirroring. Default `Math.random`. */
  readonly rng?: () => number;
  /** The first revision number. Default 1. */
  readonly revision?: number;
  /**
   * The secret pins are signed with (HMAC-SHA-256, 64 bits kept). Without it pins are signed with a public default
   * key: they detect garbling but anyone can mint them. Set it (16 random bytes or more) wherever a pin must not be
   * forged, e.g. when a version is a preview not meant for everyone.
   *
   * @example
   * ```ts
   * createRouter(config, { pinSecret: process.env.TURNOUT_PIN_SECRET });
   * ```
   */
  readonly pinSecret?: string;
  /**
   * Earlier pin secrets, still accepted (never used to sign) while a rotation completes: a plain string until it is
   * removed from the list, or `{ secret, until }` until that instant (epoch ms, or an ISO 8601 date). Pins expire
   * (see {@link Router.issuePin}), so a previous secret can be dropped once the pin lifetime has passed.
   *
   * @example
   * ```ts
   * createRouter(config, { pinSecret: "new-…", previousPinSecrets: [{ secret: "old-…", until: "2026-07-01T00:00:00Z" }] });
   * ```
   */
  readonly previousPinSecrets?: readonly (string | PreviousPinSecret)[];
  /**
   * Computes HMAC-SHA-256 for pins. Default: turnout's own, in plain JavaScript, synchronous in every runtime. In
   * Node, `nodePinSigner` from `turnout/node` uses `node:crypto` instead.
   */
  readonly pinSigner?: PinSigner;
  /**
   * The value a header override marked `secret: true` must carry. Several values accept any of them (for a
   * rotation). Required when the config has such an override.
   *
   * @example
   * ```ts
   * createRouter({ ...config, overrides: [{ header: "x-canary", secret: true, version: "v2" }] }, { overrideSecret: process.env.CANARY_TOKEN });
   * ```
   */
  readonly overrideSecret?: string | readonly string[];
  /** Epoch milliseconds, for pin expiry and previous secrets' `until`. Read only when a pin is checked. Default `Date.now`. */
  readonly clock?: () => number;
  /** Where faults are reported. Default: nowhere (they still produce reason `error`). */
  readonly logger?: Logger;
  /**
   * Compile `decide` into a function specialised to the config (header names as literals, only the rules the config
   * has), as ajv and fast-json-stringify do, with `new Function`. Default `true`. Where code generation from strings
   * is refused (Cloudflare Workers, a Content-Security-Policy without `'unsafe-eval'`) the router detects it and uses
   * its generic decide; `false` always uses the generic decide. Decisions are the same either way.
   *
   * @example
   * ```ts
   * createRouter(config, { codegen: false }); // never calls new Function (e.g. under a strict CSP)
   * ```
   */
  readonly codegen?: boolean;
}

/**
 * Computes HMAC-SHA-256: given a secret, returns a function from data to the MAC as lower-case hex (64 characters).
 * Called once per secret when the router is created (precompute the key there); the returned function is called
 * only for pins that are not already known to the router. It must be synchronous: WebCrypto's `crypto.subtle` is
 * not, which is why turnout ships a synchronous implementation as the default.
 *
 * @example
 * ```ts
 * import { createHmac } from "node:crypto";
 * const nodeSigner: PinSigner = (secret) => (data) => createHmac("sha256", secret).update(data).digest("hex");
 * ```
 */
export type PinSigner = (secret: string) => (data: string) => string;

/**
 * A previous pin secret accepted until an instant.
 *
 * @example
 * ```ts
 * const previous: PreviousPinSecret = { secret: "old-…", until: "2026-07-01T00:00:00Z" };
 * ```
 */
export interface PreviousPinSecret {
  /** The secret pins were signed with. */
  readonly secret: string;
  /** Until when pins signed with it are accepted: epoch milliseconds or an ISO 8601 date. */
  readonly until: number | string;
}

/**
 * A change of the router's configuration, as told to subscribers.
 *
 * @example
 * ```ts
 * router.subscribe((change) => gauge.set(change.revision));
 * ```
 */
export interface RouterChange {
  /** The new revision. */
  readonly revision: number;
  /** The previous revision. */
  readonly previousRevision: number;
  /** The new configuration. */
  readonly config: RouterConfig;
}

/**
 * A compiled router. Created by `createRouter`.
 *
 * @example
 * ```ts
 * const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 95, v2: 5 } });
 * router.decide({ key: "user-123" }).version; // "v1" or "v2", the same every time
 * router.setCanaryPercent(25);
 * ```
 */
export interface Router {
  /** Which version serves `request`. Pure for keyed requests; never throws. */
  decide(request: RouteRequest): Decision;
  /** The sticky variant of `key` in the named experiment, ignoring targeting; `undefined` if no such experiment. */
  assign(experiment: string, key: string): Assignment | undefined;
  /** Validates and swaps in a new config atomically; returns the new revision. Throws `TurnoutConfigError`. */
  update(config: RouterConfig, options?: { readonly revision?: number }): number;
  /** Replaces the split (weights per version); returns the new revision. */
  setSplit(weights: Readonly<Record<string, number>>): number;
  /** Gives the canary `percent` % of the traffic, taken from (or returned to) the stable version. */
  setCanaryPercent(percent: number): number;
  /** Every rule `decide` would consider for `request`, and why it matched or not. */
  explain(request: RouteRequest): Explanation;
  /** Calls `listener` after every successful update; returns an unsubscribe function. */
  subscribe(listener: (change: RouterChange) => void): () => void;
  /**
   * A pin for `version` at the current revision that expires at `expiresAt` (epoch ms, kept to the second): the pin
   * a client sends back in a header. Such a pin is honoured only until then, so a client echoing it cannot stay on
   * a version for good. The last pin issued per version is cached: calling this with the same second again costs a
   * map lookup. Returns `""` for a version that is not live.
   *
   * @example
   * ```ts
   * const pin = router.issuePin(decision.version, Date.now() + 15 * 60_000);
   * router.decide({ pin }).reason; // "pinned" for 15 minutes, then a fresh decision (pinIgnored: "expired")
   * ```
   */
  issuePin(version: string, expiresAt: number): string;
  /** The configuration in force (deep-frozen). */
  readonly config: RouterConfig;
  /** The revision in force. */
  readonly revision: number;
  /** The canary's current share of the split in percent (0 when there is no canary). */
  readonly canaryPercent: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared contracts between stats, rollout and integrations
// ---------------------------------------------------------------------------------------------------------------

/**
 * Latency quantiles in milliseconds, from a sketch with a bounded relative error.
 *
 * @example
 * ```ts
 * { p50: 12.1, p95: 48.7, p99: 120.4, max: 310.2 }
 * ```
 */
export interface LatencySummary {
  /** Median. */
  readonly p50: number;
  /** 95th percentile. */
  readonly p95: number;
  /** 99th percentile. */
  readonly p99: number;
  /** The largest latency recorded (exact). */
  readonly max: number;
}

/**
 * One version's numbers over some span of time.
 *
 * @example
 * ```ts
 * { requests: 1200, errors: 6, errorRate: 0.005, latency: { p50: 11, p95: 40, p99: 95, max: 180 }, clients: 830, share: 0.1 }
 * ```
 */
export interface VersionStats {
  /** Requests recorded. */
  readonly requests: number;
  /** Of which failed. */
  readonly errors: number;
  /** errors / requests (0 when there were no requests). */
  readonly errorRate: number;
  /** Latency quantiles, or `null` when no latency was recorded. */
  readonly latency: LatencySummary | null;
  /** Distinct clients (estimated beyond the exact range). */
  readonly clients: number;
  /** This version's share of all requests in the span, 0–1. */
  readonly share: number;
}

/**
 * What part of the sliding window to read.
 *
 * @example
 * ```ts
 * stats.window({ windowMs: 300_000, since: stepStartedAt });
 * ```
 */
export interface WindowQuery {
  /** Length of the span ending now, in ms; at most the stats' configured window. Default: the whole window. */
  readonly windowMs?: number;
  /** Ignore data recorded before this epoch-ms instant (e.g. the start of a rollout step). */
  readonly since?: number;
  /** The instant treated as "now". Default: the stats' clock. */
  readonly now?: number;
}

/**
 * The numbers per version over a span of the sliding window.
 *
 * @example
 * ```ts
 * const w = stats.window({ windowMs: 60_000 });
 * w.versions.v2?.errorRate;
 * ```
 */
export interface WindowSummary {
  /** Start of the span (epoch ms, aligned to the window's resolution). */
  readonly from: number;
  /** End of the span (epoch ms). */
  readonly to: number;
  /** Per version. */
  readonly versions: Readonly<Record<string, VersionStats>>;
  /** All versions together (`share` is 1 when there was any traffic). */
  readonly totals: VersionStats;
}

/**
 * Anything the rollout's health analysis can read: a live `Stats`, or a merged fleet view.
 *
 * @example
 * ```ts
 * const reader: StatsReader = createStats();
 * ```
 */
export interface StatsReader {
  /** The per-version numbers over (part of) the sliding window. */
  window(query?: WindowQuery): WindowSummary;
}

/**
 * How a routed request ended, as integrations report it.
 *
 * @example
 * ```ts
 * stats.recordOutcome(decision, { status: res.statusCode, durationMs: 12.5, client: userId });
 * ```
 */
export interface Outcome {
  /** The HTTP status; ≥ 500 counts as a failure. */
  readonly status?: number;
  /** A thrown error or network failure; its presence counts as a failure. */
  readonly error?: unknown;
  /** Explicit verdict, overriding `status` and `error`. */
  readonly ok?: boolean;
  /** Duration in milliseconds. */
  readonly durationMs?: number;
  /** A client identifier for distinct-client counts. */
  readonly client?: string;
}

/**
 * The part of `Stats` that integrations use to record outcomes.
 *
 * @example
 * ```ts
 * const recorder: OutcomeRecorder = createStats();
 * recorder.recordOutcome(decision, { status: 200, durationMs: 8 });
 * ```
 */
export interface OutcomeRecorder {
  /** Records one request's outcome for the decision's version; returns false if the input was rejected. */
  recordOutcome(decision: Pick<Decision, "version">, outcome: Outcome): boolean;
}

/**
 * `createRouter`: owns the compiled config in force, swaps it atomically on update, and serves decisions.
 */
import { Problems, typeName } from "../internal/problems.js";
import type { Assignment, Decision, Explanation, Logger, RouteRequest, Router, RouterChange, RouterConfig, RouterOptions } from "../types.js";
import { type Compiled, compile } from "./compile.js";
import { type Trace, decideWith, readKey } from "./decide.js";
import { ROUTER_INTERNALS, type RouterInternals } from "./internals.js";
import { bagOf, getterOf } from "./request.js";
import { type FastDecide, fastDecide } from "./fast.js";
import { bucketOf } from "./hash.js";
import { hmacSha256 } from "./hmac.js";
import { encodePin, instant, pinKeys } from "./pin.js";
import { configProblems } from "./validate.js";

const DEFAULT_PIN_SECRET = "turnout";

/**
 * Compiles `config` into a {@link Router}. Throws `TurnoutConfigError` listing every problem when the config (or an
 * option) is invalid.
 *
 * @example
 * ```ts
 * const router = createRouter({
 *   versions: ["v1", "v2"],
 *   stable: "v1",
 *   canary: "v2",
 *   split: { v1: 90, v2: 10 },
 *   stickiness: ["header:x-user-id", "key"],
 *   overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
 * });
 * const decision = router.decide({ headers: { "x-user-id": "user-123" } });
 * decision.version; // "v1" — and the same for user-123 on every call, every instance
 * ```
 */
export function createRouter(config: RouterConfig, options: RouterOptions = {}): Router {
  const problems = configProblems(config);
  checkOptions(options, problems);
  const secretOption: unknown = options.overrideSecret;
  const overrideSecrets: readonly string[] =
    typeof secretOption === "string"
      ? [secretOption]
      : Array.isArray(secretOption)
        ? secretOption.filter((s): s is string => typeof s === "string" && s !== "")
        : [];
  checkOverrideSecrets(config, overrideSecrets, problems);
  problems.throwIfAny("router configuration");

  const rng = options.rng ?? Math.random;
  const logger = options.logger;
  const keys = pinKeys(options.pinSigner ?? hmacSha256, options.pinSecret ?? DEFAULT_PIN_SECRET, options.previousPinSecrets ?? [], options.clock ?? now);
  const codegen = options.codegen ?? true;
  let compiled: Compiled = compile(freezeClone(config), options.revision ?? 1, keys, overrideSecrets);
  let run: FastDecide = decider(compiled);
  const listeners = new Set<(change: RouterChange) => void>();

  /** The generated decide for `c` when allowed and possible, else the generic one. */
  function decider(c: Compiled): FastDecide {
    return (codegen ? fastDecide(c, rng) : undefined) ?? ((input: unknown) => decideWith(c, input, rng, undefined));
  }

  // Hot path: everything was computed by `compile`; decide only reads the request, hashes and returns.
  // (Kept tiny, the fault handling in a function of its own, so that V8 can inline decide and the generated code.)
  function decide(request: RouteRequest): Decision {
    try {
      return run(request);
    } catch (error) {
      return fault(error);
    }
  }

  function fault(error: unknown): Decision {
    report(logger, "turnout: decide failed; routing to the stable version", error);
    return compiled.error.decision(false, 0);
  }

  const internals: RouterInternals = {
    decide(request, onFault) {
      try {
        return run(request);
      } catch (error) {
        const fallback = fault(error);
        try {
          onFault(error);
        } catch {
          // The caller's report failed; the request is still answered.
        }
        return fallback;
      }
    },
    fallback: () => compiled.error.decision(false, 0),
    stickyKey(request) {
      const headers = bagOf(request.headers);
      return readKey(compiled.keySources, request, headers, getterOf(headers), undefined);
    },
  };

  function update(next: RouterConfig, updateOptions?: { readonly revision?: number }): number {
    const found = configProblems(next);
    const revision = updateOptions?.revision ?? compiled.revision + 1;
    checkRevision(revision, "revision", found);
    checkOverrideSecrets(next, overrideSecrets, found);
    found.throwIfAny("router configuration");
    const previousRevision = compiled.revision;
    const nextCompiled = compile(freezeClone(next), revision, keys, overrideSecrets);
    const nextRun = decider(nextCompiled);
    compiled = nextCompiled;
    run = nextRun;
    const change: RouterChange = Object.freeze({ revision, previousRevision, config: compiled.config });
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch (error) {
        report(logger, "turnout: a router subscriber threw", error);
      }
    }
    return revision;
  }

  function setCanaryPercent(percent: number): number {
    const c = compiled;
    const found = new Problems();
    let canary = c.canary;
    if (canary < 0 && c.versions.length === 2) canary = c.stable === 0 ? 1 : 0;
    if (canary < 0) found.add("required", "canary", "setCanaryPercent needs a configured canary (or exactly two versions)");
    if (typeof percent !== "number" || !Number.isFinite(percent)) {
      found.add(typeof percent === "number" ? "not_finite" : "type", "percent", `expected a finite number, got ${typeName(percent)} ${String(percent)}`);
    } else if (percent < 0 || percent > 100) {
      found.add("out_of_range", "percent", `expected 0–100, got ${percent}`);
    }
    found.throwIfAny("canary percentage");
    const total = c.bucketCounts.reduce((sum, count) => sum + count, 0);
    const split: Record<string, number> = {};
    let others = 0;
    c.versions.forEach((name, i) => {
      if (i === canary || i === c.stable) return;
      const share = round6(((c.bucketCounts[i] as number) / total) * 100);
      if (share > 0) split[name] = share;
      others += share;
    });
    if (others + percent > 100 + 1e-9) {
      found.add("out_of_range", "percent", `other versions hold ${round6(others)} %; the canary can have at most ${round6(100 - others)} %`);
      found.throwIfAny("canary percentage");
    }
    split[c.versions[canary] as string] = percent;
    split[c.versions[c.stable] as string] = Math.max(0, round6(100 - percent - others));
    return update({ ...c.config, canary: c.versions[canary] as string, split });
  }

  function issuePin(version: string, expiresAt: number): string {
    const c = compiled;
    const i = typeof version === "string" ? c.index.get(version) : undefined;
    if (i === undefined || typeof expiresAt !== "number" || !Number.isFinite(expiresAt) || expiresAt < 0) return "";
    const seconds = Math.ceil(expiresAt / 1000);
    const last = c.issuedPins[i];
    if (last !== undefined && last.seconds === seconds) return last.pin;
    const pin = encodePin(version, c.revision, keys, seconds);
    c.issuedPins[i] = { seconds, pin };
    c.knownPins.set(pin, { version: i, expiresAt: seconds * 1000 });
    return pin;
  }

  function explain(request: RouteRequest): Explanation {
    const trace: Trace = { steps: [] };
    let decision: Decision;
    try {
      decision = decideWith(compiled, request, rng, trace);
    } catch (error) {
      trace.steps.push(Object.freeze({ rule: "error", kind: "error", matched: true, detail: `fault: ${String(error)}` }));
      decision = compiled.error.decision(false, 0);
    }
    const explanation: { -readonly [K in keyof Explanation]: Explanation[K] } = { decision, steps: Object.freeze(trace.steps) };
    if (trace.key !== undefined) explanation.key = Object.freeze(trace.key);
    if (trace.bucket !== undefined) explanation.bucket = trace.bucket;
    return Object.freeze(explanation);
  }

  function assign(experimentName: string, key: string): Assignment | undefined {
    if (typeof experimentName !== "string" || typeof key !== "string" || key === "") return undefined;
    const experiment = compiled.experimentsByName.get(experimentName);
    if (experiment === undefined) return undefined;
    let bucket: number;
    let variantIndex: number;
    if (experiment.chooser === undefined) {
      bucket = bucketOf(key, experiment.seed);
      variantIndex = experiment.table[bucket] as number;
    } else {
      variantIndex = experiment.chooser.choose(key);
      if (variantIndex < 0) return undefined; // not enrolled under the experiment's bucketing scheme
      bucket = Math.min(9_999, Math.floor(experiment.chooser.position(key) * 10_000));
    }
    const variant = experiment.variants[variantIndex]!;
    const version = variant.slot?.base.version;
    return Object.freeze(
      version === undefined
        ? { experiment: experiment.name, variant: variant.name, bucket }
        : { experiment: experiment.name, variant: variant.name, version, bucket },
    );
  }

  // The methods first, as an object literal without accessors, then the accessors added to it: a literal with
  // getters is built in V8's dictionary mode, where every `router.decide` costs a generic property lookup.
  const methods: Omit<Router, "config" | "revision" | "canaryPercent"> = {
    decide,
    assign,
    update,
    setSplit: (weights) => update({ ...compiled.config, split: weights }),
    setCanaryPercent,
    issuePin,
    explain,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return Object.defineProperties(methods, {
    [ROUTER_INTERNALS]: { value: Object.freeze(internals), enumerable: false },
    config: { get: () => compiled.config, enumerable: true, configurable: true },
    revision: { get: () => compiled.revision, enumerable: true, configurable: true },
    canaryPercent: {
      get: () => (compiled.canary < 0 ? 0 : (compiled.bucketCounts[compiled.canary] as number) / 100),
      enumerable: true,
      configurable: true,
    },
  }) as Router;
}

function checkOptions(options: unknown, problems: Problems): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    problems.add("type", "options", `expected an object, got ${typeName(options)}`);
    return;
  }
  const { rng, revision, pinSecret, previousPinSecrets, pinSigner, clock, logger, codegen, overrideSecret } = options as Record<string, unknown>;
  if (
    overrideSecret !== undefined &&
    !(typeof overrideSecret === "string" && overrideSecret !== "") &&
    !(Array.isArray(overrideSecret) && overrideSecret.every((s: unknown) => typeof s === "string" && s !== ""))
  ) {
    problems.add("type", "options.overrideSecret", "expected a non-empty string or an array of them");
  }
  if (rng !== undefined && typeof rng !== "function") problems.add("type", "options.rng", `expected a function returning [0, 1), got ${typeName(rng)}`);
  if (revision !== undefined) checkRevision(revision, "options.revision", problems);
  if (codegen !== undefined && typeof codegen !== "boolean") problems.add("type", "options.codegen", `expected a boolean, got ${typeName(codegen)}`);
  if (pinSecret !== undefined && (typeof pinSecret !== "string" || pinSecret === "")) {
    problems.add("type", "options.pinSecret", "expected a non-empty string");
  }
  if (previousPinSecrets !== undefined) {
    if (!Array.isArray(previousPinSecrets)) problems.add("type", "options.previousPinSecrets", "expected an array of secrets or { secret, until }");
    else {
      previousPinSecrets.forEach((entry: unknown, i) => {
        const path = `options.previousPinSecrets[${i}]`;
        if (typeof entry === "string" && entry !== "") return;
        const { secret, until } = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
        if (typeof secret !== "string" || secret === "") problems.add("type", `${path}.secret`, "expected a non-empty string");
        if ((typeof until !== "number" && typeof until !== "string") || Number.isNaN(instant(until))) {
          problems.add("invalid_value", `${path}.until`, "expected epoch milliseconds or an ISO 8601 date");
        }
      });
    }
  }
  if (clock !== undefined && typeof clock !== "function")
    problems.add("type", "options.clock", `expected a function returning epoch ms, got ${typeName(clock)}`);
  if (pinSigner !== undefined) checkSigner(pinSigner, problems);
  if (
    logger !== undefined &&
    (typeof logger !== "object" || logger === null || typeof (logger as Logger).warn !== "function" || typeof (logger as Logger).error !== "function")
  ) {
    problems.add("type", "options.logger", "expected an object with warn() and error() methods (console works)");
  }
}

/** An override marked `secret: true` needs a secret to compare with: without one it could never match. */
function checkOverrideSecrets(config: RouterConfig, secrets: readonly string[], problems: Problems): void {
  if (secrets.length > 0 || !Array.isArray(config?.overrides)) return;
  config.overrides.forEach((override, i) => {
    if (override?.secret === true) problems.add("required", `overrides[${i}].secret`, "a secret override needs the router option overrideSecret");
  });
}

/** RFC 4231, test case 2: a signer that does not give this is not HMAC-SHA-256. */
const HMAC_CHECK = { key: "Jefe", data: "what do ya want for nothing?", mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" };

function checkSigner(signer: unknown, problems: Problems): void {
  let mac: unknown;
  try {
    mac = typeof signer === "function" ? (signer as (secret: string) => (data: string) => unknown)(HMAC_CHECK.key)(HMAC_CHECK.data) : undefined;
  } catch {
    mac = undefined;
  }
  if (typeof mac !== "string" || mac.toLowerCase() !== HMAC_CHECK.mac) {
    problems.add("invalid_value", "options.pinSigner", "expected (secret) => (data) => HMAC-SHA-256 as hex (it fails RFC 4231's test case 2)");
  }
}

/** `Date.now`, reached through `globalThis` so that the core needs no Node or DOM types. */
function now(): number {
  return (globalThis as unknown as { Date: { now(): number } }).Date.now();
}

function checkRevision(revision: unknown, path: string, problems: Problems): void {
  if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 0) {
    problems.add("out_of_range", path, `expected a non-negative safe integer, got ${String(revision)}`);
  }
}

function report(logger: Logger | undefined, message: string, error: unknown): void {
  if (logger === undefined) return;
  try {
    logger.error(message, { error });
  } catch {
    // A broken logger must not break routing.
  }
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** A deep, frozen copy of validated JSON-like data; `undefined` fields are dropped. */
function freezeClone<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map((item: unknown) => freezeClone(item))) as T;
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) copy[key] = freezeClone(field);
    }
    return Object.freeze(copy) as T;
  }
  return value;
}

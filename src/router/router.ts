/**
 * `createRouter`: owns the compiled config in force, swaps it atomically on update, and serves decisions.
 */
import { Problems, typeName } from "../internal/problems.js";
import type {
  Assignment,
  Decision,
  Explanation,
  Logger,
  RouteRequest,
  Router,
  RouterChange,
  RouterConfig,
  RouterOptions,
} from "../types.js";
import { type Compiled, compile } from "./compile.js";
import { type Trace, decideWith } from "./decide.js";
import { type FastDecide, fastDecide } from "./fast.js";
import { bucketOf, seedOf } from "./hash.js";
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
  problems.throwIfAny("router configuration");

  const rng = options.rng ?? Math.random;
  const logger = options.logger;
  const pinSeed = seedOf(options.pinSecret ?? DEFAULT_PIN_SECRET);
  const codegen = options.codegen ?? true;
  let compiled: Compiled = compile(freezeClone(config), options.revision ?? 1, pinSeed);
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

  function update(next: RouterConfig, updateOptions?: { readonly revision?: number }): number {
    const found = configProblems(next);
    const revision = updateOptions?.revision ?? compiled.revision + 1;
    checkRevision(revision, "revision", found);
    found.throwIfAny("router configuration");
    const previousRevision = compiled.revision;
    const nextCompiled = compile(freezeClone(next), revision, pinSeed);
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
    explain,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return Object.defineProperties(methods, {
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
  const { rng, revision, pinSecret, logger, codegen } = options as Record<string, unknown>;
  if (rng !== undefined && typeof rng !== "function") problems.add("type", "options.rng", `expected a function returning [0, 1), got ${typeName(rng)}`);
  if (revision !== undefined) checkRevision(revision, "options.revision", problems);
  if (codegen !== undefined && typeof codegen !== "boolean") problems.add("type", "options.codegen", `expected a boolean, got ${typeName(codegen)}`);
  if (pinSecret !== undefined && (typeof pinSecret !== "string" || pinSecret === "")) {
    problems.add("type", "options.pinSecret", "expected a non-empty string");
  }
  if (
    logger !== undefined &&
    (typeof logger !== "object" || logger === null || typeof (logger as Logger).warn !== "function" || typeof (logger as Logger).error !== "function")
  ) {
    problems.add("type", "options.logger", "expected an object with warn() and error() methods (console works)");
  }
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

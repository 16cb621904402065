// turnout/openfeature: an OpenFeature server provider that resolves flags through turnout routers. The evaluation
// context becomes the route request; the variant is the version.

import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
  type TrackingEventDetails,
} from "@openfeature/server-sdk";
import type { Decision, OutcomeRecorder, RouteRequest, Router } from "../types.js";

/**
 * Options of {@link createOpenFeatureProvider}.
 *
 * @example
 * ```ts
 * const provider = createOpenFeatureProvider({ flags: { "checkout-version": router }, stats });
 * ```
 */
export interface OpenFeatureProviderOptions {
  /** The routers, by flag key: evaluating a flag decides a request with its router. */
  readonly flags: Readonly<Record<string, Router>>;
  /** Where `client.track(…)` events go as outcomes of the version the context resolves to (turnout's `Stats`). */
  readonly stats?: OutcomeRecorder;
  /** The provider's name in OpenFeature's metadata. Default `"turnout"`. */
  readonly name?: string;
}

type Resolved<T> = ResolutionDetails<T>;

const TARGETED: ReadonlySet<string> = new Set(["explicit_version", "header_match", "pinned", "segment_match", "experiment"]);
const DEFAULTED: ReadonlySet<string> = new Set(["fallback", "unknown_version"]);

/** The route request an evaluation context stands for: `targetingKey` is the sticky key, the rest attributes. */
export function requestOf(context: EvaluationContext): RouteRequest {
  const attributes: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(context ?? {})) {
    if (name === "targetingKey") continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") attributes[name] = value;
    else if (value instanceof Date) attributes[name] = value.toISOString();
  }
  const key = context?.targetingKey;
  return typeof key === "string" && key !== "" ? { key, attributes } : { attributes };
}

/** The OpenFeature reason of a decision: targeting, the split, a split with one version only (static), or a fallback. */
function reasonOf(router: Router, decision: Decision): string {
  if (TARGETED.has(decision.reason)) return StandardResolutionReasons.TARGETING_MATCH;
  if (DEFAULTED.has(decision.reason)) return StandardResolutionReasons.DEFAULT;
  if (decision.reason === "error") return StandardResolutionReasons.ERROR;
  const config = router.config;
  const live = config.split === undefined ? 1 : Object.values(config.split).filter((w) => w > 0).length;
  return live <= 1 ? StandardResolutionReasons.STATIC : StandardResolutionReasons.SPLIT;
}

function failed<T>(value: T, errorCode: ErrorCode, errorMessage: string): Resolved<T> {
  return { value, reason: StandardResolutionReasons.ERROR, errorCode, errorMessage };
}

/**
 * An OpenFeature server provider backed by turnout routers: a string flag resolves to the version (the variant
 * too), a boolean flag to whether the request goes to a version other than the stable one. Reasons are mapped
 * (`TARGETING_MATCH` for overrides, pins, segments and experiments; `SPLIT` for the weighted split; `STATIC` when
 * one version has all the weight; `DEFAULT` for fallbacks; `ERROR` with an error code), and `flagMetadata` carries
 * turnout's own reason and the router's revision. Evaluation never throws. A router update emits
 * `PROVIDER_CONFIGURATION_CHANGED`; `client.track(name, context, { ok, durationMs, status, flag })` records an
 * outcome for the version the context resolves to (by `flag`'s router, default the first) in `stats`: `ok: false`
 * is a failure, `durationMs` (or the event's `value`) its latency.
 *
 * @example
 * ```ts compile-only
 * import { OpenFeature } from "@openfeature/server-sdk";
 * import { createOpenFeatureProvider } from "turnout/openfeature";
 * await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout: router }, stats }));
 * const version = await OpenFeature.getClient().getStringValue("checkout", "v1", { targetingKey: userId, country: "de" });
 * ```
 */
export function createOpenFeatureProvider(options: OpenFeatureProviderOptions): Provider & {
  /** The provider's event emitter: emits `PROVIDER_CONFIGURATION_CHANGED` with the flag's name when its router is updated. */
  readonly events: OpenFeatureEventEmitter;
} {
  const flags = options.flags;
  const events = new OpenFeatureEventEmitter();
  const unsubscribe: (() => void)[] = [];
  for (const [flag, router] of Object.entries(flags)) {
    unsubscribe.push(
      router.subscribe(() => {
        events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [flag] });
      }),
    );
  }
  const routerOf = (flag: string): Router | undefined => (Object.hasOwn(flags, flag) ? flags[flag] : undefined);

  const resolve = <T>(flag: string, defaultValue: T, context: EvaluationContext, valueOf: (router: Router, decision: Decision) => T): Resolved<T> => {
    try {
      const router = routerOf(flag);
      if (router === undefined) return failed(defaultValue, ErrorCode.FLAG_NOT_FOUND, `turnout has no router for flag "${flag}"`);
      const decision = router.decide(requestOf(context));
      const flagMetadata = { turnoutReason: decision.reason, revision: router.revision };
      if (decision.reason === "error") return { ...failed(defaultValue, ErrorCode.GENERAL, "the router failed to decide; see its logger"), flagMetadata };
      return { value: valueOf(router, decision), variant: decision.version, reason: reasonOf(router, decision), flagMetadata };
    } catch (error) {
      return failed(defaultValue, ErrorCode.GENERAL, error instanceof Error ? error.message : String(error));
    }
  };
  const mismatch = <T>(flag: string, defaultValue: T, kind: string): Resolved<T> =>
    failed(defaultValue, ErrorCode.TYPE_MISMATCH, `flag "${flag}" resolves to a version name (a string) or a boolean, not ${kind}`);

  return {
    metadata: { name: options.name ?? "turnout" },
    runsOn: "server",
    events,
    hooks: [],
    async resolveStringEvaluation(flag, defaultValue, context) {
      return resolve(flag, defaultValue, context, (_router, decision) => decision.version);
    },
    async resolveBooleanEvaluation(flag, defaultValue, context) {
      return resolve(flag, defaultValue, context, (router, decision) => decision.version !== router.config.stable);
    },
    async resolveNumberEvaluation(flag, defaultValue) {
      return mismatch(flag, defaultValue, "a number");
    },
    async resolveObjectEvaluation<T extends JsonValue>(flag: string, defaultValue: T) {
      return mismatch(flag, defaultValue, "an object");
    },
    track(_name: string, context: EvaluationContext, details: TrackingEventDetails) {
      const stats = options.stats;
      if (stats === undefined) return;
      try {
        const flag = typeof details?.flag === "string" ? details.flag : Object.keys(flags)[0];
        const router = flag === undefined ? undefined : routerOf(flag);
        if (router === undefined) return;
        const version = router.decide(requestOf(context)).version;
        const ok = details?.ok !== false;
        const durationMs = typeof details?.durationMs === "number" ? details.durationMs : typeof details?.value === "number" ? details.value : undefined;
        const status = typeof details?.status === "number" ? details.status : undefined;
        stats.recordOutcome({ version }, { ok, ...(durationMs === undefined ? {} : { durationMs }), ...(status === undefined ? {} : { status }) });
      } catch {
        // Tracking is fire-and-forget: it must never break the caller.
      }
    },
    async onClose() {
      for (const stop of unsubscribe.splice(0)) stop();
    },
  };
}

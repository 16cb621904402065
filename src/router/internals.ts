/**
 * What turnout's own HTTP engine asks of a router made by `createRouter`, beyond the public `Router`: the fault a
 * decision fell back on, the stable version's fallback decision (with its pin), and the request's sticky key.
 * Reached through a registered symbol, so that it is found even when the core and an integration were loaded
 * from two copies of the package (the ESM and the CommonJS build). A router made some other way has none: the
 * engine then does without.
 */
import type { Decision, RouteRequest, Router } from "../types.js";

/** The property under which a router keeps its {@link RouterInternals}. */
export const ROUTER_INTERNALS: symbol = Symbol.for("turnout.router.internals");

/** A router's internals (see the module comment). */
export interface RouterInternals {
  /** `router.decide`, telling `onFault` the error when the decision fell back to the stable version. */
  decide(request: RouteRequest, onFault: (error: unknown) => void): Decision;
  /** The decision a fault falls back on: the stable version, reason `error`, with its pin. */
  fallback(): Decision;
  /** The request's sticky key under the config in force (the first present `stickiness` source), if any. */
  stickyKey(request: RouteRequest): string | undefined;
}

/** The internals of `router`, when it was made by `createRouter`. */
export function internalsOf(router: Router): RouterInternals | undefined {
  try {
    const internals = (router as unknown as Record<symbol, unknown>)[ROUTER_INTERNALS];
    return typeof internals === "object" && internals !== null ? (internals as RouterInternals) : undefined;
  } catch {
    return undefined;
  }
}

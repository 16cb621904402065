/** Router configurations and validators shared by the Express and Koa integration tests. */
import * as v from "valibot";
import { z } from "zod";
import type { RouterConfig } from "../../src/types.js";

export const LIFECYCLE_V1 = {
  deprecated: "2025-01-01T00:00:00Z",
  sunset: "2025-06-01T00:00:00Z",
  successor: "v2",
  successorUrl: "https://api.example.com/v2/",
  migrationGuide: "https://docs.example.com/migration/v1-to-v2",
  policy: "https://docs.example.com/deprecation-policy",
  sunsetInfo: "https://docs.example.com/sunset",
} as const;

/** Before v1's deprecation, between deprecation and sunset, and after sunset. */
export const BEFORE = Date.parse("2024-12-01T00:00:00Z");
export const DEPRECATED = Date.parse("2025-03-01T00:00:00Z");
export const AFTER_SUNSET = Date.parse("2025-07-01T00:00:00Z");

/** v1 and v2 keyed by `request.key`, with `v2` percent of the traffic on v2. */
export function splitConfig(v2: number, extra: Partial<RouterConfig> = {}): RouterConfig {
  return { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100 - v2, v2 }, stickiness: ["key"], ...extra };
}

/** v1 stable, v2 canary at 50 %, sticky on `x-user-id`, explicit versions by path (`/api/v2/…`) and header. */
export function baseConfig(overrides: Partial<RouterConfig> = {}): RouterConfig {
  return {
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 50, v2: 50 },
    stickiness: ["header:x-user-id", "key"],
    overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
    explicit: { path: { prefix: "/api" }, header: "x-api-version" },
    experiments: [
      {
        name: "checkout-flow-v2",
        paths: ["/api/checkout"],
        variants: [
          { name: "control", weight: 50 },
          { name: "treatment", weight: 50 },
        ],
      },
    ],
    ...overrides,
  };
}

/** v2 is stable and takes all new traffic; v1 is deprecated and sunset, still reachable by asking for it. */
export function retiringConfig(overrides: Partial<RouterConfig> = {}): RouterConfig {
  return baseConfig({ stable: "v2", canary: undefined, split: { v2: 100 }, overrides: [], lifecycle: { v1: LIFECYCLE_V1 }, ...overrides });
}

/** Seed 004's schemas: v1 takes `name` + `email`, v2 takes `first_name` + `last_name` + `email` (+ optional phone). */
export const userV1 = z.object({ name: z.string(), email: z.email() });
export const userV2 = v.object({
  first_name: v.pipe(v.string(), v.minLength(1)),
  last_name: v.pipe(v.string(), v.minLength(1)),
  email: v.pipe(v.string(), v.email()),
  phone: v.optional(v.pipe(v.string(), v.regex(/^\+[1-9]\d{1,14}$/))),
});

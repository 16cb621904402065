// turnout — the pure core. Named exports only; nothing here may import Node-specific modules.

export { ProblemCode, TurnoutConfigError, isTurnoutConfigError } from "./errors.js";
export type { ConfigProblem } from "./errors.js";

export { DecisionReason, KeylessMode, PinIgnored } from "./types.js";
export type {
  Assignment,
  Condition,
  Decision,
  DecisionExperiment,
  DecisionLifecycle,
  Experiment,
  ExperimentVariant,
  ExplainStep,
  Explanation,
  ExplicitSelection,
  GetLike,
  HeaderOverride,
  HeaderValue,
  LatencySummary,
  Lifecycle,
  Logger,
  MirrorRule,
  Outcome,
  OutcomeRecorder,
  RouteRequest,
  Router,
  RouterChange,
  RouterConfig,
  RouterOptions,
  Segment,
  StatsReader,
  StickinessSource,
  VersionStats,
  WindowQuery,
  WindowSummary,
} from "./types.js";

export { createRouter } from "./router/index.js";
export { BUCKETS, bucketOf, murmur3, seedOf } from "./router/index.js";
export { formatDuration, parseDuration } from "./internal/duration.js";
export type { Duration } from "./internal/duration.js";

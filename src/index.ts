// turnout — the pure core. Named exports only; nothing here may import Node-specific modules.

/**
 * The core: the router, the stats and the rollout machine. It imports nothing and runs in any JavaScript runtime.
 *
 * @module turnout
 */

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
  PinSigner,
  PreviousPinSecret,
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
export { hmacSha256 } from "./router/hmac.js";
export type {
  Bucketing,
  BucketingKeyless,
  FlagdBucketing,
  GrowthBookBucketing,
  LaunchDarklyBucketing,
  TurnoutBucketing,
  UnleashBucketing,
} from "./types.js";
export { BUCKETS, bucketOf, murmur3, seedOf } from "./router/index.js";
export { formatDuration, parseDuration } from "./internal/duration.js";
export type { Duration } from "./internal/duration.js";

export { createStats, emptySnapshot, largestRemainder, mergeSnapshots, MigrationReason, parseSnapshot, readSnapshot, RejectionReason, SNAPSHOT_FORMAT, SNAPSHOT_FORMATS } from "./stats/index.js";
export type {
  MigrationOptions,
  MigrationStatus,
  RawClients,
  RawCounts,
  RawLatency,
  RawSketch,
  RawSlice,
  RawVersion,
  SnapshotFormat,
  SnapshotReader,
  Stats,
  StatsOptions,
  StatsSample,
  StatsSnapshot,
  StatsWindow,
  VersionSummary,
  WindowClientPrecision,
} from "./stats/index.js";

export {
  analysisRequest,
  checkPlan,
  checkState,
  compilePlan,
  createRollout,
  evaluateFigures,
  evaluateHealth,
  HealthCriterion,
  HealthVerdict,
  InconclusivePolicy,
  initialState,
  isFinal,
  nextTickAt,
  PrometheusQueryError,
  prometheusProvider,
  resolveAnalysisSpec,
  RollbackMode,
  RolloutEventReason,
  RolloutEventType,
  RolloutFinish,
  RolloutPauseReason,
  RolloutPhase,
  RolloutStrategy,
  SimulationOutcome,
  simulateRollout,
  statusOf,
  transition,
  WebhookType,
} from "./rollout/index.js";
export type {
  AnalysisProvider,
  AnalysisRequest,
  AnalysisSpec,
  CustomProviderSpec,
  FetchLike,
  GateHold,
  PrometheusProviderOptions,
  PrometheusProviderSpec,
  PrometheusQueries,
  ProviderAnswer,
  ProviderFigures,
  ProviderRequest,
  ProviderSpec,
  ResolvedProvider,
  ResolvedWebhook,
  WebhookPayload,
  WebhookSpec,
  CheckCounts,
  CompiledPlan,
  ControlResult,
  CriterionResult,
  Health,
  ResolvedAnalysis,
  ResolvedStep,
  Rollout,
  RolloutChange,
  RolloutCommand,
  RolloutCommandType,
  RolloutEffect,
  RolloutEvent,
  RolloutOptions,
  RolloutPlan,
  RolloutState,
  RolloutStatus,
  RolloutStep,
  SimulationOptions,
  SimulationResult,
  TimelinePoint,
  Timers,
  TrafficModel,
  TransitionResult,
  VersionBehaviour,
  VersionFigures,
} from "./rollout/index.js";

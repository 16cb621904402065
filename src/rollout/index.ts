// The rollout: plan format, pure machine, health analysis, runner and simulator. Re-exports only.

export { checkPlan, compilePlan, resolveAnalysisSpec } from "./plan.js";
export { evaluateFigures, evaluateHealth } from "./analysis.js";
export { PrometheusQueryError, prometheusProvider } from "./prometheus.js";
export type { PrometheusProviderOptions } from "./prometheus.js";
export { analysisRequest, checkState, initialState, isFinal, nextTickAt, statusOf, transition } from "./machine.js";
export { createRollout } from "./runner.js";
export { simulateRollout } from "./simulate.js";
export {
  HealthCriterion,
  HealthVerdict,
  InconclusivePolicy,
  RollbackMode,
  RolloutEventReason,
  RolloutEventType,
  RolloutFinish,
  RolloutPauseReason,
  RolloutPhase,
  RolloutStrategy,
  SimulationOutcome,
  WebhookType,
} from "./types.js";
export type {
  AnalysisProvider,
  AnalysisRequest,
  CustomProviderSpec,
  FetchLike,
  GateHold,
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
  AnalysisSpec,
  CheckCounts,
  CompiledPlan,
  ControlResult,
  CriterionResult,
  Health,
  ResolvedAnalysis,
  ResolvedStep,
  Rollout,
  RolloutCommand,
  RolloutChange,
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
} from "./types.js";

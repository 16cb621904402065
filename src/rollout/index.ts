// The rollout: plan format, pure machine, health analysis, runner and simulator. Re-exports only.

export { checkPlan, compilePlan, resolveAnalysisSpec } from "./plan.js";
export { evaluateHealth } from "./analysis.js";
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
} from "./types.js";
export type {
  AnalysisRequest,
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

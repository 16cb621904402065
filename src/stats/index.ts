// The stats aggregator: per-version traffic, errors, latency quantiles, distinct clients, migration progress.
export { createStats } from "./stats.js";
export { emptySnapshot, mergeSnapshots, parseSnapshot, readSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_FORMATS } from "./snapshot.js";
export { largestRemainder } from "./percentages.js";
export { MigrationReason, RejectionReason } from "./types.js";
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
} from "./types.js";

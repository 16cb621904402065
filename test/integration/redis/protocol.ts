/** The IPC messages between the multi-process test and its worker and controller processes, and shared fixtures. */
import type { RolloutEvent } from "../../../src/rollout/types.js";
import type { RouterConfig } from "../../../src/types.js";

/** What a worker routes with until Redis answers: everything to v1. */
export const FALLBACK: RouterConfig = { versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 }, stickiness: ["key"] };

/** The fixed keys whose decisions every worker must agree on. */
export const FLEET_KEYS: readonly string[] = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

export type ToWorker = { readonly type: "digest" } | { readonly type: "stop" };
export type FromWorker =
  | { readonly type: "ready"; readonly worker: string; readonly revision: number }
  | { readonly type: "applied"; readonly worker: string; readonly revision: number; readonly weight: number; readonly via: string; readonly at: number }
  | { readonly type: "digest"; readonly worker: string; readonly revision: number; readonly digest: string };

export type ToController = { readonly type: "start" } | { readonly type: "stop" };
export type FromController =
  | { readonly type: "ready"; readonly controller: string; readonly leading: boolean }
  | { readonly type: "leading"; readonly controller: string; readonly leading: boolean }
  | { readonly type: "event"; readonly controller: string; readonly event: RolloutEvent }
  | { readonly type: "started"; readonly controller: string; readonly accepted: boolean; readonly rejection: string | null }
  | { readonly type: "error"; readonly controller: string; readonly stage: string; readonly message: string };

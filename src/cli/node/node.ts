/**
 * `turnout node`, the JSON-lines server for other languages and test harnesses, as a thin layer over the library: every answer comes from a real
 * router (`decide`, `assign`, `setSplit`, `setCanaryPercent`), a real stats aggregator (`snapshot`) or the real
 * rollout machine on a virtual clock (`simulateRollout`). This file only reads messages, calls the library and
 * shapes the replies the way the seeds show them.
 */
import {
  type AnalysisSpec,
  type ConfigProblem,
  type Decision,
  DecisionReason,
  type KeylessMode,
  type RolloutPlan,
  type RolloutStep,
  type Router,
  type RouterConfig,
  type Stats,
  type TrafficModel,
  createRouter,
  createStats,
  isTurnoutConfigError,
  simulateRollout,
} from "../../index.js";
import { type Frame, formatLine } from "./wire.js";

/**
 * The error codes of the JSON-lines protocol (the ones common distributed-systems test harnesses use): the `code` of an error reply.
 *
 * @example
 * ```ts
 * if (reply.code === ErrorCode.NotSupported) console.log("this node does not know", reply.text);
 * ```
 */
export const ErrorCode = {
  /** The message type is not one this node serves. */
  NotSupported: 10,
  /** The message is not JSON, not an object, or has a missing or bad field (see `problems`). */
  MalformedRequest: 12,
  /** An unexpected fault while serving the message; the node goes on serving. */
  Crash: 13,
} as const;
/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Header rules of the default configuration: a client (or QA) forces a version with a header, beating the weights
 * (reason `header_match`). Values are compared exactly, after lower-casing the header name.
 *
 * @example
 * ```ts
 * // { "type": "route", "msg_id": 2, "headers": { "x-beta": "true" } } → v2, header_match
 * ```
 */
export const DEFAULT_HEADER_RULES = [
  { header: "x-beta", values: ["true", "1", "yes"], version: "v2" },
  { header: "x-canary", values: ["true", "1", "yes"], version: "v2" },
  { header: "x-api-version", values: ["v1", "1"], version: "v1" },
  { header: "x-api-version", values: ["v2", "2"], version: "v2" },
] as const;

/** The experiment `assign_variant` uses unless the message names another: A and B, half each. */
export const DEFAULT_EXPERIMENT = {
  name: "ab",
  variants: [
    { name: "A", weight: 50 },
    { name: "B", weight: 50 },
  ],
} as const;

/**
 * The router configuration every service starts from when no `--config` is given: v1 stable with all the traffic,
 * v2 the canary at 0 %, the default header rules, the A/B experiment, and keyless requests by weighted round-robin
 * (exact proportions, the heaviest version first).
 *
 * @example
 * ```ts
 * createRouter(defaultNodeConfig("round-robin")).decide({}).version; // "v1"
 * ```
 */
export function defaultNodeConfig(keyless: KeylessMode = "round-robin"): RouterConfig {
  return {
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 100, v2: 0 },
    keyless,
    overrides: DEFAULT_HEADER_RULES,
    experiments: [DEFAULT_EXPERIMENT],
  };
}

/**
 * The synthetic traffic `gradual_rollout` simulates unless the message brings its own `traffic`: 1,000 requests
 * per second, stable and canary equally healthy (0.5 % errors, p50 40 ms, p99 200 ms), seed 1.
 */
export const DEFAULT_ROLLOUT_TRAFFIC: TrafficModel = {
  requestsPerSecond: 1000,
  stable: { errorPercent: 0.5, latencyMs: { p50: 40, p99: 200 } },
  canary: { errorPercent: 0.5, latencyMs: { p50: 40, p99: 200 } },
  seed: 1,
};

/**
 * The health analysis of `gradual_rollout` unless the message brings its own `analysis`: the canary fails a check
 * when its error rate is more than 1 point above the stable's or its p99 more than twice the stable's; too little
 * traffic to judge lets the step go on (`onInconclusive: "continue"`). Checks run every minute, or every 1/60 of a
 * long step, over the last 5 minutes (at least one interval).
 */
export const DEFAULT_ROLLOUT_ANALYSIS: AnalysisSpec = {
  maxErrorRateIncrease: 1,
  maxP99Ratio: 2,
  onInconclusive: "continue",
};

/**
 * Options of {@link createNode}.
 *
 * @example
 * ```ts
 * const node = createNode({ envelope: true, stats: { window: "1m", minRequests: 100 } });
 * ```
 */
export interface NodeOptions {
  /** The router configuration of every service. Default {@link defaultNodeConfig}. */
  readonly config?: RouterConfig;
  /** The service that messages without a `service` field address. Default `"api"`. */
  readonly service?: string;
  /** Wrap replies as `{ src, dest, body }`. Default false: the bare reply body, as the seeds show it. */
  readonly envelope?: boolean;
  /** The stats behind `get_migration_stats`. Defaults: window `"1m"`, resolution `"1s"`, minRequests 100. */
  readonly stats?: { readonly window?: string | number; readonly resolution?: string | number; readonly minRequests?: number };
  /** Random numbers for keyless `random` routing. Default `Math.random`. */
  readonly rng?: () => number;
  /** Epoch milliseconds for the stats. Default `Date.now`. */
  readonly clock?: () => number;
  /** The reply's `src` when a message names no `dest`. Default `"turnout"`. */
  readonly nodeId?: string;
  /** Most services the node keeps (each `update_canary` for a new name creates one). Default 1000. */
  readonly maxServices?: number;
}

/**
 * A running node: turns each framed input into exactly one reply line.
 *
 * @example
 * ```ts
 * const node = createNode();
 * node.reply({ kind: "value", value: { body: { type: "route", msg_id: 1 }, traffic_split: { v1: 80, v2: 20 } } });
 * // '{"type": "routed", "in_reply_to": 1, "version": "v1", "reason": "weighted_routing"}'
 * ```
 */
export interface TurnoutNode {
  /** The reply line (without a newline) for one input. Never throws. */
  reply(frame: Frame): string;
}

/** A problem found in a message, reported in the error reply's `problems`. */
interface MessageProblem {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    text: string,
    readonly problems: readonly MessageProblem[] = [],
  ) {
    super(text);
  }
}

interface Service {
  readonly name: string;
  readonly router: Router;
  readonly stats: Stats;
}

type Body = Record<string, unknown>;
type Reply = Record<string, unknown>;

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Clients longer than this are counted as requests without a client (the stats' limit). */
const MAX_CLIENT = 1024;
const MAX_SERVICE_NAME = 128;
/** A rollout step longer than this gets checks every 1/60 of its hold instead of every minute. */
const CHECKS_PER_STEP = 60;
/** Simulated traffic is generated in about this many slices over the whole plan (but slices of at least 10 s). */
const SLICES_PER_PLAN = 20_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function malformed(code: string, path: string, message: string): RequestError {
  return new RequestError(ErrorCode.MalformedRequest, `${path}: ${message}`, [{ code, path, message: `${path}: ${message}` }]);
}

/** Re-labels a library error's problems with the message's own field names. */
function fromConfigError(error: unknown, rename: (path: string) => string): RequestError {
  if (!isTurnoutConfigError(error)) throw error;
  const problems = error.problems.map((p: ConfigProblem) => {
    const path = rename(p.path);
    const message = p.message.startsWith(`${p.path}: `) ? `${path}: ${p.message.slice(p.path.length + 2)}` : p.message;
    return { code: p.code, path, message };
  });
  return new RequestError(ErrorCode.MalformedRequest, problems.map((p) => p.message).join("; "), problems);
}

function prefixed(prefix: string): (path: string) => string {
  return (path) => (path === "" ? prefix : path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`);
}

/**
 * Creates the node. Throws `TurnoutConfigError` when `options.config` or the stats options are invalid (checked
 * once here, so that a bad `--config` fails at start, not at the first message).
 *
 * @example
 * ```ts
 * const node = createNode();
 * process.stdin.on("data", …) // see ./command.ts
 * ```
 */
export function createNode(options: NodeOptions = {}): TurnoutNode {
  const template = options.config ?? defaultNodeConfig();
  const defaultService = options.service ?? "api";
  const maxServices = options.maxServices ?? 1000;
  const rng = options.rng ?? Math.random;
  const clock = options.clock ?? Date.now;
  const statsOptions = { window: options.stats?.window ?? "1m", resolution: options.stats?.resolution ?? "1s", minRequests: options.stats?.minRequests ?? 100 };
  const services = new Map<string, Service>();
  let nodeId = options.nodeId ?? "turnout";

  function openService(name: string): Service {
    const found = services.get(name);
    if (found !== undefined) return found;
    if (services.size >= maxServices) throw malformed("too_long", "service", `this node keeps at most ${maxServices} services`);
    const router = createRouter(template, { rng });
    const { stable, versions } = router.config;
    const canary = router.config.canary ?? (versions.length === 2 ? versions.find((v) => v !== stable) : undefined);
    const stats = createStats({
      window: statsOptions.window,
      resolution: statsOptions.resolution,
      clock,
      ...(canary === undefined ? {} : { migration: { from: stable, to: canary, minRequests: statsOptions.minRequests } }),
    });
    const service = { name, router, stats };
    services.set(name, service);
    return service;
  }
  // The default service exists from the start: a bad config or stats option fails here, at start.
  openService(defaultService);

  function serviceOf(body: Body): Service {
    const name = own(body, "service");
    if (name === undefined) return openService(defaultService);
    if (typeof name !== "string") throw malformed("type", "service", `expected a service name (string), got ${typeName(name)}`);
    if (name === "" || name.length > MAX_SERVICE_NAME) throw malformed("out_of_range", "service", `expected 1 to ${MAX_SERVICE_NAME} characters`);
    return openService(name);
  }

  /** Settings carried by a message (seed format: beside `body` in the envelope) change the service's router. */
  function applySettings(service: Service, settings: Body): void {
    const split = own(settings, "traffic_split");
    if (split !== undefined) applySplit(service.router, split);
    const percent = own(settings, "canary_percentage");
    if (percent !== undefined) {
      if (typeof percent !== "number") throw malformed("type", "canary_percentage", `expected a number 0-100, got ${typeName(percent)}`);
      if (service.router.canaryPercent !== percent) {
        try {
          service.router.setCanaryPercent(percent);
        } catch (error) {
          throw fromConfigError(error, (path) => (path === "percent" ? "canary_percentage" : path));
        }
      }
    }
  }

  function applySplit(router: Router, split: unknown): void {
    if (!isRecord(split)) throw malformed("type", "traffic_split", `expected weights per version such as {"v1": 90, "v2": 10}, got ${typeName(split)}`);
    const current = router.config;
    if (sameSplit(current.split, split)) return;
    // Versions named in the split join the live versions; the others stay live at weight 0 (they drain).
    const versions = [...current.versions];
    const added = new Map<number, string>();
    for (const name of Object.keys(split)) {
      if (!versions.includes(name) && VERSION_NAME.test(name)) {
        added.set(versions.length, name);
        versions.push(name);
      }
    }
    try {
      router.update({ ...current, versions, split: split as Record<string, number> });
    } catch (error) {
      throw fromConfigError(error, (path) => {
        const index = /^versions\[(\d+)\]/.exec(path);
        const name = index === null ? undefined : added.get(Number(index[1]));
        if (name !== undefined) return `traffic_split.${name}`;
        return path.startsWith("split") ? `traffic_split${path.slice(5)}` : path;
      });
    }
  }

  function record(service: Service, decision: Decision, client: string | undefined): void {
    service.stats.record(
      client !== undefined && client.length <= MAX_CLIENT ? { version: decision.version, ok: true, client } : { version: decision.version, ok: true },
    );
  }

  // ---- message types ------------------------------------------------------------------------------------------

  function getUsers(body: Body, inReplyTo: unknown, client: string | undefined): Reply {
    const service = serviceOf(body);
    const key = userKey(body, false);
    const decision = service.router.decide(key === undefined ? {} : { key });
    record(service, decision, key ?? client);
    // The canary flag belongs to a user's assignment; a keyless answer carries the version only.
    return key === undefined
      ? { type: "users_response", in_reply_to: inReplyTo, version: decision.version }
      : { type: "users_response", in_reply_to: inReplyTo, version: decision.version, canary: decision.canary };
  }

  function route(body: Body, inReplyTo: unknown, client: string | undefined): Reply {
    const service = serviceOf(body);
    const key = userKey(body, false);
    const headers = headersOf(own(body, "headers"));
    const path = own(body, "path");
    if (path !== undefined && typeof path !== "string") throw malformed("type", "path", `expected a URL path (string), got ${typeName(path)}`);
    const decision = service.router.decide({
      ...(key === undefined ? {} : { key }),
      ...(headers === undefined ? {} : { headers }),
      ...(path === undefined ? {} : { path }),
    });
    record(service, decision, key ?? client);
    return { type: "routed", in_reply_to: inReplyTo, version: decision.version, reason: reasonOf(decision) };
  }

  function updateCanary(body: Body, inReplyTo: unknown): Reply {
    const percentage = own(body, "percentage");
    if (percentage === undefined) throw malformed("required", "percentage", "the canary's new percentage (0-100) is required");
    if (typeof percentage !== "number") throw malformed("type", "percentage", `expected a number 0-100, got ${typeName(percentage)}`);
    const service = serviceOf(body);
    try {
      service.router.setCanaryPercent(percentage);
    } catch (error) {
      throw fromConfigError(error, (path) => (path === "percent" ? "percentage" : path));
    }
    const { stable, split } = service.router.config;
    const canary = canaryOf(service.router);
    return {
      type: "canary_updated",
      in_reply_to: inReplyTo,
      service: service.name,
      [stable]: weightOf(split, stable),
      [canary]: weightOf(split, canary),
    };
  }

  function assignVariant(body: Body, inReplyTo: unknown): Reply {
    const service = serviceOf(body);
    const userId = own(body, "user_id");
    const key = userKey(body, true) as string;
    const named = own(body, "experiment");
    if (named !== undefined && typeof named !== "string") throw malformed("type", "experiment", `expected an experiment name, got ${typeName(named)}`);
    const experiment = named ?? service.router.config.experiments?.[0]?.name;
    if (experiment === undefined) throw malformed("required", "experiment", "the router configuration has no experiment");
    const assignment = service.router.assign(experiment, key);
    if (assignment === undefined) throw malformed("unknown_experiment", "experiment", `no experiment named ${JSON.stringify(experiment)}`);
    return { type: "variant_assigned", in_reply_to: inReplyTo, user_id: userId, variant: assignment.variant };
  }

  function migrationStats(body: Body, inReplyTo: unknown): Reply {
    const service = serviceOf(body);
    const snapshot = service.stats.snapshot();
    // Every live version is listed, at 0 before it has traffic.
    const percentages: Record<string, number> = {};
    for (const version of service.router.config.versions) percentages[version] = 0;
    for (const [version, percent] of Object.entries(snapshot.versionPercentages)) percentages[version] = percent;
    return {
      type: "migration_stats",
      in_reply_to: inReplyTo,
      total_clients: snapshot.totalClients,
      version_percentages: percentages,
      migration_complete: snapshot.migrationComplete,
    };
  }

  function gradualRollout(body: Body, inReplyTo: unknown): Reply {
    const service = serviceOf(body);
    const stable = service.router.config.stable;
    const canary = canaryOf(service.router);
    const plan = rolloutPlan(body, stable, canary);
    const traffic = own(body, "traffic");
    if (traffic !== undefined && !isRecord(traffic)) throw malformed("type", "traffic", `expected a traffic model object, got ${typeName(traffic)}`);
    let result: ReturnType<typeof simulateRollout>;
    try {
      result = simulateRollout(plan, { ...DEFAULT_ROLLOUT_TRAFFIC, ...(traffic ?? {}) } as TrafficModel, {
        stable,
        canary,
        sampleEvery: 0,
        sliceMs: sliceFor(plan),
      });
    } catch (error) {
      throw fromConfigError(error, (path) => {
        if (/^steps\[\d+\]\.weight/.test(path)) return path.replace(".weight", ".percentage");
        if (/^steps\[\d+\]\.pause/.test(path)) return path.replace(".pause", ".duration_minutes");
        if (path.startsWith("analysis") || path.startsWith("steps")) return path;
        return prefixed("traffic")(path);
      });
    }
    // The rollout's end state is the service's state from now on.
    try {
      service.router.setCanaryPercent(result.finalWeight);
    } catch (error) {
      throw fromConfigError(error, (path) => path);
    }
    const reply: Reply = {
      type: "rollout_complete",
      in_reply_to: inReplyTo,
      final_percentage: result.finalWeight,
      health_checks_passed: result.healthChecksPassed,
    };
    if (result.outcome !== "completed") {
      reply.outcome = result.outcome;
      reply.text = result.state.abortReason ?? result.events.at(-1)?.message ?? result.outcome;
    }
    return reply;
  }

  function init(body: Body, inReplyTo: unknown): Reply {
    const id = own(body, "node_id");
    if (typeof id === "string" && id !== "") nodeId = id;
    return { type: "init_ok", in_reply_to: inReplyTo };
  }

  // ---- framing ------------------------------------------------------------------------------------------------

  function answer(body: Body, settings: Body, inReplyTo: unknown, client: string | undefined): Reply {
    const type = own(body, "type");
    if (type === undefined) throw malformed("required", "type", "every message needs a type");
    if (typeof type !== "string") throw malformed("type", "type", `expected a message type (string), got ${typeName(type)}`);
    if (own(settings, "traffic_split") !== undefined || own(settings, "canary_percentage") !== undefined) applySettings(serviceOf(body), settings);
    switch (type) {
      case "get_users":
        return getUsers(body, inReplyTo, client);
      case "route":
        return route(body, inReplyTo, client);
      case "update_canary":
        return updateCanary(body, inReplyTo);
      case "assign_variant":
        return assignVariant(body, inReplyTo);
      case "get_migration_stats":
        return migrationStats(body, inReplyTo);
      case "gradual_rollout":
        return gradualRollout(body, inReplyTo);
      case "init":
        return init(body, inReplyTo);
      default:
        throw new RequestError(
          ErrorCode.NotSupported,
          `unknown message type ${JSON.stringify(type.length > 64 ? `${type.slice(0, 64)}…` : type)} (known: get_users, route, update_canary, assign_variant, get_migration_stats, gradual_rollout, init)`,
        );
    }
  }

  function reply(frame: Frame): string {
    let envelope: Body | undefined;
    let inReplyTo: unknown = null;
    let body: Reply;
    try {
      if (frame.kind === "malformed") {
        // Best effort: a truncated message may still show its msg_id, so that the error can say what it answers.
        const id = /"msg_id"\s*:\s*(-?\d{1,15})\s*(?:[,}\n]|$)/.exec(frame.text);
        if (id !== null) inReplyTo = Number(id[1]);
        throw new RequestError(ErrorCode.MalformedRequest, `not JSON: ${frame.reason}`, [{ code: "malformed_json", path: "", message: frame.reason }]);
      }
      const message = frame.value;
      if (!isRecord(message)) throw malformed("type", "(message)", `expected a JSON object, got ${typeName(message)}`);
      const inner = own(message, "body");
      envelope = isRecord(inner) ? message : undefined;
      const request = envelope === undefined ? message : (inner as Body);
      const id = own(request, "msg_id");
      if (typeof id === "number" || typeof id === "string") inReplyTo = id;
      // Settings may sit beside the body (the seeds' envelope) or inside it; the body's own win.
      const settings: Body = envelope === undefined ? request : { ...pick(envelope), ...pick(request) };
      const src = envelope === undefined ? undefined : own(envelope, "src");
      body = answer(request, settings, inReplyTo, typeof src === "string" && src !== "" ? src : undefined);
    } catch (error) {
      body = errorReply(error, inReplyTo);
    }
    if (options.envelope !== true) return formatLine(body);
    const dest = envelope === undefined ? undefined : own(envelope, "dest");
    const src = envelope === undefined ? undefined : own(envelope, "src");
    return formatLine({ src: typeof dest === "string" ? dest : nodeId, dest: src, body });
  }

  return { reply };
}

function pick(record: Body): Body {
  const settings: Body = {};
  for (const key of ["traffic_split", "canary_percentage"]) if (Object.hasOwn(record, key)) settings[key] = record[key];
  return settings;
}

function errorReply(error: unknown, inReplyTo: unknown): Reply {
  if (error instanceof RequestError) {
    const reply: Reply = { type: "error", in_reply_to: inReplyTo, code: error.code, text: error.message };
    if (error.problems.length > 0) reply.problems = error.problems.map((p) => ({ code: p.code, path: p.path }));
    return reply;
  }
  const text = error instanceof Error ? error.message : String(error);
  return { type: "error", in_reply_to: inReplyTo, code: ErrorCode.Crash, text: `internal fault: ${text}` };
}

/** The sticky key of a message: `user_id` as a string (numbers are accepted and written in decimal). */
function userKey(body: Body, required: boolean): string | undefined {
  const value = own(body, "user_id");
  if (value === undefined || value === null || value === "") {
    if (required) throw malformed("required", "user_id", "a user id is required");
    return undefined;
  }
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw malformed("type", "user_id", `expected a string (or a number), got ${typeName(value)}`);
}

/** Request headers with lower-cased names; a value may be a string, a number or a boolean. */
function headersOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw malformed("type", "headers", `expected an object of header names and values, got ${typeName(value)}`);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, raw] of Object.entries(value)) {
    if (typeof raw === "string") headers[name.toLowerCase()] = raw;
    else if (typeof raw === "number" || typeof raw === "boolean") headers[name.toLowerCase()] = String(raw);
    else throw malformed("type", `headers.${name}`, `expected a string, got ${typeName(raw)}`);
  }
  return headers;
}

/** The seeds know two reasons; turnout's finer ones map onto them where they mean the same thing. */
function reasonOf(decision: Decision): string {
  switch (decision.reason) {
    case DecisionReason.Keyless:
    case DecisionReason.Fallback:
    case DecisionReason.WeightedRouting:
      return "weighted_routing";
    default:
      return decision.reason;
  }
}

function canaryOf(router: Router): string {
  const { canary, stable, versions } = router.config;
  return canary ?? versions.find((v) => v !== stable) ?? stable;
}

function weightOf(split: Readonly<Record<string, number>> | undefined, version: string): number {
  return split !== undefined && Object.hasOwn(split, version) ? (split[version] as number) : 0;
}

function sameSplit(current: Readonly<Record<string, number>> | undefined, next: Record<string, unknown>): boolean {
  if (current === undefined) return false;
  const a = Object.keys(current);
  const b = Object.keys(next);
  return a.length === b.length && b.every((key) => Object.hasOwn(current, key) && current[key] === next[key]);
}

const STEP_FIELDS = ["percentage", "duration_minutes"];

/** The `gradual_rollout` message's steps `{ percentage, duration_minutes }` as a rollout plan that holds at the last step's weight. */
function rolloutPlan(body: Body, stable: string, canary: string): RolloutPlan {
  const steps = own(body, "steps");
  if (steps === undefined) throw malformed("required", "steps", 'the rollout steps are required: [{"percentage": 10, "duration_minutes": 60}, …]');
  if (!Array.isArray(steps)) throw malformed("type", "steps", `expected a list of steps, got ${typeName(steps)}`);
  const problems: MessageProblem[] = [];
  const add = (code: string, path: string, message: string): void => void problems.push({ code, path, message: `${path}: ${message}` });
  if (steps.length > 100) add("too_long", "steps", "at most 100 steps");
  const analysis = own(body, "analysis");
  if (analysis !== undefined && !isRecord(analysis)) add("type", "analysis", `expected an analysis object, got ${typeName(analysis)}`);
  const ownTiming = isRecord(analysis) && (Object.hasOwn(analysis, "interval") || Object.hasOwn(analysis, "window"));
  const planSteps: RolloutStep[] = [];
  steps.slice(0, 100).forEach((step: unknown, i) => {
    const path = `steps[${i}]`;
    if (!isRecord(step)) return add("type", path, `expected {"percentage": …, "duration_minutes": …}, got ${typeName(step)}`);
    for (const key of Object.keys(step))
      if (!STEP_FIELDS.includes(key)) add("unknown_field", `${path}.${key}`, `unknown field (known: ${STEP_FIELDS.join(", ")})`);
    const percentage = own(step, "percentage");
    const minutes = own(step, "duration_minutes");
    if (percentage === undefined) add("required", `${path}.percentage`, "the canary's percentage is required");
    else if (typeof percentage !== "number") add("type", `${path}.percentage`, `expected a number 0-100, got ${typeName(percentage)}`);
    if (minutes === undefined) add("required", `${path}.duration_minutes`, "how long the step holds is required");
    else if (typeof minutes !== "number") add("type", `${path}.duration_minutes`, `expected a number of minutes, got ${typeName(minutes)}`);
    else if (typeof minutes === "number" && !(minutes >= 0)) add("out_of_range", `${path}.duration_minutes`, `must be 0 or more, got ${minutes}`);
    if (typeof percentage !== "number" || typeof minutes !== "number" || !(minutes >= 0)) return;
    const holdMs = Math.round(minutes * 60_000);
    // Checks every minute, or every 1/60 of a long hold, over at least five minutes and one interval — unless the
    // message's own analysis sets the timing.
    const intervalMs = Math.max(60_000, Math.ceil(holdMs / CHECKS_PER_STEP / 1000) * 1000);
    const planStep: RolloutStep = { weight: percentage, pause: holdMs };
    if (holdMs === 0) planSteps.push({ ...planStep, analysis: false });
    else if (ownTiming) planSteps.push(planStep);
    else planSteps.push({ ...planStep, analysis: { interval: intervalMs, window: Math.max(300_000, intervalMs) } });
  });
  if (problems.length > 0) throw new RequestError(ErrorCode.MalformedRequest, problems.map((p) => p.message).join("; "), problems);
  return { steps: planSteps, finish: "hold", analysis: { ...DEFAULT_ROLLOUT_ANALYSIS, ...(analysis as AnalysisSpec | undefined) }, stable, canary };
}

/** Traffic slices: 10 s, or coarser for very long plans so that the simulation stays well under a second. */
function sliceFor(plan: RolloutPlan): number {
  let total = 0;
  for (const step of plan.steps) if (typeof step.pause === "number" && Number.isFinite(step.pause) && step.pause > 0) total += step.pause;
  return Math.max(10_000, Math.ceil(total / SLICES_PER_PLAN / 1000) * 1000);
}

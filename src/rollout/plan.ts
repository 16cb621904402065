import type { ConfigProblem } from "../errors.js";
import { parseDuration } from "../internal/duration.js";
import { FORBIDDEN_KEYS, Problems, checkFields, child, isRecord, typeName } from "../internal/problems.js";
import { murmur3 } from "../router/hash.js";
import {
  type AnalysisSpec,
  type CompiledPlan,
  type PrometheusQueries,
  type ResolvedProvider,
  type ResolvedWebhook,
  WebhookType,
  InconclusivePolicy,
  type ResolvedAnalysis,
  type ResolvedStep,
  RollbackMode,
  type RolloutFinish,
  type RolloutPlan,
  RolloutStrategy,
} from "./types.js";

const PLAN_FIELDS = [
  "strategy",
  "steps",
  "analysis",
  "rollback",
  "rollbackInterval",
  "rollbackWindow",
  "finish",
  "stable",
  "canary",
  "name",
  "providers",
  "webhooks",
] as const;
const STEP_FIELDS = ["weight", "pause", "analysis", "name"] as const;
const ANALYSIS_FIELDS = [
  "window",
  "interval",
  "minRequests",
  "maxErrorRate",
  "maxErrorRateIncrease",
  "maxP99Ms",
  "maxP99Ratio",
  "failureLimit",
  "onInconclusive",
  "provider",
] as const;
const CRITERIA = ["maxErrorRate", "maxErrorRateIncrease", "maxP99Ms", "maxP99Ratio"] as const;

/** Limits that keep a plan (and its timers) sane. */
const MAX_STEPS = 100;
const MAX_DURATION_MS = 366 * 86_400_000;
const MAX_NAME = 200;
const MAX_MIN_REQUESTS = 1e12;
const MAX_FAILURE_LIMIT = 1000;

/** The defaults of {@link AnalysisSpec}, documented there and in the README. */
export const ANALYSIS_DEFAULTS = {
  windowMs: 300_000,
  intervalMs: 60_000,
  minRequests: 100,
  failureLimit: 1,
  onInconclusive: InconclusivePolicy.Pause,
} as const;

/** Default time between two steps down of a stepped rollback. */
export const DEFAULT_ROLLBACK_INTERVAL_MS = 30_000;

const STRATEGIES: readonly string[] = Object.values(RolloutStrategy);
const ROLLBACKS: readonly string[] = Object.values(RollbackMode);
const FINISHES: readonly string[] = ["promote", "hold"];
const POLICIES: readonly string[] = Object.values(InconclusivePolicy);

function list(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(", ");
}

/** A duration field: `undefined` when absent or invalid (the problem is recorded). */
function durationField(
  problems: Problems,
  owner: Record<string, unknown>,
  key: string,
  path: string,
  options: { readonly allowZero: boolean },
): number | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "number" && typeof value !== "string") {
    problems.add("type", at, `expected a duration ("5m", "1h30m") or milliseconds, got ${typeName(value)}`);
    return undefined;
  }
  const ms = parseDuration(value);
  if (ms === undefined) {
    if (typeof value === "number") {
      problems.add(Number.isFinite(value) ? "negative" : "not_finite", at, `expected a finite duration ≥ 0, got ${value}`);
    } else {
      problems.add("invalid_duration", at, `"${value.slice(0, 40)}" is not a duration (use e.g. "90s", "5m", "1h30m")`);
    }
    return undefined;
  }
  if (ms > MAX_DURATION_MS) {
    problems.add("out_of_range", at, `${ms} ms is longer than a year`);
    return undefined;
  }
  if (ms === 0 && !options.allowZero) {
    problems.add("out_of_range", at, "must be longer than 0");
    return undefined;
  }
  return ms;
}

/** A finite number field within [min, max]; `undefined` when absent or invalid (the problem is recorded). */
function numberField(
  problems: Problems,
  owner: Record<string, unknown>,
  key: string,
  path: string,
  range: { readonly min: number; readonly max: number; readonly exclusiveMin?: boolean; readonly integer?: boolean },
): number | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "number") {
    problems.add("type", at, `expected a number, got ${typeName(value)}`);
    return undefined;
  }
  if (!Number.isFinite(value)) {
    problems.add("not_finite", at, `expected a finite number, got ${value}`);
    return undefined;
  }
  if (range.integer === true && !Number.isInteger(value)) {
    problems.add("type", at, `expected a whole number, got ${value}`);
    return undefined;
  }
  const belowMin = range.exclusiveMin === true ? value <= range.min : value < range.min;
  if (belowMin && value < 0 && range.min >= 0) {
    problems.add("negative", at, `must not be negative, got ${value}`);
    return undefined;
  }
  if (belowMin || value > range.max) {
    const lower = range.exclusiveMin === true ? `above ${range.min}` : `at least ${range.min}`;
    problems.add("out_of_range", at, `must be ${lower} and at most ${range.max}, got ${value}`);
    return undefined;
  }
  return value;
}

function enumField(problems: Problems, owner: Record<string, unknown>, key: string, path: string, allowed: readonly string[]): string | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "string") {
    problems.add("type", at, `expected one of ${list(allowed)}, got ${typeName(value)}`);
    return undefined;
  }
  if (!allowed.includes(value)) {
    problems.add("invalid_value", at, `"${value.slice(0, 40)}" is not one of ${list(allowed)}`);
    return undefined;
  }
  return value;
}

function nameField(problems: Problems, owner: Record<string, unknown>, key: string, path: string): string | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "string") {
    problems.add("type", at, `expected a string, got ${typeName(value)}`);
    return undefined;
  }
  if (value.trim() === "") {
    problems.add("empty", at, "must not be empty");
    return undefined;
  }
  if (value.length > MAX_NAME) {
    problems.add("too_long", at, `at most ${MAX_NAME} characters, got ${value.length}`);
    return undefined;
  }
  return value;
}

/** The checked fields of one analysis block (only those present and valid). */
interface AnalysisParts {
  windowMs?: number;
  intervalMs?: number;
  minRequests?: number;
  maxErrorRate?: number;
  maxErrorRateIncrease?: number;
  maxP99Ms?: number;
  maxP99Ratio?: number;
  failureLimit?: number;
  onInconclusive?: InconclusivePolicy;
  provider?: string;
}

function checkAnalysis(problems: Problems, value: unknown, path: string): AnalysisParts | undefined {
  if (!isRecord(value)) {
    problems.add("type", path, `expected an object${path.startsWith("steps") ? " or false" : ""}, got ${typeName(value)}`);
    return undefined;
  }
  checkFields(problems, value, path, ANALYSIS_FIELDS);
  const parts: AnalysisParts = {};
  const set = <K extends keyof AnalysisParts>(key: K, v: AnalysisParts[K] | undefined): void => {
    if (v !== undefined) parts[key] = v;
  };
  set("windowMs", durationField(problems, value, "window", path, { allowZero: false }));
  set("intervalMs", durationField(problems, value, "interval", path, { allowZero: false }));
  set("minRequests", numberField(problems, value, "minRequests", path, { min: 0, max: MAX_MIN_REQUESTS, integer: true }));
  set("maxErrorRate", numberField(problems, value, "maxErrorRate", path, { min: 0, max: 100 }));
  set("maxErrorRateIncrease", numberField(problems, value, "maxErrorRateIncrease", path, { min: 0, max: 100 }));
  set("maxP99Ms", numberField(problems, value, "maxP99Ms", path, { min: 0, max: MAX_DURATION_MS, exclusiveMin: true }));
  set("maxP99Ratio", numberField(problems, value, "maxP99Ratio", path, { min: 0, max: 1e6, exclusiveMin: true }));
  set("failureLimit", numberField(problems, value, "failureLimit", path, { min: 1, max: MAX_FAILURE_LIMIT, integer: true }));
  set("onInconclusive", enumField(problems, value, "onInconclusive", path, POLICIES) as InconclusivePolicy | undefined);
  set("provider", nameField(problems, value, "provider", path));
  return parts;
}

function resolveAnalysis(base: AnalysisParts | undefined, own: AnalysisParts | undefined): ResolvedAnalysis {
  const merged: AnalysisParts = { ...base, ...own };
  return Object.freeze({
    windowMs: merged.windowMs ?? ANALYSIS_DEFAULTS.windowMs,
    intervalMs: merged.intervalMs ?? ANALYSIS_DEFAULTS.intervalMs,
    minRequests: merged.minRequests ?? ANALYSIS_DEFAULTS.minRequests,
    maxErrorRate: merged.maxErrorRate ?? null,
    maxErrorRateIncrease: merged.maxErrorRateIncrease ?? null,
    maxP99Ms: merged.maxP99Ms ?? null,
    maxP99Ratio: merged.maxP99Ratio ?? null,
    failureLimit: merged.failureLimit ?? ANALYSIS_DEFAULTS.failureLimit,
    onInconclusive: merged.onInconclusive ?? ANALYSIS_DEFAULTS.onInconclusive,
    provider: merged.provider ?? null,
  });
}

function hasCriterion(analysis: ResolvedAnalysis): boolean {
  return CRITERIA.some((key) => analysis[key] !== null);
}

/** Deep copy of JSON-like data with own keys only, frozen. */
function frozenCopy<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map((item: unknown) => frozenCopy(item))) as T;
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = frozenCopy(value[key]);
    return Object.freeze(out) as T;
  }
  return value;
}

/** JSON with sorted keys, so that equal plans have equal fingerprints however their keys are ordered. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const PROVIDER_TYPES: readonly string[] = ["prometheus", "custom"];
const PROMETHEUS_FIELDS = ["type", "url", "queries", "timeout", "retries"] as const;
const QUERY_FIELDS = ["requests", "errors", "p99Ms"] as const;
const PLACEHOLDERS: readonly string[] = ["version", "stable", "canary", "window", "stepStart", "now"];
const DEFAULT_PROVIDER_TIMEOUT_MS = 5_000;
const DEFAULT_PROVIDER_RETRIES = 2;
const MAX_QUERY = 10_000;

function checkQuery(problems: Problems, owner: Record<string, unknown>, key: string, path: string): string | undefined {
  if (!Object.hasOwn(owner, key)) return undefined;
  const value = owner[key];
  const at = child(path, key);
  if (typeof value !== "string" || value.trim() === "") {
    problems.add(typeof value === "string" ? "empty" : "type", at, `expected a PromQL query, got ${typeName(value)}`);
    return undefined;
  }
  if (value.length > MAX_QUERY) {
    problems.add("too_long", at, `at most ${MAX_QUERY} characters, got ${value.length}`);
    return undefined;
  }
  let ok = true;
  for (const match of value.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!PLACEHOLDERS.includes(match[1] as string)) {
      problems.add(
        "invalid_value",
        at,
        `unknown placeholder {{${(match[1] as string).slice(0, 40)}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")})`,
      );
      ok = false;
    }
  }
  if (!/\{\{\s*version\s*\}\}/.test(value)) {
    problems.add("required", at, "a query must select one version with {{version}}: it is asked once for the canary and once for the stable");
    ok = false;
  }
  return ok ? value : undefined;
}

function checkProviders(problems: Problems, value: unknown): Record<string, ResolvedProvider> {
  const out: Record<string, ResolvedProvider> = {};
  if (!isRecord(value)) {
    problems.add("type", "providers", `expected an object of named providers, got ${typeName(value)}`);
    return out;
  }
  for (const name of Object.keys(value)) {
    const path = child("providers", name);
    if (FORBIDDEN_KEYS.has(name)) {
      problems.add("forbidden_key", path, `"${name}" is not allowed as a name`);
      continue;
    }
    const spec = value[name];
    if (!isRecord(spec)) {
      problems.add("type", path, `expected { type: "prometheus", … } or { type: "custom" }, got ${typeName(spec)}`);
      continue;
    }
    const type = enumField(problems, spec, "type", path, PROVIDER_TYPES);
    if (!Object.hasOwn(spec, "type")) problems.add("required", child(path, "type"), `a provider needs a type (${list(PROVIDER_TYPES)})`);
    if (type === "custom") {
      checkFields(problems, spec, path, ["type"]);
      out[name] = Object.freeze({ type: "custom" });
    } else if (type === "prometheus") {
      checkFields(problems, spec, path, PROMETHEUS_FIELDS);
      const url = checkUrl(problems, spec, path, "a Prometheus provider needs the server's url (http://prometheus:9090)");
      const timeoutMs = durationField(problems, spec, "timeout", path, { allowZero: false }) ?? DEFAULT_PROVIDER_TIMEOUT_MS;
      const retries = numberField(problems, spec, "retries", path, { min: 0, max: 10, integer: true }) ?? DEFAULT_PROVIDER_RETRIES;
      const queriesPath = child(path, "queries");
      const raw = spec.queries;
      const queries: { requests?: string; errors?: string; p99Ms?: string } = {};
      if (!Object.hasOwn(spec, "queries")) problems.add("required", queriesPath, "a Prometheus provider needs queries ({ requests, errors, p99Ms })");
      else if (!isRecord(raw)) problems.add("type", queriesPath, `expected { requests, errors, p99Ms }, got ${typeName(raw)}`);
      else {
        checkFields(problems, raw, queriesPath, QUERY_FIELDS);
        if (!Object.hasOwn(raw, "requests")) problems.add("required", child(queriesPath, "requests"), "the requests query is needed by every criterion");
        for (const key of QUERY_FIELDS) {
          const query = checkQuery(problems, raw, key, queriesPath);
          if (query !== undefined) queries[key] = query;
        }
      }
      if (url !== undefined && queries.requests !== undefined) {
        out[name] = Object.freeze({
          type: "prometheus",
          url: url.replace(/\/+$/, ""),
          queries: Object.freeze(queries as PrometheusQueries),
          timeoutMs,
          retries,
        });
      }
    }
  }
  return out;
}

const WEBHOOK_TYPES: readonly string[] = Object.values(WebhookType);
const WEBHOOK_FIELDS = ["name", "type", "url", "timeout", "retries", "metadata"] as const;
const MAX_WEBHOOKS = 50;

function checkWebhooks(problems: Problems, value: unknown): ResolvedWebhook[] {
  const out: ResolvedWebhook[] = [];
  if (!Array.isArray(value)) {
    problems.add("type", "webhooks", `expected an array of webhooks, got ${typeName(value)}`);
    return out;
  }
  if (value.length > MAX_WEBHOOKS) {
    problems.add("too_long", "webhooks", `at most ${MAX_WEBHOOKS} webhooks, got ${value.length}`);
    return out;
  }
  const names = new Set<string>();
  value.forEach((raw: unknown, index: number) => {
    const path = child("webhooks", index);
    if (!isRecord(raw)) {
      problems.add("type", path, `expected { name, type, url }, got ${typeName(raw)}`);
      return;
    }
    checkFields(problems, raw, path, WEBHOOK_FIELDS);
    const name = nameField(problems, raw, "name", path);
    if (!Object.hasOwn(raw, "name")) problems.add("required", child(path, "name"), "a webhook needs a name");
    else if (name !== undefined && names.has(name)) problems.add("duplicate", child(path, "name"), `another webhook is named "${name.slice(0, 40)}"`);
    if (name !== undefined) names.add(name);
    const type = enumField(problems, raw, "type", path, WEBHOOK_TYPES) as WebhookType | undefined;
    if (!Object.hasOwn(raw, "type")) problems.add("required", child(path, "type"), `a webhook needs a type (${list(WEBHOOK_TYPES)})`);
    const url = checkUrl(problems, raw, path, "a webhook needs a url", true);
    const timeoutMs = durationField(problems, raw, "timeout", path, { allowZero: false }) ?? DEFAULT_PROVIDER_TIMEOUT_MS;
    const retries = numberField(problems, raw, "retries", path, { min: 0, max: 10, integer: true }) ?? DEFAULT_PROVIDER_RETRIES;
    const metadata: Record<string, string> = {};
    if (Object.hasOwn(raw, "metadata")) {
      const m = raw.metadata;
      if (!isRecord(m)) problems.add("type", child(path, "metadata"), `expected an object of strings, got ${typeName(m)}`);
      else {
        for (const key of Object.keys(m)) {
          if (FORBIDDEN_KEYS.has(key)) problems.add("forbidden_key", child(child(path, "metadata"), key), `"${key}" is not allowed as a key`);
          else if (typeof m[key] !== "string") problems.add("type", child(child(path, "metadata"), key), `expected a string, got ${typeName(m[key])}`);
          else metadata[key] = m[key] as string;
        }
      }
    }
    if (name !== undefined && type !== undefined && url !== undefined) {
      out.push(Object.freeze({ name, type, url, timeoutMs, retries, metadata: Object.freeze(metadata) }));
    }
  });
  return out;
}

/** An http(s) URL; a webhook's may carry a query string, a Prometheus base URL may not (paths are appended to it). */
function checkUrl(problems: Problems, spec: Record<string, unknown>, path: string, missing: string, allowQuery = false): string | undefined {
  const at = child(path, "url");
  if (!Object.hasOwn(spec, "url")) {
    problems.add("required", at, missing);
    return undefined;
  }
  const value = spec.url;
  if (typeof value !== "string") {
    problems.add("type", at, `expected a URL, got ${typeName(value)}`);
    return undefined;
  }
  const shape = allowQuery ? /^https?:\/\/[^\s/?#]+(?:[/?][^\s#]*)?$/ : /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/;
  if (!shape.test(value)) {
    problems.add("invalid_url", at, `"${value.slice(0, 80)}" is not an http(s) URL${allowQuery ? "" : " without query or fragment"}`);
    return undefined;
  }
  return value;
}

/** Every analysis names a provider the plan has, and a Prometheus provider has a query for each criterion used. */
function checkProviderUse(
  problems: Problems,
  providers: Readonly<Record<string, ResolvedProvider>>,
  declared: readonly string[],
  analyses: readonly { readonly analysis: ResolvedAnalysis; readonly path: string }[],
): void {
  const reported = new Set<string>();
  const once = (code: "required", path: string, message: string): void => {
    // Once per path, and not again for a query already reported as invalid.
    if (reported.has(`${code} ${path}`) || problems.list.some((p) => p.path === path)) return;
    reported.add(`${code} ${path}`);
    problems.add(code, path, message);
  };
  for (const { analysis, path } of analyses) {
    const name = analysis.provider;
    if (name === null) continue;
    const provider = Object.hasOwn(providers, name) ? providers[name] : undefined;
    if (provider === undefined) {
      // A provider declared with problems of its own has them reported already.
      if (!declared.includes(name)) once("required", child(path, "provider"), `no provider "${name.slice(0, 40)}" in the plan's providers`);
      continue;
    }
    if (provider.type !== "prometheus") continue;
    const base = child(child("providers", name), "queries");
    if ((analysis.maxErrorRate !== null || analysis.maxErrorRateIncrease !== null) && provider.queries.errors === undefined) {
      once("required", child(base, "errors"), `the error-rate criteria of ${path} need an errors query`);
    }
    if ((analysis.maxP99Ms !== null || analysis.maxP99Ratio !== null) && provider.queries.p99Ms === undefined) {
      once("required", child(base, "p99Ms"), `the latency criteria of ${path} need a p99Ms query`);
    }
  }
}

interface Checked {
  readonly problems: Problems;
  readonly plan?: CompiledPlan;
}

function check(input: unknown): Checked {
  const problems = new Problems();
  if (!isRecord(input)) {
    problems.add("type", "", `a rollout plan must be an object, got ${typeName(input)}`);
    return { problems };
  }
  checkFields(problems, input, "", PLAN_FIELDS);

  const strategy = (enumField(problems, input, "strategy", "", STRATEGIES) ?? RolloutStrategy.Canary) as RolloutStrategy;
  const blueGreen = strategy === RolloutStrategy.BlueGreen;
  const rollback = (enumField(problems, input, "rollback", "", ROLLBACKS) ?? RollbackMode.Immediate) as RollbackMode;
  const finish = (enumField(problems, input, "finish", "", FINISHES) ?? "promote") as RolloutFinish;
  const rollbackIntervalMs = durationField(problems, input, "rollbackInterval", "", { allowZero: false }) ?? DEFAULT_ROLLBACK_INTERVAL_MS;
  const rollbackWindowMs = durationField(problems, input, "rollbackWindow", "", { allowZero: true }) ?? 0;
  const stable = nameField(problems, input, "stable", "");
  const canary = nameField(problems, input, "canary", "");
  nameField(problems, input, "name", "");
  if (stable !== undefined && stable === canary) problems.add("conflict", "canary", `the canary must differ from the stable version ("${stable}")`);
  if (blueGreen && rollback === RollbackMode.Stepped) {
    problems.add("conflict", "rollback", 'a blue-green switch has no steps to go back through: use "immediate"');
  }
  if (blueGreen && finish === "hold") {
    problems.add("conflict", "finish", 'a blue-green rollout ends with the switch to 100 %: use "promote"');
  }

  const planAnalysis = Object.hasOwn(input, "analysis") ? checkAnalysis(problems, input.analysis, "analysis") : undefined;

  const steps: ResolvedStep[] = [];
  let planAnalysisNeedsCriteria = false;
  if (!Object.hasOwn(input, "steps")) {
    problems.add("required", "steps", "a plan needs at least one step");
  } else if (!Array.isArray(input.steps)) {
    problems.add("type", "steps", `expected an array of steps, got ${typeName(input.steps)}`);
  } else if (input.steps.length === 0) {
    problems.add("empty", "steps", "a plan needs at least one step");
  } else if (input.steps.length > MAX_STEPS) {
    problems.add("too_long", "steps", `at most ${MAX_STEPS} steps, got ${input.steps.length}`);
  } else {
    let weight = 0;
    let previousPath = "";
    input.steps.forEach((raw: unknown, index: number) => {
      const path = child("steps", index);
      if (!isRecord(raw)) {
        problems.add("type", path, `expected a step object ({ weight }, { pause }, …), got ${typeName(raw)}`);
        return;
      }
      checkFields(problems, raw, path, STEP_FIELDS);
      if (!Object.hasOwn(raw, "weight") && !Object.hasOwn(raw, "pause") && !Object.hasOwn(raw, "analysis")) {
        problems.add("empty", path, "a step needs a weight, a pause or an analysis");
      }
      const own = numberField(problems, raw, "weight", path, { min: 0, max: 100 });
      if (own !== undefined) {
        if (Math.round(own * 100) / 100 !== own) {
          problems.add("invalid_value", child(path, "weight"), `weights resolve to 0.01 %: ${own} has more than two decimals`);
        } else if (blueGreen && own !== 0 && own !== 100) {
          problems.add("invalid_value", child(path, "weight"), `a blue-green step is at 0 (preview) or 100 (switched), got ${own}`);
        } else if (own < weight) {
          problems.add("out_of_range", child(path, "weight"), `${own} is below the ${weight} of ${previousPath}: a rollout only ramps up (abort to go back)`);
        } else {
          weight = own;
          previousPath = child(path, "weight");
        }
      }
      let manual = false;
      let holdMs = 0;
      let hasPause = false;
      if (Object.hasOwn(raw, "pause")) {
        if (raw.pause === "manual") {
          manual = true;
          hasPause = true;
        } else {
          const ms = durationField(problems, raw, "pause", path, { allowZero: true });
          if (ms !== undefined) {
            holdMs = ms;
            hasPause = true;
          }
        }
      }
      const name = nameField(problems, raw, "name", path) ?? null;

      let analysis: ResolvedAnalysis | null = null;
      if (Object.hasOwn(raw, "analysis") && raw.analysis !== false) {
        const own = checkAnalysis(problems, raw.analysis, child(path, "analysis"));
        if (own !== undefined) {
          analysis = resolveAnalysis(planAnalysis, own);
          if (!hasCriterion(analysis)) {
            problems.add(
              "required",
              child(path, "analysis"),
              `an analysis needs at least one criterion (${CRITERIA.join(", ")}), here or in the plan's analysis`,
            );
          }
        }
      } else if (!Object.hasOwn(raw, "analysis") && planAnalysis !== undefined && (weight > 0 || blueGreen) && (hasPause || manual)) {
        analysis = resolveAnalysis(planAnalysis, undefined);
        if (!hasCriterion(analysis)) planAnalysisNeedsCriteria = true;
      }
      if (analysis !== null && !manual) {
        if (!hasPause) holdMs = analysis.windowMs;
        else if (holdMs === 0) {
          problems.add("conflict", child(path, "pause"), "a step with analysis needs a hold longer than 0 (leave pause out to hold for one window)");
        }
      }
      steps.push(Object.freeze({ index, weight, holdMs, manual, analysis, name }));
    });
  }

  let windowAnalysis: ResolvedAnalysis | null = null;
  if (planAnalysis !== undefined) {
    const resolved = resolveAnalysis(planAnalysis, undefined);
    if (hasCriterion(resolved)) windowAnalysis = rollbackWindowMs > 0 ? resolved : null;
    else if (planAnalysisNeedsCriteria || rollbackWindowMs > 0) {
      problems.add("required", "analysis", `an analysis needs at least one criterion (${CRITERIA.join(", ")})`);
    }
  }

  const providers = Object.hasOwn(input, "providers") ? checkProviders(problems, input.providers) : {};
  const analyses: { readonly analysis: ResolvedAnalysis; readonly path: string }[] = [];
  steps.forEach((step) => {
    if (step.analysis !== null) {
      const own = Array.isArray(input.steps) && isRecord(input.steps[step.index]) && Object.hasOwn(input.steps[step.index] as object, "analysis");
      analyses.push({ analysis: step.analysis, path: own ? child(child("steps", step.index), "analysis") : "analysis" });
    }
  });
  if (windowAnalysis !== null) analyses.push({ analysis: windowAnalysis, path: "analysis" });
  const declared = isRecord(input.providers) ? Object.keys(input.providers) : [];
  checkProviderUse(problems, providers, declared, analyses);
  const webhooks = Object.hasOwn(input, "webhooks") ? checkWebhooks(problems, input.webhooks) : [];

  if (problems.size > 0) return { problems };
  const source = frozenCopy(input) as unknown as RolloutPlan;
  const fingerprint = (murmur3(canonical(source), 0x7e57) >>> 0).toString(16).padStart(8, "0");
  const plan: CompiledPlan = Object.freeze({
    source,
    strategy,
    steps: Object.freeze(steps),
    windowAnalysis,
    rollback,
    rollbackIntervalMs,
    rollbackWindowMs,
    finish,
    fingerprint,
    providers: Object.freeze(providers),
    webhooks: Object.freeze(webhooks),
  });
  return { problems, plan };
}

/**
 * Lists every problem of a rollout plan without throwing: an empty list means the plan is valid.
 *
 * @example
 * ```ts
 * checkPlan({ steps: [{ weight: 150 }, { pause: "5 minutes" }] });
 * // [{ code: "out_of_range", path: "steps[0].weight", … }, { code: "invalid_duration", path: "steps[1].pause", … }]
 * ```
 */
export function checkPlan(input: unknown): readonly ConfigProblem[] {
  return check(input).problems.list;
}

/**
 * Validates a rollout plan and resolves it (defaults, durations in ms, each step's effective weight and analysis).
 * Throws one `TurnoutConfigError` (subject "rollout plan") listing every problem with its code and path.
 *
 * Rules: at least one step; canary weights in 0–100 never decrease; blue-green weights are 0 or 100; durations
 * parse (`"90s"`, `"5m"`, `"1h30m"`, or ms) and stay under a year; every analysis has at least one criterion;
 * unknown fields and `__proto__`/`constructor`/`prototype` keys are errors.
 *
 * @example
 * ```ts
 * const plan = compilePlan({
 *   steps: [{ weight: 5, pause: "15m" }, { weight: 25, pause: "30m" }, { weight: 50, pause: "1h" }],
 *   analysis: { maxErrorRate: 5, maxP99Ratio: 2 },
 * });
 * plan.steps[1]?.weight; // 25
 * ```
 */
export function compilePlan(input: RolloutPlan): CompiledPlan {
  const { problems, plan } = check(input);
  problems.throwIfAny("rollout plan");
  return plan as CompiledPlan;
}

/** True when `value` is a plan made by {@link compilePlan}. */
export function isCompiledPlan(value: unknown): value is CompiledPlan {
  return isRecord(value) && typeof value.fingerprint === "string" && Array.isArray(value.steps) && isRecord(value.source);
}

/** The plan's nominal duration: the sum of its timed holds (manual pauses count as 0). */
export function nominalDurationMs(plan: CompiledPlan): number {
  let total = 0;
  for (const step of plan.steps) if (!step.manual) total += step.holdMs;
  return total + plan.rollbackWindowMs;
}

/**
 * Validates one analysis block on its own and fills in its defaults. Throws `TurnoutConfigError` (subject
 * "analysis") listing every problem.
 *
 * @example
 * ```ts
 * resolveAnalysisSpec({ maxErrorRate: 5 }); // { windowMs: 300000, intervalMs: 60000, minRequests: 100, maxErrorRate: 5, … }
 * ```
 */
export function resolveAnalysisSpec(spec: AnalysisSpec): ResolvedAnalysis {
  const problems = new Problems();
  const parts = checkAnalysis(problems, spec, "");
  const resolved = resolveAnalysis(undefined, parts);
  if (parts !== undefined && !hasCriterion(resolved)) {
    problems.add("required", "", `an analysis needs at least one criterion (${CRITERIA.join(", ")})`);
  }
  problems.throwIfAny("analysis");
  return resolved;
}

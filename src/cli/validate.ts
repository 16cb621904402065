/**
 * `turnout validate <file>…`: every problem of each router configuration and rollout plan, with its code and
 * path, or a one-line summary of each valid file. The checks are the library's (`createRouter`, `checkPlan`,
 * `createRollout`), so the command can never disagree with what a running process would accept.
 */
import {
  type CompiledPlan,
  type ConfigProblem,
  type Router,
  type RouterConfig,
  type RolloutPlan,
  checkPlan,
  compilePlan,
  createRollout,
  createRouter,
  createStats,
  formatDuration,
  isTurnoutConfigError,
} from "../index.js";
import { UsageError, flag, parse, text } from "./args.js";
import { readJson } from "./files.js";
import { type Output, outputOf, paint, percent, table } from "./output.js";

/** What a file was read as. */
export type FileKind = "router" | "plan";

/** One problem of a file: a library problem (`ConfigProblem`), or `invalid_json` with the line and column. */
export interface FileProblem {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

/** The verdict on one file. */
export interface FileReport {
  readonly file: string;
  readonly kind: FileKind;
  readonly valid: boolean;
  /** One line describing a valid file. */
  readonly summary: string | null;
  readonly problems: readonly FileProblem[];
  /** Things that are allowed but probably not meant (split weights that do not sum to 100). */
  readonly warnings: readonly FileProblem[];
}

/** The options of `turnout validate`. */
export const VALIDATE_OPTIONS = {
  kind: { type: "string" },
  json: { type: "boolean" },
  color: { type: "boolean" },
  "no-color": { type: "boolean" },
} as const;

/**
 * Reads a file as a router config or a plan: a plan has `steps`, a config has `versions`.
 *
 * @example
 * ```ts
 * kindOf({ steps: [{ weight: 5 }] }); // "plan"
 * ```
 */
export function kindOf(value: unknown): FileKind {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    if (Object.hasOwn(value, "steps") && !Object.hasOwn(value, "versions")) return "plan";
  }
  return "router";
}

/**
 * Problems of a router configuration, and the router when there are none.
 *
 * @example
 * ```ts
 * checkRouterConfig({ versions: ["v1"], stable: "v2" }).problems[0]?.code; // "unknown_version"
 * ```
 */
export function checkRouterConfig(value: unknown): { router?: Router; problems: readonly ConfigProblem[] } {
  try {
    return { router: createRouter(value as RouterConfig), problems: [] };
  } catch (error) {
    if (isTurnoutConfigError(error)) return { problems: error.problems };
    throw error;
  }
}

/**
 * Warnings about a valid router configuration: split weights that do not sum to 100 are shares of their sum, which
 * is allowed (weights 2 and 1 mean two thirds and one third) but, when they come close to 100, usually a mistake.
 *
 * @example
 * ```ts
 * routerWarnings({ versions: ["v1", "v2"], stable: "v1", split: { v1: 90, v2: 20 } })[0]?.code; // "split_not_100"
 * ```
 */
export function routerWarnings(config: RouterConfig): FileProblem[] {
  const split = config.split;
  if (split === undefined) return [];
  const total = Object.values(split).reduce((sum, w) => sum + w, 0);
  if (Math.abs(total - 100) < 1e-9 || total <= 0) return [];
  const shares = Object.entries(split)
    .map(([version, weight]) => `${version} ${weight} → ${percent((weight / total) * 100)} %`)
    .join(", ");
  return [
    {
      code: "split_not_100",
      path: "split",
      message: `the weights sum to ${Math.round(total * 1e6) / 1e6}, not 100: each version gets its weight's share of the sum (${shares})`,
    },
  ];
}

/**
 * What the CLI says when a plan does not fit the router config it is checked against: the plan's side and the
 * config's side, each with its file.
 */
export function conflictProblems(planFile: string, plan: CompiledPlan, routerFile: string, router: Router): FileProblem[] {
  const problems: FileProblem[] = [];
  const config = router.config;
  const canary = config.canary ?? (config.versions.length === 2 ? config.versions.find((v) => v !== config.stable) : undefined);
  const sides: [key: "stable" | "canary", routerSide: string | undefined][] = [
    ["stable", config.stable],
    ["canary", canary],
  ];
  for (const [key, routerSide] of sides) {
    const planSide = plan.source[key];
    if (planSide !== undefined && routerSide !== undefined && planSide !== routerSide) {
      problems.push({ code: "conflict", path: `plan.${key}`, message: `${planFile} says ${key} "${planSide}"; ${routerFile} says ${key} "${routerSide}"` });
    }
  }
  return problems;
}

/**
 * One line about a valid router configuration.
 *
 * @example
 * ```ts
 * routerSummary(router.config); // "versions v1, v2 · stable v1 · canary v2 · split v1 90 % / v2 10 % · sticky key: header:x-user-id"
 * ```
 */
export function routerSummary(config: RouterConfig): string {
  const parts = [`versions ${config.versions.join(", ")}`, `stable ${config.stable}`];
  if (config.canary !== undefined) parts.push(`canary ${config.canary}`);
  const split = config.split ?? { [config.stable]: 100 };
  const total = Object.values(split).reduce((sum, w) => sum + w, 0);
  parts.push(`split ${config.versions.map((v) => `${v} ${percent(((Object.hasOwn(split, v) ? (split[v] as number) : 0) / total) * 100)} %`).join(" / ")}`);
  parts.push(`sticky key: ${(config.stickiness ?? ["key"]).join(" → ")}`);
  const count = (n: number | undefined, one: string): string | undefined => (n ? `${n} ${one}${n === 1 ? "" : "s"}` : undefined);
  for (const part of [
    count(config.overrides?.length, "header rule"),
    count(config.segments?.length, "segment"),
    count(config.experiments?.length, "experiment"),
    config.explicit === undefined ? undefined : "explicit versions",
    config.mirror === undefined ? undefined : `mirror ${config.mirror.percent} % → ${config.mirror.version}`,
    count(config.lifecycle === undefined ? undefined : Object.keys(config.lifecycle).length, "lifecycle"),
    config.salt ? `salt ${JSON.stringify(config.salt)}` : undefined,
  ]) {
    if (part !== undefined) parts.push(part);
  }
  return parts.join(" · ");
}

/**
 * One line about a valid rollout plan.
 *
 * @example
 * ```ts
 * planSummary(compilePlan(plan)); // "canary · 4 steps: 1 % 5m → 5 % 15m → 25 % 30m → 50 % 1h, then promote · …"
 * ```
 */
export function planSummary(plan: CompiledPlan): string {
  const steps = plan.steps.map((s) => `${percent(s.weight)} %${s.manual ? " manual" : s.holdMs > 0 ? ` ${formatDuration(s.holdMs)}` : ""}`);
  const shown = steps.length > 8 ? [...steps.slice(0, 4), "…", ...steps.slice(-3)] : steps;
  const finish = plan.source.strategy === "blueGreen" ? "then switch" : plan.source.finish === "hold" ? "then hold" : "then promote";
  const parts = [`${plan.source.strategy ?? "canary"}`, `${plan.steps.length} step${plan.steps.length === 1 ? "" : "s"}: ${shown.join(" → ")}, ${finish}`];
  const analysed = plan.steps.find((s) => s.analysis !== null)?.analysis ?? plan.windowAnalysis;
  if (analysed) {
    const criteria = [
      analysed.maxErrorRate === null ? undefined : `errors ≤ ${analysed.maxErrorRate} %`,
      analysed.maxErrorRateIncrease === null ? undefined : `errors ≤ stable + ${analysed.maxErrorRateIncrease} pt`,
      analysed.maxP99Ms === null ? undefined : `p99 ≤ ${analysed.maxP99Ms} ms`,
      analysed.maxP99Ratio === null ? undefined : `p99 ≤ ${analysed.maxP99Ratio}× stable`,
    ].filter((c) => c !== undefined);
    parts.push(`analysis: ${criteria.join(", ")} (every ${formatDuration(analysed.intervalMs)} over ${formatDuration(analysed.windowMs)})`);
  } else parts.push("no analysis");
  if (plan.rollbackWindowMs > 0) parts.push(`rollback window ${formatDuration(plan.rollbackWindowMs)}`);
  const timed = plan.steps.reduce((sum, s) => sum + (s.manual ? 0 : s.holdMs), 0);
  parts.push(`${formatDuration(timed)} of holds${plan.steps.some((s) => s.manual) ? " + manual approvals" : ""}`);
  return parts.join(" · ");
}

/**
 * Checks files; the first valid router configuration is also the one plans are checked against.
 *
 * @example
 * ```ts
 * const reports = validateFiles(["router.json", "rollout.json"], undefined, "validate");
 * ```
 */
export function validateFiles(files: readonly string[], forced: FileKind | undefined, command: string): FileReport[] {
  const reports: FileReport[] = [];
  const read = files.map((file) => ({ file, content: readJson(file, command) }));
  let firstRouter: { file: string; router: Router } | undefined;
  const plans: { index: number; plan: CompiledPlan }[] = [];
  for (const { file, content } of read) {
    if (!content.ok) {
      const { line, column, message } = content.error;
      reports.push({
        file,
        kind: forced ?? "router",
        valid: false,
        summary: null,
        problems: [{ code: "invalid_json", path: `${line}:${column}`, message: `line ${line}, column ${column}: ${message}` }],
        warnings: [],
      });
      continue;
    }
    const kind = forced ?? kindOf(content.value);
    if (kind === "router") {
      const { router, problems } = checkRouterConfig(content.value);
      if (router !== undefined && firstRouter === undefined) firstRouter = { file, router };
      const warnings = router === undefined ? [] : routerWarnings(router.config);
      reports.push({ file, kind, valid: router !== undefined, summary: router === undefined ? null : routerSummary(router.config), problems, warnings });
    } else {
      const problems = checkPlan(content.value);
      const plan = problems.length === 0 ? compilePlan(content.value as RolloutPlan) : undefined;
      if (plan !== undefined) plans.push({ index: reports.length, plan });
      reports.push({ file, kind, valid: plan !== undefined, summary: plan === undefined ? null : planSummary(plan), problems, warnings: [] });
    }
  }
  // A plan must fit the router it will drive: the library's own check (createRollout) says whether it does.
  if (firstRouter !== undefined) {
    for (const { index, plan } of plans) {
      const report = reports[index] as FileReport;
      const { file: routerFile, router } = firstRouter;
      try {
        createRollout(plan, { router, stats: createStats({ versions: router.config.versions }) }).stop();
      } catch (error) {
        if (!isTurnoutConfigError(error)) throw error;
        // A conflict names both sides: what the plan says and what the router config says, with their files.
        const conflicts = conflictProblems(report.file, plan, routerFile, router);
        const problems = error.problems.map((p) => conflicts.find((c) => c.path === p.path) ?? p);
        reports[index] = { ...report, valid: false, summary: null, problems };
      }
    }
  }
  return reports;
}

function render(out: Output, reports: readonly FileReport[]): void {
  const c = out.color;
  for (const report of reports) {
    const label = report.kind === "router" ? "router config" : "rollout plan";
    if (report.valid) {
      out.write(`${paint(c, "green", "✓")} ${paint(c, "bold", report.file)}: ${label}, valid — ${report.summary ?? ""}\n`);
      renderWarnings(out, report.warnings);
      continue;
    }
    const n = report.problems.length;
    out.write(`${paint(c, "red", "✗")} ${paint(c, "bold", report.file)}: ${label}, ${n} problem${n === 1 ? "" : "s"}\n`);
    const rows = report.problems.map((p) => [paint(c, "yellow", p.code), paint(c, "cyan", p.path || "(root)"), messageOf(p)]);
    for (const line of table(rows)) out.write(`    ${line}\n`);
  }
}

/**
 * Prints warnings under a file's line: `!` with code, path and message.
 *
 * @example
 * ```ts
 * renderWarnings(out, routerWarnings(router.config));
 * ```
 */
export function renderWarnings(out: Output, warnings: readonly FileProblem[]): void {
  const rows = warnings.map((w) => [paint(out.color, "yellow", `! ${w.code}`), paint(out.color, "cyan", w.path || "(root)"), messageOf(w)]);
  for (const line of table(rows)) out.write(`    ${line}\n`);
}

/** The message without its leading path (the table already shows the path). */
function messageOf(problem: FileProblem): string {
  const head = `${problem.path || "(root)"}: `;
  return problem.message.startsWith(head) ? problem.message.slice(head.length) : problem.message;
}

/**
 * Runs `turnout validate`; returns the exit code (0 valid, 1 invalid).
 *
 * @example
 * ```ts
 * process.exitCode = runValidate(["router.json"], process);
 * ```
 */
export function runValidate(argv: readonly string[], io: { readonly stdout: NodeJS.WriteStream; readonly env: NodeJS.ProcessEnv }): number {
  const parsed = parse("validate", argv, VALIDATE_OPTIONS);
  if (parsed.positionals.length === 0) throw new UsageError("name at least one file to check", "validate");
  const kind = text(parsed, "kind");
  if (kind !== undefined && kind !== "router" && kind !== "plan")
    throw new UsageError(`--kind: expected router or plan, got ${JSON.stringify(kind)}`, "validate");
  const color = flag(parsed, "color") ? true : flag(parsed, "no-color") ? false : undefined;
  const out = outputOf(io.stdout, io.env, color, undefined);
  const reports = validateFiles(parsed.positionals, kind, "validate");
  const valid = reports.every((r) => r.valid);
  if (flag(parsed, "json")) out.write(`${JSON.stringify({ valid, files: reports }, null, 2)}\n`);
  else render(out, reports);
  return valid ? 0 : 1;
}

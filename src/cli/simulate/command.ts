/**
 * `turnout simulate [config]`: the split of N keys, the keys that move to another config (`--to`), and a rollout
 * plan on a virtual clock (`--plan`), as tables and charts in the terminal, as JSON (`--json`) and as SVG (`--svg`).
 */
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import {
  type CompiledPlan,
  type Router,
  type RolloutPlan,
  type SimulationResult,
  type TrafficModel,
  type VersionBehaviour,
  compilePlan,
  formatDuration,
  isTurnoutConfigError,
  simulateRollout,
} from "../../index.js";
import { type Parsed, UsageError, duration, flag, number, parse, text } from "../args.js";
import { type RolloutChart, chartOfSimulation } from "../charts/series.js";
import { type SvgSection, movementSection, splitSection, svgDocument, timelineSection } from "../charts/svg.js";
import { barChart, timelineChart } from "../charts/terminal.js";
import { readJson } from "../files.js";
import { type Output, type StyleName, VERSION_STYLES, grouped, outputOf, paint, percent, table } from "../output.js";
import { type Progress, progressBar } from "../progress.js";
import { checkRouterConfig, conflictProblems, kindOf, renderWarnings, routerWarnings } from "../validate.js";
import { type MovementResult, type SplitResult, simulateMovement, simulateSplit } from "./keys.js";

/** The options of `turnout simulate`. */
export const SIMULATE_OPTIONS = {
  keys: { type: "string" },
  "key-prefix": { type: "string" },
  to: { type: "string" },
  "to-bucketing": { type: "string" },
  plan: { type: "string" },
  traffic: { type: "string" },
  rps: { type: "string" },
  "preview-rps": { type: "string" },
  "stable-error-rate": { type: "string" },
  "canary-error-rate": { type: "string" },
  "stable-latency": { type: "string" },
  "canary-latency": { type: "string" },
  seed: { type: "string" },
  "approve-after": { type: "string" },
  "fail-on-abort": { type: "boolean" },
  svg: { type: "string" },
  json: { type: "boolean" },
  width: { type: "string" },
  color: { type: "boolean" },
  "no-color": { type: "boolean" },
} as const;

/** The stable's behaviour when nothing says otherwise (the canary copies it). */
export const DEFAULT_BEHAVIOUR = { errorPercent: 0.5, latencyMs: { p50: 40, p99: 200 } } as const;

const C = "simulate";

/** Streams the command uses. */
export interface SimulateIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** A failure that is the input's fault (bad config, plan or traffic): problems listed, exit code 1. */
class InputProblems extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly { readonly code: string; readonly path: string; readonly message: string }[],
  ) {
    super(`${file}: ${problems.length} problem(s)`);
  }
}

function loadRouter(path: string): Router {
  const file = readJson(path, C);
  if (!file.ok) throw new InputProblems(path, [{ code: "invalid_json", path: `${file.error.line}:${file.error.column}`, message: file.error.message }]);
  const value = file.value;
  if (kindOf(value) === "plan" || (isRecord(value) && Object.hasOwn(value, "plan") && !Object.hasOwn(value, "versions"))) {
    throw new UsageError(`${path} is a rollout plan, not a router configuration: pass it with --plan (turnout simulate --plan ${path})`, C);
  }
  const { router, problems } = checkRouterConfig(value);
  if (router === undefined) throw new InputProblems(path, problems);
  return router;
}

/**
 * The same configuration under another bucketing scheme (`--to-bucketing turnout`, a JSON object, or a JSON file):
 * how many keys a switch of scheme would move.
 */
function rebucketed(router: Router, value: string): { router: Router; label: string } {
  let bucketing: unknown;
  if (value === "turnout") bucketing = { scheme: "turnout" };
  else if (value.trimStart().startsWith("{")) {
    try {
      bucketing = JSON.parse(value);
    } catch (error) {
      throw new UsageError(`--to-bucketing: not JSON: ${(error as Error).message}`, C);
    }
  } else {
    const file = readJson(value, C);
    if (!file.ok) throw new InputProblems(value, [{ code: "invalid_json", path: `${file.error.line}:${file.error.column}`, message: file.error.message }]);
    bucketing = file.value;
  }
  const label = `bucketing ${typeof bucketing === "object" && bucketing !== null ? String((bucketing as { scheme?: unknown }).scheme) : "?"}`;
  const { router: next, problems } = checkRouterConfig({ ...router.config, bucketing });
  if (next === undefined) throw new InputProblems(`--to-bucketing ${value}`, problems);
  return { router: next, label };
}

function latency(parsed: Parsed, name: string): { p50: number; p99: number } | undefined {
  const raw = text(parsed, name);
  if (raw === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(raw);
  if (match === null) throw new UsageError(`--${name}: expected "p50,p99" in milliseconds, e.g. 40,200; got ${JSON.stringify(raw)}`, C);
  return { p50: Number(match[1]), p99: Number(match[2]) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The traffic model: the file's (plan file or --traffic), then the flags on top, then the defaults. */
function trafficOf(parsed: Parsed, fromFile: unknown): TrafficModel {
  const base: Record<string, unknown> = isRecord(fromFile) ? { ...fromFile } : {};
  const behaviour = (value: unknown): Record<string, unknown> | undefined => (isRecord(value) ? value : undefined);
  const stableLatency = latency(parsed, "stable-latency");
  const canaryLatency = latency(parsed, "canary-latency");
  const stable: VersionBehaviour = {
    ...DEFAULT_BEHAVIOUR,
    ...(behaviour(base.stable) ?? {}),
    ...(text(parsed, "stable-error-rate") === undefined ? {} : { errorPercent: number(parsed, "stable-error-rate", 0, 0, 100, false, C) }),
    ...(stableLatency === undefined ? {} : { latencyMs: stableLatency }),
  };
  const canary: VersionBehaviour = {
    ...(behaviour(base.canary) ?? stable),
    ...(text(parsed, "canary-error-rate") === undefined ? {} : { errorPercent: number(parsed, "canary-error-rate", 0, 0, 100, false, C) }),
    ...(canaryLatency === undefined ? {} : { latencyMs: canaryLatency }),
  };
  return {
    ...base,
    requestsPerSecond:
      text(parsed, "rps") === undefined ? ((base.requestsPerSecond as number | undefined) ?? 1000) : number(parsed, "rps", 1000, 0, 10_000_000, false, C),
    ...(text(parsed, "preview-rps") === undefined ? {} : { previewRequestsPerSecond: number(parsed, "preview-rps", 0, 0, 10_000_000, false, C) }),
    stable: base.stable !== undefined && !isRecord(base.stable) ? (base.stable as VersionBehaviour) : stable,
    canary: base.canary !== undefined && !isRecord(base.canary) ? (base.canary as VersionBehaviour) : canary,
    seed: text(parsed, "seed") === undefined ? ((base.seed as number | undefined) ?? 1) : number(parsed, "seed", 1, -(2 ** 31), 2 ** 31, true, C),
  } as TrafficModel;
}

interface PlanRun {
  readonly file: string;
  readonly plan: CompiledPlan;
  readonly traffic: TrafficModel;
  readonly result: SimulationResult;
  readonly wallMs: number;
  readonly stable: string;
  readonly canary: string;
  readonly chart: RolloutChart;
}

function describeBehaviour(b: VersionBehaviour | undefined): string {
  const latencyMs = b?.latencyMs ?? { p50: 50, p99: 250 };
  return `${percent(b?.errorPercent ?? 0)} % errors, p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms`;
}

function runPlan(parsed: Parsed, router: { file: string; router: Router } | undefined, progress: Progress): PlanRun {
  const path = text(parsed, "plan") as string;
  const file = readJson(path, C);
  if (!file.ok) throw new InputProblems(path, [{ code: "invalid_json", path: `${file.error.line}:${file.error.column}`, message: file.error.message }]);
  // A plan file is a plan, or { plan, traffic }.
  const wrapped = isRecord(file.value) && Object.hasOwn(file.value, "plan") && !Object.hasOwn(file.value, "steps");
  const planValue = wrapped ? (file.value as Record<string, unknown>).plan : file.value;
  let trafficValue: unknown = wrapped ? (file.value as Record<string, unknown>).traffic : undefined;
  const trafficPath = text(parsed, "traffic");
  if (trafficPath !== undefined) {
    const t = readJson(trafficPath, C);
    if (!t.ok) throw new InputProblems(trafficPath, [{ code: "invalid_json", path: `${t.error.line}:${t.error.column}`, message: t.error.message }]);
    trafficValue = t.value;
  }
  let plan: CompiledPlan;
  try {
    plan = compilePlan(planValue as RolloutPlan);
  } catch (error) {
    if (isTurnoutConfigError(error))
      throw new InputProblems(
        path,
        error.problems.map((p) => ({ ...p, path: wrapped ? `plan.${p.path}` : p.path })),
      );
    throw error;
  }
  if (router !== undefined) {
    const conflicts = conflictProblems(path, plan, router.file, router.router);
    if (conflicts.length > 0) throw new InputProblems(path, conflicts);
  }
  const traffic = trafficOf(parsed, trafficValue);
  const stable = router?.router.config.stable ?? plan.source.stable ?? "v1";
  const canary =
    router === undefined ? (plan.source.canary ?? "v2") : (router.router.config.canary ?? router.router.config.versions.find((v) => v !== stable) ?? "v2");
  const approveAfter = duration(parsed, "approve-after", undefined, C);
  let nominal = plan.rollbackWindowMs;
  for (const step of plan.steps) nominal += step.manual ? (approveAfter ?? 0) : step.holdMs;
  const sampleEvery = Math.max(10_000, Math.ceil(nominal / 600 / 10_000) * 10_000);
  const sliceMs = Math.max(10_000, Math.ceil(nominal / 20_000 / 1000) * 1000);
  const started = performance.now();
  let result: SimulationResult;
  try {
    result = simulateRollout(plan, traffic, {
      stable,
      canary,
      sampleEvery,
      sliceMs: Math.min(sliceMs, sampleEvery),
      ...(approveAfter === undefined ? {} : { approveAfter }),
      onProgress: (fraction) => progress.update(fraction),
    });
  } catch (error) {
    progress.done();
    if (isTurnoutConfigError(error)) {
      const where = error.message.includes("traffic model") ? (trafficPath ?? (wrapped ? `${path} (traffic)` : "the traffic flags")) : path;
      throw new InputProblems(where, error.problems);
    }
    throw error;
  }
  progress.done();
  const wallMs = performance.now() - started;
  const { passed, failed, inconclusive } = result.checks;
  const title = `Rollout simulation — ${plan.source.name ?? path}`;
  const subtitle = [
    `${result.outcome} after ${formatDuration(result.durationMs)} (virtual time)`,
    `${grouped(traffic.requestsPerSecond)} req/s`,
    `${canary}: ${describeBehaviour(traffic.canary)}`,
    `${stable}: ${describeBehaviour(traffic.stable)}`,
    `checks ${passed} passed, ${inconclusive} inconclusive, ${failed} failed`,
  ].join("  ·  ");
  const chart = chartOfSimulation(result, plan, { title, subtitle, stable, canary });
  return { file: path, plan, traffic, result, wallMs, stable, canary, chart };
}

// ---- rendering ----------------------------------------------------------------------------------------------------

function style(i: number): StyleName {
  return VERSION_STYLES[i % VERSION_STYLES.length] as StyleName;
}

function renderSplit(out: Output, file: string, split: SplitResult): void {
  const c = out.color;
  out.write(
    `${paint(c, "bold", `Split of ${grouped(split.keys)} keys`)} — ${file} (keys "${split.prefix}0" … "${split.prefix}${split.keys - 1}" via ${split.source})\n\n`,
  );
  const rows = [["version", "keys", "share", "split", "diff", "σ"].map((h) => paint(c, "dim", h))];
  for (const r of split.rows) {
    const diff = (r.share - r.expected) * 100;
    rows.push([
      r.version,
      grouped(r.keys),
      `${percent(r.share * 100)} %`,
      `${percent(r.expected * 100)} %`,
      `${diff >= 0 ? "+" : "−"}${Math.abs(diff).toFixed(2)}`,
      Math.abs(r.sigma).toFixed(1),
    ]);
  }
  for (const line of table(rows, [1, 2, 3, 4, 5])) out.write(`  ${line}\n`);
  out.write("\n");
  const bars = barChart(
    split.rows.map((r, i) => ({ label: r.version, fraction: r.share, value: `${percent(r.share * 100)} %`, style: style(i), mark: r.expected })),
    out.width,
    c,
  );
  for (const line of bars) out.write(`${line}\n`);
  const worst = Math.max(0, ...split.rows.map((r) => Math.abs(r.sigma)));
  const reasons = Object.entries(split.reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${reason} ${percent((count / Math.max(1, split.keys)) * 100)} %`)
    .join(", ");
  out.write(
    `\n  ${paint(c, "dim", `largest deviation ${worst.toFixed(1)} σ (${worst <= 4 ? "within sampling error" : "more than sampling error explains: rules other than the split decide some keys"}) · reasons: ${reasons}`)}\n`,
  );
}

function renderMovement(out: Output, from: string, to: string, m: MovementResult): void {
  const c = out.color;
  const minimal = m.moved === m.minimum;
  out.write(`\n${paint(c, "bold", "Movement")} — ${from} → ${to}, the same ${grouped(m.keys)} keys\n\n`);
  const rows = [[paint(c, "dim", "from \\ to"), ...m.versions.map((v) => paint(c, "dim", v))]];
  m.versions.forEach((v, i) =>
    rows.push([
      v,
      ...m.versions.map((_, j) => {
        const count = (m.matrix[i] as number[])[j] as number;
        return i !== j && count > 0 ? paint(c, "yellow", grouped(count)) : grouped(count);
      }),
    ]),
  );
  for (const line of table(
    rows,
    m.versions.map((_, i) => i + 1),
  ))
    out.write(`  ${line}\n`);
  out.write("\n");
  out.write(`  moved     ${grouped(m.moved)} keys (${percent((m.moved / Math.max(1, m.keys)) * 100)} %)\n`);
  out.write(
    `  minimum   ${grouped(m.minimum)} keys (${percent((m.minimum / Math.max(1, m.keys)) * 100)} %): the total-variation distance between the observed splits\n`,
  );
  out.write(`  configured splits differ by ${percent(m.configuredDistance * 100)} % (½ Σ |before − after|)\n`);
  out.write(
    minimal
      ? `  ${paint(c, "green", "✓ minimal")}: only keys that had to change version did\n`
      : `  ${paint(c, "red", "✗ not minimal")}: ${grouped(m.moved - m.minimum)} keys moved without need (a new salt, new stickiness or reordered versions reshuffles keys)\n`,
  );
}

function renderPlan(out: Output, run: PlanRun): void {
  const c = out.color;
  const { result, chart } = run;
  out.write(`\n${paint(c, "bold", chart.title)}\n`);
  out.write(
    `${paint(c, "dim", `traffic: ${grouped(run.traffic.requestsPerSecond)} req/s · ${run.canary} ${describeBehaviour(run.traffic.canary)} · ${run.stable} ${describeBehaviour(run.traffic.stable)} · seed ${run.traffic.seed ?? 1}`)}\n\n`,
  );
  for (const line of timelineChart(chart, out.width, c)) out.write(`${line}\n`);
  const outcomeStyle: StyleName = result.outcome === "aborted" || result.outcome === "timeout" ? "red" : result.outcome === "paused" ? "yellow" : "green";
  out.write("\n");
  out.write(
    `  outcome   ${paint(c, outcomeStyle, result.outcome)} at ${percent(result.finalWeight)} % after ${formatDuration(result.durationMs)} of virtual time (simulated in ${Math.round(run.wallMs)} ms)\n`,
  );
  out.write(
    `  checks    ${result.checks.passed} passed, ${result.checks.inconclusive} inconclusive, ${result.checks.failed} failed · health checks passed: ${result.healthChecksPassed}\n`,
  );
  out.write(`  requests  ${run.stable} ${grouped(result.requests.stable)} · ${run.canary} ${grouped(result.requests.canary)}\n`);
  out.write("  events\n");
  let failedShown = 0;
  for (const event of result.events) {
    if (event.type === "check" && (event.health?.verdict !== "fail" || failedShown++ >= 5)) continue;
    const elapsed = event.at - (result.events[0]?.at ?? event.at);
    const at = elapsed === 0 ? "0" : formatDuration(elapsed);
    const tone: StyleName | undefined =
      event.type === "aborted" || event.type === "check" ? "red" : event.type === "promoted" || event.type === "completed" ? "green" : undefined;
    out.write(
      `    ${at.padStart(8)}  ${paint(c, tone, event.type.padEnd(12))} ${`${percent(event.weight)} %`.padStart(7)}  ${paint(c, "dim", event.message)}\n`,
    );
  }
}

function renderProblems(out: Output, failure: InputProblems): void {
  const c = out.color;
  out.write(`${paint(c, "red", "✗")} ${paint(c, "bold", failure.file)}: ${failure.problems.length} problem${failure.problems.length === 1 ? "" : "s"}\n`);
  const rows = failure.problems.map((p) => [
    paint(c, "yellow", p.code),
    paint(c, "cyan", p.path || "(root)"),
    p.message.startsWith(`${p.path}: `) ? p.message.slice(p.path.length + 2) : p.message,
  ]);
  for (const line of table(rows)) out.write(`    ${line}\n`);
}

/**
 * Runs `turnout simulate`; returns the exit code (0 done, 1 invalid input, 3 with `--fail-on-abort` a simulated
 * rollout that aborted or timed out).
 *
 * @example
 * ```ts
 * process.exitCode = await runSimulate(["router.json", "--keys", "1000000"], process);
 * ```
 */
export async function runSimulate(argv: readonly string[], io: SimulateIo): Promise<number> {
  const parsed = parse(C, argv, SIMULATE_OPTIONS);
  if (parsed.positionals.length > 1) throw new UsageError(`expected one configuration, got ${parsed.positionals.length} (${parsed.positionals.join(", ")})`, C);
  const configPath = parsed.positionals[0];
  const planPath = text(parsed, "plan");
  if (configPath === undefined && planPath === undefined) throw new UsageError("name a router configuration, a --plan, or both", C);
  if (text(parsed, "to") !== undefined && configPath === undefined) throw new UsageError("--to compares with a configuration: name the first one too", C);
  if (text(parsed, "to-bucketing") !== undefined && (configPath === undefined || text(parsed, "to") !== undefined)) {
    throw new UsageError("--to-bucketing compares the configuration with itself under another scheme: name one configuration, without --to", C);
  }
  const keys = number(parsed, "keys", 100_000, 1, 10_000_000, true, C);
  const prefix = text(parsed, "key-prefix") ?? "user-";
  const width = text(parsed, "width") === undefined ? undefined : number(parsed, "width", 100, 40, 240, true, C);
  const color = flag(parsed, "color") ? true : flag(parsed, "no-color") ? false : undefined;
  const out = outputOf(io.stdout, io.env, color, width);
  const json = flag(parsed, "json");
  const svgPath = text(parsed, "svg");
  const sections: SvgSection[] = [];
  const report: Record<string, unknown> = {};
  let outcome: SimulationResult["outcome"] | undefined;

  try {
    const router = configPath === undefined ? undefined : loadRouter(configPath);
    if (router !== undefined && configPath !== undefined) {
      const warnings = routerWarnings(router.config);
      if (warnings.length > 0) {
        report.warnings = warnings;
        if (!json) {
          const err = outputOf(io.stderr, io.env, color, width);
          err.write(`${paint(err.color, "yellow", "!")} ${configPath}: ${warnings.length} warning${warnings.length === 1 ? "" : "s"}\n`);
          renderWarnings(err, warnings);
        }
      }
      const progress = keys >= 200_000 ? progressBar(io.stderr, "routing keys") : progressBar({ write: () => undefined }, "");
      const split = simulateSplit(router, keys, prefix, (f) => progress.update(f));
      progress.done();
      report.split = split;
      if (!json) renderSplit(out, configPath, split);
      sections.push(
        splitSection(`Split of ${grouped(keys)} keys`, `${configPath} · keys "${prefix}0" … "${prefix}${keys - 1}" via ${split.source}`, split.rows),
      );
      const toBucketing = text(parsed, "to-bucketing");
      const other = toBucketing !== undefined ? rebucketed(router, toBucketing) : undefined;
      const toPath = other?.label ?? text(parsed, "to");
      if (toPath !== undefined) {
        const next = other?.router ?? loadRouter(toPath);
        const moving = keys >= 200_000 ? progressBar(io.stderr, "comparing") : progressBar({ write: () => undefined }, "");
        const movement = simulateMovement(router, next, keys, prefix, (f) => moving.update(f));
        moving.done();
        report.movement = { from: configPath, to: toPath, ...movement, minimal: movement.moved === movement.minimum };
        if (!json) renderMovement(out, configPath, toPath, movement);
        const share = percent((movement.moved / keys) * 100);
        sections.push(
          movementSection(
            `${share} % of keys change version (minimum ${percent((movement.minimum / keys) * 100)} %${movement.moved === movement.minimum ? ", so no key moves without need" : ""})`,
            `${configPath} → ${toPath} · ${grouped(keys)} keys · configured splits differ by ${percent(movement.configuredDistance * 100)} %`,
            movement.versions,
            movement.matrix,
          ),
        );
      }
    }
    if (planPath !== undefined) {
      const run = runPlan(
        parsed,
        router === undefined || configPath === undefined ? undefined : { file: configPath, router },
        progressBar(io.stderr, "simulating"),
      );
      outcome = run.result.outcome;
      report.rollout = {
        file: run.file,
        outcome: run.result.outcome,
        finalWeight: run.result.finalWeight,
        healthChecksPassed: run.result.healthChecksPassed,
        checks: run.result.checks,
        durationMs: run.result.durationMs,
        wallMs: Math.round(run.wallMs * 10) / 10,
        requests: run.result.requests,
        traffic: run.traffic,
        events: run.result.events.filter((e) => e.type !== "check" || e.health?.verdict === "fail").map(({ health: _h, ...e }) => e),
        timeline: run.result.timeline,
      };
      if (!json) renderPlan(out, run);
      sections.push(timelineSection(run.chart));
    }
  } catch (error) {
    if (!(error instanceof InputProblems)) throw error;
    if (json) out.write(`${JSON.stringify({ valid: false, file: error.file, problems: error.problems }, null, 2)}\n`);
    else renderProblems(out, error);
    return 1;
  }

  if (svgPath !== undefined) {
    try {
      writeFileSync(svgPath, svgDocument(`turnout simulate ${argv.join(" ")}`, sections));
    } catch (error) {
      throw new UsageError(`--svg: cannot write ${svgPath}: ${(error as Error).message}`, C);
    }
    if (!json) out.write(`\n${paint(out.color, "dim", `wrote ${svgPath}`)}\n`);
  }
  if (json) out.write(`${JSON.stringify(report, null, 2)}\n`);
  return flag(parsed, "fail-on-abort") && (outcome === "aborted" || outcome === "timeout") ? 3 : 0;
}

/**
 * The `turnout` command. Built by tsup to dist/cli.js with a `#!/usr/bin/env node` banner.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./args.js";
import { runDashboard } from "./dashboard.js";
import { helpOf } from "./help.js";
import { runNode } from "./node/command.js";
import { runSimulate } from "./simulate/command.js";
import { runValidate } from "./validate.js";

const COMMANDS = ["node", "validate", "simulate", "dashboard", "help"];

function version(): string {
  for (const candidate of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "turnout" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // try the next place
    }
  }
  return "unknown";
}

/**
 * Runs `turnout` with `argv` (without the node and script paths); resolves with the exit code.
 *
 * @example
 * ```ts
 * // `turnout simulate … | head`: the reader went away; stop quietly instead of crashing with EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      process.stderr.write(helpOf(undefined) as string);
      return 2;
    }
    if (command === "-h" || command === "--help") {
      process.stdout.write(helpOf(undefined) as string);
      return 0;
    }
    if (command === "-v" || command === "--version") {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === "help") {
      const text = helpOf(rest[0]);
      if (text === undefined) throw new UsageError(`unknown command ${JSON.stringify(rest[0])}`);
      process.stdout.write(text);
      return 0;
    }
    if (!COMMANDS.includes(command)) {
      const near = COMMANDS.find((name) => name.startsWith(command.slice(0, 2)));
      throw new UsageError(`unknown command ${JSON.stringify(command)}${near === undefined ? "" : ` (did you mean ${near}?)`}`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(helpOf(command) as string);
      return 0;
    }
    switch (command) {
      case "node":
        return await runNode(rest, process);
      case "validate":
        return runValidate(rest, process);
      case "dashboard":
        return await runDashboard(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: () => process.cwd() });
      default:
        return await runSimulate(rest, process);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      const where = error.command === undefined ? "turnout" : `turnout ${error.command}`;
      process.stderr.write(`${where}: ${error.message}\nRun '${where} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`turnout: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

// `turnout simulate … | head`: the reader went away; stop quietly instead of crashing with EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));

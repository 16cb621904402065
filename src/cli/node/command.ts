/**
 * `turnout node`: the JSON-lines node on stdin/stdout.
 */
import { type KeylessMode, type RouterConfig, isTurnoutConfigError } from "../../index.js";
import { mulberry32 } from "../../internal/random.js";
import { type Parsed, UsageError, number, parse, text } from "../args.js";
import { readJson } from "../files.js";
import { createNode, defaultNodeConfig } from "./node.js";
import { FrameReader } from "./wire.js";

/** The options of `turnout node`. */
export const NODE_OPTIONS = {
  envelope: { type: "boolean" },
  config: { type: "string" },
  service: { type: "string" },
  keyless: { type: "string" },
  window: { type: "string" },
  resolution: { type: "string" },
  "min-requests": { type: "string" },
  seed: { type: "string" },
  "node-id": { type: "string" },
} as const;

const KEYLESS = ["round-robin", "random", "stable"] as const;

/** Streams that the node reads and writes. */
export interface NodeIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * Runs the node until stdin ends; resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runNode(["--envelope"], process);
 * ```
 */
export async function runNode(argv: readonly string[], io: NodeIo): Promise<number> {
  const parsed: Parsed = parse("node", argv, NODE_OPTIONS);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`, "node");
  const keyless = text(parsed, "keyless");
  if (keyless !== undefined && !(KEYLESS as readonly string[]).includes(keyless)) {
    throw new UsageError(`--keyless: expected one of ${KEYLESS.join(", ")}, got ${JSON.stringify(keyless)}`, "node");
  }
  const configPath = text(parsed, "config");
  if (configPath !== undefined && keyless !== undefined)
    throw new UsageError('--keyless applies to the default configuration; set "keyless" in the --config file instead', "node");
  let config: RouterConfig = defaultNodeConfig((keyless as KeylessMode | undefined) ?? "round-robin");
  if (configPath !== undefined) {
    const file = readJson(configPath, "node");
    if (!file.ok) throw new UsageError(`${configPath}:${file.error.line}:${file.error.column}: ${file.error.message}`, "node");
    config = file.value as RouterConfig;
  }
  const seed = text(parsed, "seed") === undefined ? undefined : number(parsed, "seed", 0, 0, 2 ** 32 - 1, true, "node");
  const minRequests = text(parsed, "min-requests") === undefined ? undefined : number(parsed, "min-requests", 100, 0, 1e12, true, "node");
  let node: ReturnType<typeof createNode>;
  try {
    node = createNode({
      config,
      envelope: parsed.values.envelope === true,
      ...(text(parsed, "service") === undefined ? {} : { service: text(parsed, "service") as string }),
      ...(text(parsed, "node-id") === undefined ? {} : { nodeId: text(parsed, "node-id") as string }),
      ...(seed === undefined ? {} : { rng: mulberry32(seed) }),
      stats: {
        ...(text(parsed, "window") === undefined ? {} : { window: text(parsed, "window") as string }),
        ...(text(parsed, "resolution") === undefined ? {} : { resolution: text(parsed, "resolution") as string }),
        ...(minRequests === undefined ? {} : { minRequests }),
      },
    });
  } catch (error) {
    if (isTurnoutConfigError(error)) {
      throw new UsageError(`${configPath ?? "the node's options"}: ${error.problems.map((p) => `[${p.code}] ${p.message}`).join("; ")}`, "node");
    }
    throw error;
  }

  return new Promise<number>((resolve) => {
    let closed = false;
    const out = (line: string): void => {
      if (closed) return;
      // Pipes and files are written synchronously on Linux and macOS: each reply is out before the next is read.
      io.stdout.write(`${line}\n`);
    };
    const reader = new FrameReader((frame) => out(node.reply(frame)));
    io.stdin.setEncoding("utf8");
    io.stdin.on("data", (chunk: string | Buffer) => reader.feed(typeof chunk === "string" ? chunk : chunk.toString("utf8")));
    io.stdin.on("end", () => {
      reader.end();
      resolve(0);
    });
    io.stdin.on("error", (error: unknown) => {
      io.stderr.write(`turnout node: cannot read stdin: ${String(error)}\n`);
      resolve(1);
    });
    if ("on" in io.stdout && typeof (io.stdout as NodeJS.WritableStream).on === "function") {
      (io.stdout as NodeJS.WritableStream).once("error", () => {
        // The reader went away (EPIPE): nobody is listening any more.
        closed = true;
        io.stdin.pause();
        resolve(0);
      });
    }
  });
}

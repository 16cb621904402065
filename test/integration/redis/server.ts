/**
 * A real redis-server for the tests: started on a free 127.0.0.1 port with no config file, no RDB snapshots and (by
 * default) no AOF, in a temporary directory; stopped by the tests. With `persist: true` it writes an append-only file
 * with `appendfsync always`, so a restart (even after SIGKILL) loses nothing that was acknowledged.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The redis-server binary: `TURNOUT_REDIS_SERVER` if set (a path), else the one on PATH; undefined when there is none. */
export function redisServerPath(): string | undefined {
  const override = process.env.TURNOUT_REDIS_SERVER;
  if (override !== undefined && override !== "") {
    try {
      accessSync(override, constants.X_OK);
      return override;
    } catch {
      return undefined;
    }
  }
  try {
    const found = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
    return found === "" ? undefined : found;
  } catch {
    return undefined;
  }
}

export const REDIS_SKIP_MESSAGE =
  "Redis suite skipped: redis-server is not on PATH. Install it (Debian: apt-get install -y redis-server, or run .ci/redis.sh) to run the turnout/redis tests.";

/** Whether the Redis tests run here; prints why not, once per file. Under CI a missing server is an error, not a skip. */
export function redisAvailable(): boolean {
  if (redisServerPath() !== undefined) return true;
  if (process.env.CI === "true") throw new Error(`redis-server is missing on CI (.ci/redis.sh should have installed it). ${REDIS_SKIP_MESSAGE}`);
  console.warn(`\n⚠ ${REDIS_SKIP_MESSAGE}\n`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (same data when persistent). */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** An append-only file with fsync on every write: a restart loses nothing acknowledged. */
  readonly persist?: boolean;
  /** More arguments (cluster mode, `--replicaof`, …). */
  readonly args?: readonly string[];
  /** Runs as a Sentinel with this configuration file text (the port and bind are added; Sentinel rewrites the file). */
  readonly sentinel?: string;
}

export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error(REDIS_SKIP_MESSAGE);
  const dir = mkdtempSync(join(tmpdir(), "turnout-redis-"));
  let port = 0;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const sentinelArgs: string[] = [];
    if (options.sentinel !== undefined) {
      const file = join(dir, "sentinel.conf");
      if (!existsSync(file)) writeFileSync(file, options.sentinel);
      sentinelArgs.push(file, "--sentinel");
    }
    const args = [...sentinelArgs, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"];
    if (options.sentinel === undefined) args.push("--save", "", "--enable-debug-command", "local");
    if (options.sentinel === undefined) args.push(...(options.persist === true ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
    args.push(...(options.args ?? []));
    const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let output = "";
    proc.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    // Ready when it answers PING on the port.
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output.slice(-500)}`);
      if (await ping(port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}: ${output.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await stop("SIGKILL");
      if (attempt >= 4) throw error; // the port was taken between the probe and the launch: try another
    }
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start: launch,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PING over a raw socket: true when the server answers PONG. */
async function ping(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

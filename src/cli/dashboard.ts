/**
 * `turnout dashboard`: serves the dashboard of a fleet's rollout stored in Redis. No Redis library is bundled: the
 * user's `redis` (node-redis) or `ioredis` is loaded when the command runs, from the working directory first.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isTurnoutConfigError } from "../index.js";
import type * as DashboardModule from "../integrations/dashboard.js";
import type * as RedisModule from "../integrations/redis.js";
import type { RedisClientLike } from "../integrations/redis.js";
import type { RolloutPlan } from "../rollout/types.js";
import { type Parsed, UsageError, number, parse, text } from "./args.js";
import { readJson } from "./files.js";

/** The options of `turnout dashboard`. */
export const DASHBOARD_OPTIONS = {
  redis: { type: "string" },
  plan: { type: "string" },
  namespace: { type: "string" },
  rollout: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "token-env": { type: "string" },
  actor: { type: "string" },
  client: { type: "string" },
} as const;

const CLIENTS = ["redis", "ioredis"] as const;
type ClientName = (typeof CLIENTS)[number];
const DEFAULT_TOKEN_ENV = "TURNOUT_DASHBOARD_TOKEN";
const MIN_TOKEN_LENGTH = 16;

/** What the command writes to and reads from. */
export interface DashboardIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: () => string;
}

/**
 * One of the package's own entries (`turnout/redis`, `turnout/dashboard`), loaded when the command runs so that the
 * other commands' bundle does not carry them. The specifier is a variable: the bundler leaves it to Node, which
 * resolves the package's name from inside the package to its own `exports`.
 */
function own<T>(entry: string): Promise<T> {
  return import(entry) as Promise<T>;
}

/** A failure that is not a usage error: exit code 1 with this message. */
class DashboardError extends Error {}

/** Loads a Redis client library: from the working directory's node_modules, else from where turnout is installed. */
async function load(name: ClientName, cwd: string): Promise<Record<string, unknown> | undefined> {
  const candidates: (() => Promise<unknown>)[] = [() => import(pathToFileURL(createRequire(join(cwd, "package.json")).resolve(name)).href), () => import(name)];
  for (const candidate of candidates) {
    try {
      return (await candidate()) as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") throw error;
    }
  }
  return undefined;
}

interface Connected {
  readonly client: RedisClientLike;
  readonly name: ClientName;
  close(): Promise<void>;
}

/** Connects with node-redis or ioredis (the one asked for, else the first installed). */
async function connect(url: string, wanted: ClientName | undefined, cwd: string, stderr: DashboardIo["stderr"]): Promise<Connected> {
  for (const name of wanted === undefined ? CLIENTS : [wanted]) {
    const mod = await load(name, cwd);
    if (mod === undefined) continue;
    const warn = (error: unknown): void => void stderr.write(`turnout dashboard: redis: ${error instanceof Error ? error.message : String(error)}\n`);
    if (name === "redis") {
      const createClient = (mod.createClient ?? (mod.default as Record<string, unknown> | undefined)?.createClient) as
        | ((options: object) => RedisClientLike & {
            connect(): Promise<unknown>;
            close?(): Promise<unknown>;
            quit?(): Promise<unknown>;
            destroy?(): void;
            disconnect?(): unknown;
          })
        | undefined;
      if (typeof createClient !== "function") throw new DashboardError("the installed redis package has no createClient: install redis 5 or 6");
      const client = createClient({ url, socket: { connectTimeout: 5000 } });
      let warned = false;
      client.on("error", (error: unknown) => {
        if (!warned) warn(error);
        warned = true;
      });
      client.on("ready", () => (warned = false));
      try {
        await withTimeout(client.connect(), 5000, url);
      } catch (error) {
        // node-redis goes on reconnecting after a failed first connection: stop it, or the process never exits
        if (client.destroy !== undefined) client.destroy();
        else void Promise.resolve(client.disconnect?.()).catch(() => undefined);
        throw error;
      }
      return { client, name, close: async () => void (await (client.close ?? client.quit)?.call(client).catch(() => undefined)) };
    }
    const Redis = (mod.Redis ?? (mod.default as Record<string, unknown> | undefined)?.Redis ?? mod.default) as
      | (new (url: string, options: object) => RedisClientLike & { connect(): Promise<unknown>; quit(): Promise<unknown>; disconnect(): void })
      | undefined;
    if (typeof Redis !== "function") throw new DashboardError("the installed ioredis package has no Redis class: install ioredis 5 or 6");
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 5000 });
    client.on("error", warn);
    try {
      await withTimeout(client.connect(), 5000, url);
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return { client, name, close: async () => void (await client.quit().catch(() => undefined)) };
  }
  throw new DashboardError(
    wanted === undefined
      ? "no Redis client library found: install redis (npm install redis) or ioredis (npm install ioredis) where you run turnout"
      : `the ${wanted} package is not installed: npm install ${wanted}`,
  );
}

async function withTimeout(promise: Promise<unknown>, ms: number, url: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new DashboardError(`cannot reach Redis at ${redacted(url)} within ${ms} ms`)), ms);
      }),
    ]);
  } catch (error) {
    if (error instanceof DashboardError) throw error;
    throw new DashboardError(`cannot connect to Redis at ${redacted(url)}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return url;
  }
}

/**
 * Serves the dashboard until SIGINT or SIGTERM; resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runDashboard(["--redis", "redis://127.0.0.1:6379", "--plan", "rollout.json"], { ...process, cwd: process.cwd });
 * ```
 */
export async function runDashboard(argv: readonly string[], io: DashboardIo): Promise<number> {
  const parsed: Parsed = parse("dashboard", argv, DASHBOARD_OPTIONS);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`, "dashboard");
  const url = text(parsed, "redis") ?? io.env.REDIS_URL;
  if (url === undefined || url === "") throw new UsageError("--redis <url> is required (or set REDIS_URL)", "dashboard");
  if (!/^rediss?:\/\//.test(url)) throw new UsageError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(redacted(url))}`, "dashboard");
  const planPath = text(parsed, "plan");
  if (planPath === undefined) throw new UsageError("--plan <file> is required: the rollout plan the controllers run", "dashboard");
  const client = text(parsed, "client");
  if (client !== undefined && !(CLIENTS as readonly string[]).includes(client))
    throw new UsageError(`--client: expected redis or ioredis, got ${JSON.stringify(client)}`, "dashboard");
  const host = text(parsed, "host") ?? "127.0.0.1";
  const port = number(parsed, "port", 8080, 0, 65_535, true, "dashboard");
  const tokenEnv = text(parsed, "token-env") ?? DEFAULT_TOKEN_ENV;
  const token = io.env[tokenEnv];
  if (token !== undefined && token !== "" && (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)))
    throw new UsageError(`${tokenEnv}: a token needs at least ${MIN_TOKEN_LENGTH} printable characters without spaces`, "dashboard");
  const actor = text(parsed, "actor") ?? "operator";
  const file = readJson(planPath, "dashboard");
  if (!file.ok) throw new UsageError(`${planPath}:${file.error.line}:${file.error.column}: ${file.error.message}`, "dashboard");

  let connected: Connected;
  try {
    connected = await connect(url, client as ClientName | undefined, io.cwd(), io.stderr);
  } catch (error) {
    if (!(error instanceof DashboardError)) throw error;
    io.stderr.write(`turnout dashboard: ${error.message}\n`);
    return 1;
  }
  const [{ createRedisStore }, { createDashboard }] = await Promise.all([
    own<typeof RedisModule>("turnout/redis"),
    own<typeof DashboardModule>("turnout/dashboard"),
  ]);
  let dashboard: ReturnType<typeof createDashboard>;
  try {
    const store = createRedisStore(connected.client, {
      ...(text(parsed, "namespace") === undefined ? {} : { namespace: text(parsed, "namespace") as string }),
      logger: { warn: () => undefined, error: () => undefined },
    });
    const plan = file.value as RolloutPlan;
    const rollout = text(parsed, "rollout");
    dashboard = createDashboard({
      source: store.dashboardSource(plan, rollout === undefined ? {} : { name: rollout }),
      plan,
      ...(token === undefined || token === "" ? {} : { tokens: { [actor]: token } }),
    });
  } catch (error) {
    await connected.close();
    if (isTurnoutConfigError(error)) {
      io.stderr.write(`turnout dashboard: ${error.problems.map((p) => `[${p.code}] ${p.path}: ${p.message}`).join("\n  ")}\n`);
      return 1;
    }
    throw error;
  }

  const server = createServer((req, res) => dashboard.node(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    dashboard.close();
    await connected.close();
    io.stderr.write(`turnout dashboard: cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const mode = token === undefined || token === "" ? `read-only (set ${tokenEnv} to enable controls)` : `controls enabled for ${actor}`;
  io.stdout.write(`turnout dashboard: http://${shown}:${address.port}/ · ${connected.name} · ${mode}\n`);

  return new Promise<number>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      dashboard.close();
      server.closeAllConnections();
      server.close(() => void connected.close().then(() => resolve(0)));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

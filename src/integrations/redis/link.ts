/**
 * The connection to Redis as turnout uses it: raw commands with a deadline, nothing sent while the client is
 * offline (node-redis would queue it for the reconnect, and a poll loop would pile up commands), Lua scripts by
 * SHA with a fallback to EVAL, and the replies read defensively.
 */
import { createHash, randomBytes } from "node:crypto";
import { isTurnoutConfigError } from "../../errors.js";
import type { Logger } from "../../types.js";
import type { Connection } from "./client.js";
import { RedisFailure } from "./types.js";

/**
 * A failure of `turnout/redis`, with a machine-readable reason.
 *
 * @example
 * ```ts
 * if (error instanceof TurnoutRedisError && error.reason === "timeout") metrics.redisTimeouts.inc();
 * ```
 */
export class TurnoutRedisError extends Error {
  /** Why. */
  readonly reason: RedisFailure;

  constructor(reason: RedisFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TurnoutRedisError";
    this.reason = reason;
  }
}

/** A short random id: instance and controller names, write nonces. */
export function randomId(bytes = 6): string {
  return randomBytes(bytes).toString("hex");
}

export function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** Runs `fn`, reporting what it throws instead of letting it escape (listeners must not break the loops). */
export function guarded(logger: Logger, what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    try {
      logger.error(`turnout/redis: ${what} threw`, { error });
    } catch {
      // A broken logger must not break the loops either.
    }
  }
}

/** One line about an error; for a `TurnoutConfigError`, its first problem too. */
export function message(error: unknown): string {
  if (isTurnoutConfigError(error)) {
    const first = error.problems[0];
    return `${error.message.split("\n")[0] ?? ""}${first === undefined ? "" : `: ${first.message}`}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A Lua script, run by SHA (loaded on first use by EVAL). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function script(source: string): Script {
  return { source, sha: sha1(source) };
}

export class Link {
  constructor(
    readonly connection: Connection,
    readonly timeoutMs: number,
  ) {}

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.connection.ready();
  }

  /** Sends a command; rejects with a `TurnoutRedisError` when offline, late or answered with an error. */
  async send(args: string[]): Promise<unknown> {
    if (!this.ready) throw new TurnoutRedisError(RedisFailure.Offline, "the Redis client is not connected");
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The first key routes the command on a cluster: EVAL/EVALSHA name it after the script and the key count.
    const key = args[0] === "EVALSHA" || args[0] === "EVAL" ? args[3] : args[1];
    const reply = this.connection.command(args, key);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TurnoutRedisError(RedisFailure.Timeout, `no reply from Redis within ${this.timeoutMs} ms (${args[0] ?? ""})`)),
        this.timeoutMs,
      );
      timer.unref?.();
    });
    // A late reply or error must not become an unhandled rejection.
    reply.catch(() => undefined);
    try {
      return await Promise.race([reply, deadline]);
    } catch (error) {
      if (error instanceof TurnoutRedisError) throw error;
      throw new TurnoutRedisError(RedisFailure.Command, `Redis answered ${args[0] ?? ""} with an error: ${message(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a Lua script by SHA; loads it with EVAL when Redis does not know it (first use, after a restart). */
  async eval(s: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(["EVALSHA", s.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof TurnoutRedisError) || !/NOSCRIPT/.test(message(error.cause))) throw error;
      return this.send(["EVAL", s.source, ...tail]);
    }
  }
}

/** Reads an integer reply (number or numeric string); throws a `command` failure otherwise. */
export function int(value: unknown, what: string): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new TurnoutRedisError(RedisFailure.Command, `unexpected reply for ${what}: ${String(value).slice(0, 60)}`);
  return n;
}

/** Reads an array reply. */
export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new TurnoutRedisError(RedisFailure.Command, `unexpected reply for ${what}: expected a list`);
  return value;
}

/** A string reply or null (nil); Buffers are decoded as UTF-8. */
export function text(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return null;
}

const NAMESPACE = /^[^{}\s]{1,100}$/;

/** The key layout of one namespace. Every key shares the hash tag `{namespace}`. */
export class Keys {
  readonly prefix: string;
  constructor(namespace: string) {
    this.prefix = `{${namespace}}:`;
  }
  get config(): string {
    return `${this.prefix}config`;
  }
  get configChannel(): string {
    return `${this.prefix}config:changes`;
  }
  get statsIndex(): string {
    return `${this.prefix}stats`;
  }
  get statsPrefix(): string {
    return `${this.prefix}stats:`;
  }
  rollout(name: string): { state: string; lease: string; events: string } {
    const base = `${this.prefix}rollout:${name}`;
    return { state: base, lease: `${base}:lease`, events: `${base}:events` };
  }
}

export function validNamespace(value: unknown): value is string {
  return typeof value === "string" && NAMESPACE.test(value);
}

/** Names of instances, controllers and rollouts: 1–200 printable characters without whitespace. */
export function validName(value: unknown, max = 200): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= max && /^[^\s]+$/.test(value);
}

/** Reports each distinct failure once until a success clears it; keeps the last one for `status()`. */
export class FailureLog<Stage extends string> {
  private reported: string | undefined;
  last: { stage: Stage; message: string; at: number } | null = null;

  constructor(
    private readonly report: (error: unknown, stage: Stage) => void,
    private readonly onRecover?: (after: { stage: Stage; message: string; at: number }) => void,
  ) {}

  fail(stage: Stage, error: unknown, now: number, key = `${stage}:${error instanceof TurnoutRedisError ? error.reason : message(error)}`): void {
    this.last = { stage, message: message(error), at: now };
    if (key === this.reported) return;
    this.reported = key;
    this.report(error, stage);
  }

  /** A success of `stage` (or of everything) clears the failure. */
  ok(stage?: Stage): void {
    if (this.last === null || (stage !== undefined && this.last.stage !== stage)) return;
    const previous = this.last;
    this.last = null;
    this.reported = undefined;
    this.onRecover?.(previous);
  }
}

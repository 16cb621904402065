/**
 * Shadow traffic: a copy of a request goes to the mirror version's upstream and its response is discarded.
 *
 * The copy never delays or changes the client's response: it has its own agent (a hanging mirror cannot take the
 * primary's sockets), it reads the request body only as the primary consumes it and never pushes back on it, and
 * its memory is bounded: at most `maxInFlight` copies, each buffering at most `maxBodyBytes`. Beyond either
 * bound the copy is dropped and counted. Every failure of a copy is caught, counted and (throttled) logged.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Logger, OutcomeRecorder } from "../../types.js";
import type { Upstream } from "./forward.js";

/**
 * What happened to one shadow copy, handed to `mirror.onResult`.
 *
 * @example
 * ```ts
 * { version: "v2", primaryVersion: "v1", method: "GET", path: "/users", status: 500, primaryStatus: 200, match: false, durationMs: 12 }
 * ```
 */
export interface MirrorResult {
  /** The mirror version. */
  readonly version: string;
  /** The version that served the client. */
  readonly primaryVersion: string;
  /** The request's method. */
  readonly method: string;
  /** The request's path, query included. */
  readonly path: string;
  /** The mirror's status, when it answered. */
  readonly status?: number;
  /** The primary's status, when it answered. */
  readonly primaryStatus?: number;
  /** With `compare`: whether both statuses were equal (missing when either side did not answer). */
  readonly match?: boolean;
  /** Why the copy failed (connection reset, timeout, …). */
  readonly error?: unknown;
  /** From the start of the copy to the end of the mirror's response. */
  readonly durationMs: number;
}

/** Mirror counters (part of the proxy's counters). */
export interface MirrorCounters {
  /** Copies sent. */
  mirrored: number;
  /** Copies not sent or cut short: too many in flight, body larger than `maxBodyBytes`, client went away. */
  mirrorDropped: number;
  /** Copies that failed: refused, reset, timed out. */
  mirrorErrors: number;
  /** Copies in flight now. */
  mirrorInFlight: number;
  /** Copies whose status was compared with the primary's. */
  compared: number;
  /** Compared copies whose status differed from the primary's. */
  mismatches: number;
}

/** Resolved mirror settings. */
export interface MirrorSettings {
  readonly maxInFlight: number;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly compare: boolean;
  readonly methods: ReadonlySet<string> | undefined;
  readonly header: string | undefined;
  readonly stats: OutcomeRecorder | undefined;
  readonly onResult: ((result: MirrorResult) => void) | undefined;
}

/** The running copy of one request; told the primary's status so that both can be compared. */
export interface MirrorHandle {
  primaryAnswered(status: number | undefined): void;
}

export class MirrorTimeout extends Error {
  constructor(ms: number) {
    super(`the mirror did not finish within ${ms} ms`);
    this.name = "MirrorTimeout";
  }
}

/**
 * Logs at most one warning per `intervalMs` for a kind of event, with the count since the last one: a hanging
 * mirror must not flood the logs.
 *
 * @example
 * ```ts
 * const warn = throttledWarn(logger, 60_000); warn("mirror failed", { error });
 * ```
 */
export function throttledWarn(logger: Logger, intervalMs: number): (message: string, details: Record<string, unknown>) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (message, details) => {
    const now = performance.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    last = now;
    try {
      logger.warn(`turnout: ${message}`, suppressed > 0 ? { ...details, suppressed } : details);
    } catch {
      // The logger failed; the event is still counted.
    }
    suppressed = 0;
  };
}

/** What a copy is, for its result and its stats. */
export interface CopyInfo {
  readonly version: string;
  readonly primaryVersion: string;
  readonly method: string;
  readonly path: string;
}

/** The bookkeeping of one copy in flight, the same for the node:http and the fetch proxies. */
export interface CopyLedger extends MirrorHandle {
  /** Whether the copy has ended (settled or dropped). */
  readonly ended: boolean;
  /** The mirror's response status arrived. */
  answered(status: number | undefined): void;
  /** The copy ended: with `failure` it failed (counted, logged); `dropped` counts it as dropped instead. */
  settle(failure?: unknown, dropped?: boolean): void;
}

/**
 * Opens the ledger of one copy: counts it in flight, and when it settles counts the outcome, records it in
 * `settings.stats`, compares its status with the primary's and calls `settings.onResult` once both are known.
 *
 * @example
 * ```ts
 * const ledger = openCopy({ version: "v2", primaryVersion: "v1", method: "GET", path: "/users" }, settings, counters, warn);
 * ledger.answered(200); ledger.settle();
 * ```
 */
export function openCopy(
  info: CopyInfo,
  settings: MirrorSettings,
  counters: MirrorCounters,
  warn: (message: string, details: Record<string, unknown>) => void,
): CopyLedger {
  const startedAt = performance.now();
  counters.mirrorInFlight++;
  counters.mirrored++;
  let ended = false;
  let dropped = false;
  let status: number | undefined;
  let primaryStatus: number | undefined;
  let primaryKnown = false;
  let error: unknown;

  const report = (): void => {
    const match = settings.compare && status !== undefined && primaryStatus !== undefined ? status === primaryStatus : undefined;
    if (match !== undefined) {
      counters.compared++;
      if (!match) counters.mismatches++;
    }
    if (settings.onResult === undefined) return;
    try {
      settings.onResult({
        ...info,
        durationMs: performance.now() - startedAt,
        ...(status !== undefined ? { status } : {}),
        ...(primaryStatus !== undefined ? { primaryStatus } : {}),
        ...(match !== undefined ? { match } : {}),
        ...(error !== undefined ? { error } : {}),
      });
    } catch (failure) {
      warn("mirror.onResult threw", { error: failure });
    }
  };

  return {
    get ended() {
      return ended;
    },
    answered(answer) {
      status = answer;
    },
    settle(failure, drop = false) {
      if (ended) return;
      ended = true;
      dropped = drop;
      counters.mirrorInFlight--;
      if (dropped) {
        counters.mirrorDropped++;
        return;
      }
      if (failure !== undefined) {
        error = failure;
        counters.mirrorErrors++;
        warn("a mirror request failed", { version: info.version, error: failure });
      }
      try {
        settings.stats?.recordOutcome(
          { version: info.version },
          { durationMs: performance.now() - startedAt, ...(status !== undefined ? { status } : {}), ...(error !== undefined ? { error } : {}) },
        );
      } catch (failure2) {
        warn("recording a mirror outcome failed", { error: failure2 });
      }
      if (primaryKnown) report();
    },
    primaryAnswered(answered) {
      if (primaryKnown) return;
      primaryKnown = true;
      primaryStatus = answered;
      if (ended && !dropped) report();
    },
  };
}

/**
 * Whether a copy of a `method` request with a declared body length of `declared` bytes may start: counts the
 * copy as dropped when a bound is reached; `false` without counting when the method is not mirrored.
 */
export function mayCopy(method: string, declared: number, settings: MirrorSettings, counters: MirrorCounters): boolean {
  if (settings.maxInFlight === 0 || (settings.methods !== undefined && !settings.methods.has(method))) return false;
  if (counters.mirrorInFlight >= settings.maxInFlight || declared > settings.maxBodyBytes) {
    counters.mirrorDropped++;
    return false;
  }
  return true;
}

/**
 * Starts a shadow copy of `req`, or drops it (counted) when a bound is reached. Must be called in the same tick as
 * the primary starts reading `req`, so that both see every chunk.
 *
 * @example
 * ```ts
 * const handle = startMirror(req, headers, "/users", mirrorUpstream, "v2", "v1", settings, counters, warn);
 * handle?.primaryAnswered(200);
 * ```
 */
export function startMirror(
  req: IncomingMessage,
  headers: OutgoingHttpHeaders,
  path: string,
  upstream: Upstream,
  version: string,
  primaryVersion: string,
  settings: MirrorSettings,
  counters: MirrorCounters,
  warn: (message: string, details: Record<string, unknown>) => void,
): MirrorHandle | undefined {
  const method = req.method ?? "GET";
  if (!mayCopy(method, Number(req.headers["content-length"]), settings, counters)) return undefined;
  const copyHeaders: OutgoingHttpHeaders = settings.header === undefined ? headers : { ...headers, [settings.header]: "1" };
  let copy: ClientRequest;
  try {
    copy = upstream.request(method, path, copyHeaders);
  } catch (failure) {
    counters.mirrorErrors++; // e.g. a rewritten path Node refuses to send
    warn("a mirror request could not be sent", { version, error: failure });
    return undefined;
  }
  const ledger = openCopy({ version, primaryVersion, method, path }, settings, counters, warn);
  let status: number | undefined;
  let bytes = 0;

  const onData = (chunk: Buffer): void => {
    if (ledger.ended) return;
    bytes += chunk.length;
    if (bytes > settings.maxBodyBytes) return drop();
    copy.write(chunk);
  };
  const onEnd = (): void => {
    if (!ledger.ended) copy.end();
  };
  const onClose = (): void => {
    if (!req.complete) drop(); // the client went away mid-body: the copy would be a truncated request
  };
  const detach = (): void => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("close", onClose);
  };
  const finish = (failure: unknown, dropped: boolean): void => {
    if (ledger.ended) return;
    clearTimeout(timer);
    detach();
    // Answered (or failed) before the whole body was sent: the connection cannot carry another request.
    if (dropped || !copy.writableEnded) copy.destroy();
    ledger.settle(failure, dropped);
  };
  function drop(): void {
    finish(undefined, true);
  }
  const settle = (failure?: unknown): void => finish(failure, false);

  const timer = setTimeout(() => {
    const failure = new MirrorTimeout(settings.timeoutMs);
    copy.destroy(failure);
    settle(failure); // at once: a copy still waiting for a connection emits nothing when destroyed
  }, settings.timeoutMs);
  timer.unref();
  copy.on("error", (failure) => settle(failure));
  copy.on("close", () => settle(status === undefined ? new Error("the mirror closed the connection without answering") : undefined));
  copy.on("response", (response) => {
    status = response.statusCode;
    ledger.answered(status);
    response.on("error", (failure) => settle(failure));
    response.on("end", () => settle());
    response.resume(); // the mirror's answer is discarded
  });
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("close", onClose);
  if (req.readableEnded) onEnd();

  return ledger;
}

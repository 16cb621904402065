/**
 * Hot reload of the router's configuration from a JSON file, including a Kubernetes ConfigMap volume.
 *
 * Kubernetes never writes a mounted ConfigMap's file in place: it writes a new `..<timestamp>` directory, points a
 * `..data_tmp` symlink at it and renames that over `..data`, while `config.json` stays a symlink to
 * `..data/config.json`. A watch on the file itself would keep watching the old, deleted inode; so turnout watches
 * the *directory* (which sees the rename), re-reads the path through the symlinks, debounces bursts, and polls
 * as a backstop for file systems where `fs.watch` is silent (NFS, some container mounts).
 */
import { type FSWatcher, watch as watchDirectory } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ProblemCode } from "../errors.js";
import { Problems, checkFields, isRecord } from "../internal/problems.js";
import type { Logger, Router, RouterConfig } from "../types.js";

/**
 * A successful reload.
 *
 * @example
 * ```ts
 * { path: "/etc/turnout/config.json", revision: 4, previousRevision: 3, config: { versions: ["v1", "v2"], … } }
 * ```
 */
export interface ConfigReload {
  /** The file that was read. */
  readonly path: string;
  /** The router's revision now. */
  readonly revision: number;
  /** The revision before the reload. */
  readonly previousRevision: number;
  /** The configuration now in force. */
  readonly config: RouterConfig;
}

/**
 * Where a reload failed: `read` (missing, unreadable, too large), `parse` (not JSON), `validate` (the router
 * rejected it: the error is a `TurnoutConfigError` listing every problem), `watch` (the directory watch broke;
 * polling goes on).
 *
 * @example
 * ```ts
 * onError: (error, { stage }) => stage === "validate" && alert(error.problems)
 * ```
 */
export interface ConfigReloadFailure {
  /** The file being watched. */
  readonly path: string;
  /** What failed: reading the file, parsing it, the router's validation, or the watch itself. */
  readonly stage: "read" | "parse" | "validate" | "watch";
}

/**
 * Options of {@link watchConfig}.
 *
 * @example
 * ```ts
 * watchConfig(path, router, { onReload: (r) => log.info("config", r.revision), onError: (e) => log.error(e), pollMs: 10_000 });
 * ```
 */
export interface WatchConfigOptions {
  /** Called after each configuration change is in force. */
  readonly onReload?: (reload: ConfigReload) => void;
  /** Called once per distinct failure; the router keeps its last good configuration. Default: `logger.error`. */
  readonly onError?: (error: unknown, failure: ConfigReloadFailure) => void;
  /** Quiet time after the last file-system event before reading. Default 100 ms. */
  readonly debounceMs?: number;
  /** Re-read period as a backstop for missed events; 0 turns polling off. Default 5000 ms. */
  readonly pollMs?: number;
  /** Read the file at once (default `true`); otherwise only on the first change. */
  readonly initial?: boolean;
  /** Larger files are rejected. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Turns the file's text into a configuration. Default `JSON.parse` (use a YAML parser here for YAML). */
  readonly parse?: (text: string) => unknown;
  /** Where failures go without `onError`, and where throwing callbacks are reported. Default `console`. */
  readonly logger?: Logger;
}

/**
 * A running watch.
 *
 * @example
 * ```ts
 * const watcher = watchConfig("/etc/turnout/config.json", router);
 * await watcher.ready;
 * process.on("SIGTERM", () => watcher.close());
 * ```
 */
export interface ConfigWatcher {
  /** Settles after the initial read (whatever its outcome). */
  readonly ready: Promise<void>;
  /** Reads the file now; resolves to true when a new configuration came into force. */
  reload(): Promise<boolean>;
  /** Stops watching and polling; resolves once any read under way has finished. Idempotent. */
  close(): Promise<void>;
}

function check(options: unknown): void {
  const problems = new Problems();
  if (options !== undefined && !isRecord(options)) problems.add(ProblemCode.Type, "", "expected an options object");
  const o: Record<string, unknown> = isRecord(options) ? options : {};
  checkFields(problems, o, "", ["onReload", "onError", "debounceMs", "pollMs", "initial", "maxBytes", "parse", "logger"]);
  for (const fn of ["onReload", "onError", "parse"]) {
    if (o[fn] !== undefined && typeof o[fn] !== "function") problems.add(ProblemCode.Type, fn, "expected a function");
  }
  for (const n of ["debounceMs", "pollMs", "maxBytes"]) {
    const v = o[n];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 2_147_483_647)) {
      problems.add(ProblemCode.OutOfRange, n, "expected a number of at least 0");
    }
  }
  if (o.initial !== undefined && typeof o.initial !== "boolean") problems.add(ProblemCode.Type, "initial", "expected a boolean");
  problems.throwIfAny("watchConfig options");
}

/** JSON text of a value with object keys sorted, to tell whether two configurations are the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/**
 * Keeps `router`'s configuration in step with the JSON file at `path`, without a restart: the way to move traffic
 * without a rolling update (deploy the routing code at 0 %, then raise the rate by changing the ConfigMap).
 * Survives the ConfigMap `..data` symlink swap, editors that replace files, and files that disappear for a while. An invalid file never replaces
 * the configuration in force: it is reported once (`onError`) and the last good configuration keeps serving.
 * The watch does not keep the process alive; `close()` releases everything.
 *
 * @example
 * ```ts
 * const router = createRouter(JSON.parse(readFileSync("/etc/turnout/config.json", "utf8")));
 * const watcher = watchConfig("/etc/turnout/config.json", router, {
 *   onReload: ({ revision }) => console.log("turnout config revision", revision),
 *   onError: (error, { stage }) => console.error(`turnout config rejected at ${stage}`, error),
 * });
 * ```
 */
export function watchConfig(path: string, router: Router, options: WatchConfigOptions = {}): ConfigWatcher {
  check(options);
  const file = resolve(path);
  const directory = dirname(file);
  const logger = options.logger ?? console;
  const debounceMs = options.debounceMs ?? 100;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const parse = options.parse ?? JSON.parse;
  let closed = false;
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let lastText: string | undefined;
  let lastFailure: string | undefined; // the failure last reported, so a bad file is reported once, not every poll
  let running: Promise<boolean> = Promise.resolve(false);

  /** Reports to the logger; a logger that throws must not stop the watch either. */
  const log = (message: string, error: unknown): void => {
    try {
      logger.error(message, { error });
    } catch {
      // Nowhere left to report it.
    }
  };
  const call = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      log(`turnout: watchConfig ${what} threw`, error);
    }
  };
  const fail = (stage: ConfigReloadFailure["stage"], error: unknown, key: string): void => {
    if (key === lastFailure) return;
    lastFailure = key;
    if (options.onError !== undefined) call("onError", () => options.onError?.(error, { path: file, stage }));
    else log(`turnout: the configuration file ${file} was not loaded (${stage})`, error);
  };

  const load = async (): Promise<boolean> => {
    let text: string;
    try {
      const info = await stat(file);
      if (info.size > maxBytes) throw new RangeError(`${file} is ${info.size} bytes, more than maxBytes (${maxBytes})`);
      text = await readFile(file, "utf8");
    } catch (error) {
      fail("read", error, `read:${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return false;
    }
    if (closed) return false;
    if (text === lastText) {
      lastFailure = undefined; // the good file is back after a failed read
      return false;
    }
    let config: unknown;
    try {
      config = parse(text);
    } catch (error) {
      fail("parse", error, `text:${text}`);
      return false;
    }
    let same: boolean;
    try {
      same = canonical(config) === canonical(router.config);
    } catch (error) {
      // Not JSON data (a cycle made by YAML aliases, a BigInt): reported like a file that does not parse.
      fail("parse", error, `text:${text}`);
      return false;
    }
    if (same) {
      lastText = text; // already in force (the router was created from this file, or only the layout changed)
      lastFailure = undefined;
      return false;
    }
    const previousRevision = router.revision;
    try {
      router.update(config as RouterConfig);
    } catch (error) {
      fail("validate", error, `text:${text}`);
      return false;
    }
    lastText = text;
    lastFailure = undefined;
    const reload: ConfigReload = { path: file, revision: router.revision, previousRevision, config: router.config };
    if (options.onReload !== undefined) call("onReload", () => options.onReload?.(reload));
    return true;
  };

  const reload = (): Promise<boolean> => {
    // Never rejects: a rejection here would be unhandled (timers call this) and end the process.
    running = running
      .then(() => (closed ? false : load()))
      .catch((error: unknown) => {
        log("turnout: watchConfig could not reload", error);
        return false;
      });
    return running;
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), debounceMs);
    debounce.unref();
  };
  const startWatching = (): void => {
    if (closed || watcher !== undefined) return;
    try {
      // Every entry of the directory counts: Kubernetes renames `..data`, editors rename temporary files.
      watcher = watchDirectory(directory, { persistent: false }, schedule);
      watcher.on("error", (error) => {
        watcher?.close();
        watcher = undefined;
        fail("watch", error, `watch:${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      });
    } catch (error) {
      fail("watch", error, `watch:${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };

  startWatching();
  const pollMs = options.pollMs ?? 5000;
  const poll = pollMs > 0 ? setInterval(() => (startWatching(), void reload()), pollMs) : undefined;
  poll?.unref();
  const ready = options.initial === false ? Promise.resolve() : reload().then(() => undefined);

  return {
    ready,
    reload,
    async close() {
      if (closed) return running.then(() => undefined);
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
      watcher = undefined;
      await running;
    },
  };
}

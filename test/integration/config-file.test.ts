/**
 * watchConfig against real files, symlinks and renames in a temporary directory, including the exact way the
 * kubelet updates a mounted ConfigMap (`..<timestamp>` directories and an atomic `..data` symlink swap).
 */
import { createHook } from "node:async_hooks";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { createRouter } from "../../src/router/index.js";
import type { RouterConfig } from "../../src/types.js";
import { type ConfigReload, type ConfigReloadFailure, type ConfigWatcher, watchConfig } from "../../src/integrations/node.js";
import { splitConfig as config } from "./fixtures.js";
import { memoryLogger, until } from "./helpers.js";

const directories: string[] = [];
const watchers: ConfigWatcher[] = [];
afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), "turnout-config-"));
  directories.push(directory);
  return directory;
}

/** A directory laid out the way the kubelet lays out a ConfigMap volume, updated the way it updates one. */
function configMapVolume() {
  const root = tempDir();
  let generation = 0;
  const write = (text: string): void => {
    generation++;
    const stamp = `..2026_01_01_00_00_${String(generation).padStart(2, "0")}.${1233 + generation}`;
    mkdirSync(join(root, stamp));
    writeFileSync(join(root, stamp, "config.json"), text);
    let previous: string | undefined;
    try {
      previous = readlinkSync(join(root, "..data"));
    } catch {
      previous = undefined;
    }
    symlinkSync(stamp, join(root, "..data_tmp"));
    renameSync(join(root, "..data_tmp"), join(root, "..data")); // the atomic swap
    if (previous === undefined) symlinkSync("..data/config.json", join(root, "config.json"));
    else rmSync(join(root, previous), { recursive: true });
  };
  return { path: join(root, "config.json"), write, writeConfig: (c: RouterConfig) => write(JSON.stringify(c, null, 2)) };
}

function share(router: ReturnType<typeof createRouter>, version: string, n = 2000): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (router.decide({ key: `user-${i}` }).version === version) hits++;
  return hits / n;
}

function start(path: string, router: ReturnType<typeof createRouter>, options: Parameters<typeof watchConfig>[2] = {}) {
  const reloads: ConfigReload[] = [];
  const errors: { error: unknown; failure: ConfigReloadFailure }[] = [];
  const watcher = watchConfig(path, router, {
    debounceMs: 20,
    pollMs: 0,
    onReload: (reload) => reloads.push(reload),
    onError: (error, failure) => errors.push({ error, failure }),
    ...options,
  });
  watchers.push(watcher);
  return { watcher, reloads, errors };
}

describe("watchConfig", () => {
  it("follows the ConfigMap ..data symlink swap: deploy at 0 %, then raise the rate by changing the file (seed 003)", async () => {
    const volume = configMapVolume();
    volume.writeConfig(config(0));
    const router = createRouter(config(0));
    const { watcher, reloads, errors } = start(volume.path, router);
    await watcher.ready;
    expect(reloads).toHaveLength(0); // the file holds the config in force: no new revision
    expect(share(router, "v2")).toBe(0);

    volume.writeConfig(config(30));
    await until(() => reloads.length === 1, 5000, "the first reload");
    expect(reloads[0]).toMatchObject({ path: volume.path, revision: 2, previousRevision: 1 });
    expect(router.canaryPercent).toBe(30);
    expect(share(router, "v2")).toBeGreaterThan(0.25);
    expect(share(router, "v2")).toBeLessThan(0.35);

    volume.write(JSON.stringify(config(30))); // the same configuration, laid out differently: no new revision
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await watcher.reload()).toBe(false);
    expect(router.revision).toBe(2);

    volume.writeConfig(config(100));
    await until(() => reloads.length === 2, 5000, "the second reload");
    expect(share(router, "v2")).toBe(1);
    expect(errors).toEqual([]);
  });

  it("keeps the last good config and reports a bad file once, with the TurnoutConfigError problems", async () => {
    const volume = configMapVolume();
    volume.writeConfig(config(10));
    const router = createRouter(config(10));
    const { watcher, reloads, errors } = start(volume.path, router, { pollMs: 30 });
    await watcher.ready;

    volume.write('{ "versions": ["v1", "v2"], ');
    await until(() => errors.length === 1, 5000, "the parse error");
    expect(errors[0]?.failure).toEqual({ path: volume.path, stage: "parse" });
    expect(errors[0]?.error).toBeInstanceOf(SyntaxError);

    volume.writeConfig({ ...config(10), split: { v1: 50, v3: 50 }, stable: "v9" });
    await until(() => errors.length === 2, 5000, "the validation error");
    const invalid = errors[1]?.error;
    expect(errors[1]?.failure.stage).toBe("validate");
    expect(isTurnoutConfigError(invalid)).toBe(true);
    const paths = (invalid as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`);
    expect(paths).toEqual(expect.arrayContaining(["unknown_version split.v3", "unknown_version stable"]));
    await new Promise((resolve) => setTimeout(resolve, 150)); // several polls of the same bad file
    expect(errors).toHaveLength(2); // reported once, not on every poll
    expect(router.revision).toBe(1);
    expect(router.canaryPercent).toBe(10); // the last good config keeps serving

    volume.writeConfig(config(20));
    await until(() => reloads.length === 1, 5000, "the good file");
    expect(router.canaryPercent).toBe(20);
  });

  it("debounces a burst of changes into one reload of the final content", async () => {
    const dir = tempDir();
    const path = join(dir, "turnout.json");
    writeFileSync(path, JSON.stringify(config(0)));
    const router = createRouter(config(0));
    const { watcher, reloads, errors } = start(path, router, { debounceMs: 500 });
    await watcher.ready;
    for (let i = 1; i <= 5; i++) {
      writeFileSync(path, JSON.stringify(config(i * 10))); // truncate + write, as editors and scripts do
      await new Promise((resolve) => setTimeout(resolve, 20)); // well inside the quiet time
    }
    await until(() => reloads.length >= 1, 5000, "the reload");
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(reloads).toHaveLength(1);
    expect(router.canaryPercent).toBe(50);
    expect(errors).toEqual([]);
  });

  it("polls as a backstop when no file-system event reaches the watched directory", async () => {
    // config.json links to a file in another directory; changing that file in place changes nothing in the
    // watched directory, so only polling can see it.
    const elsewhere = tempDir();
    const target = join(elsewhere, "real.json");
    writeFileSync(target, JSON.stringify(config(0)));
    const mount = tempDir();
    symlinkSync(target, join(mount, "config.json"));
    const router = createRouter(config(0));
    const { watcher, reloads } = start(join(mount, "config.json"), router, { pollMs: 50 });
    await watcher.ready;
    writeFileSync(target, JSON.stringify(config(40)));
    await until(() => reloads.length === 1, 5000, "the poll to notice");
    expect(router.canaryPercent).toBe(40);
  });

  it("reports a missing file once, then loads it when it appears", async () => {
    const dir = tempDir();
    const path = join(dir, "late.json");
    const router = createRouter(config(0));
    const { watcher, reloads, errors } = start(path, router, { pollMs: 40 });
    await watcher.ready;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.failure.stage).toBe("read");
    expect((errors[0]?.error as NodeJS.ErrnoException).code).toBe("ENOENT");
    writeFileSync(path, JSON.stringify(config(5)));
    await until(() => reloads.length === 1, 5000, "the late file");
    expect(router.canaryPercent).toBe(5);
  });

  it("rejects files larger than maxBytes", async () => {
    const dir = tempDir();
    const path = join(dir, "big.json");
    writeFileSync(path, JSON.stringify({ ...config(5), salt: "s".repeat(5000) }));
    const router = createRouter(config(0));
    const { watcher, errors } = start(path, router, { maxBytes: 1000 });
    await watcher.ready;
    expect(errors[0]?.failure.stage).toBe("read");
    expect(errors[0]?.error).toBeInstanceOf(RangeError);
    expect(router.revision).toBe(1);
  });

  it("loads at once a file that differs from the router's config, and reload() re-reads on demand", async () => {
    const dir = tempDir();
    const path = join(dir, "c.json");
    writeFileSync(path, JSON.stringify(config(25)));
    const router = createRouter(config(0));
    const { watcher, reloads } = start(path, router);
    await watcher.ready;
    expect(router.canaryPercent).toBe(25);
    expect(await watcher.reload()).toBe(false); // unchanged
    expect(reloads).toHaveLength(1);
  });

  it("falls back to the logger without onError, and survives throwing callbacks", async () => {
    const dir = tempDir();
    const path = join(dir, "c.json");
    writeFileSync(path, "not json");
    const logger = memoryLogger();
    const router = createRouter(config(0));
    const watcher = watchConfig(path, router, { pollMs: 0, logger });
    watchers.push(watcher);
    await watcher.ready;
    expect(logger.entries[0]?.message).toMatch(/was not loaded \(parse\)/);
    const throwing = watchConfig(path, router, {
      pollMs: 0,
      logger,
      onError: () => {
        throw new Error("callback broke");
      },
    });
    watchers.push(throwing);
    await throwing.ready;
    expect(logger.entries[1]?.message).toMatch(/onError threw/);
  });

  it("a parse result that is not JSON data (a cycle from YAML aliases) or a throwing logger never crashes the process", async () => {
    // Both used to reject the reload chain: `ready` rejected and every poll after it was an unhandled rejection.
    const dir = tempDir();
    const path = join(dir, "c.yaml");
    writeFileSync(path, "cyclic");
    const router = createRouter(config(0));
    const cyclic = (text: string): unknown => {
      if (text !== "cyclic") return JSON.parse(text);
      const value: Record<string, unknown> = { ...config(50) };
      value.self = value;
      return value;
    };
    const { watcher, reloads, errors } = start(path, router, { parse: cyclic, pollMs: 30 });
    await watcher.ready;
    expect(errors).toHaveLength(1);
    expect(errors[0]?.failure.stage).toBe("parse");
    expect(router.revision).toBe(1);
    const throwing = watchConfig(path, createRouter(config(0)), {
      parse: cyclic,
      pollMs: 30,
      logger: {
        warn: () => undefined,
        error: () => {
          throw new Error("logger down");
        },
      },
    });
    watchers.push(throwing);
    await throwing.ready;
    await new Promise((resolve) => setTimeout(resolve, 100)); // a few polls of the same file
    writeFileSync(path, JSON.stringify(config(30)));
    await until(() => reloads.length === 1, 5000, "the good file");
    expect(router.canaryPercent).toBe(30);
  });

  it("close() releases every watcher, timer and file handle, and stops reloading", async () => {
    const live = new Map<number, string>();
    // Watchers and timers are released when their destroy hook runs; file handles are checked below through the
    // process's open file descriptors (a FileHandle's destroy hook waits for garbage collection).
    const tracked = new Set(["FSEVENTWRAP", "Timeout", "STATWATCHER"]);
    const hook = createHook({
      init(id, type) {
        // Only what watchConfig itself creates (not the test's own timers).
        const stack = new Error().stack ?? "";
        if (tracked.has(type) && stack.includes("config-file.ts")) live.set(id, type);
      },
      destroy(id) {
        live.delete(id);
      },
    });
    const volume = configMapVolume();
    volume.writeConfig(config(0));
    const router = createRouter(config(0));
    hook.enable();
    let watcher: ConfigWatcher;
    try {
      const reloads: ConfigReload[] = [];
      watcher = watchConfig(volume.path, router, { debounceMs: 20, pollMs: 25, onReload: (r) => reloads.push(r) });
      await watcher.ready;
      volume.writeConfig(config(10));
      await until(() => reloads.length === 1, 5000, "a reload");
      expect([...live.values()]).toContain("FSEVENTWRAP");
      await watcher.close();
      await watcher.close(); // idempotent
      await until(() => live.size === 0, 5000, "every watcher and timer to be released");
      const root = dirname(volume.path);
      const open = readdirSync("/proc/self/fd").flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/self/fd/${fd}`)];
        } catch {
          return [];
        }
      });
      expect(open.filter((target) => target.startsWith(root))).toEqual([]);
    } finally {
      hook.disable();
    }
    volume.writeConfig(config(90));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(router.canaryPercent).toBe(10);
  });

  it("rejects bad options with every problem listed", () => {
    const router = createRouter(config(0));
    try {
      watchConfig("/nonexistent", router, { debounceMs: -1, pollMs: "5s", onReload: 1, colour: "red" } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
        "out_of_range debounceMs",
        "out_of_range pollMs",
        "type onReload",
        "unknown_field colour",
      ]);
    }
  });
});

// Loads the built CommonJS core into a vm context (a realm without Node), as a browser or edge runtime would run it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Context, runInContext } from "node:vm";

/** The build's output folder. */
export const DIST = join(import.meta.dirname, "..", "..", "..", "dist");

/**
 * Runs `dist/<entry>` inside `context` with a `require` that resolves only the build's own chunks (anything else
 * throws "the core required …"), and answers its exports.
 */
export function loadInRealm(context: Context, entry: string): unknown {
  const cache = new Map<string, unknown>();
  const load = (file: string): unknown => {
    if (cache.has(file)) return cache.get(file);
    const module = { exports: {} as Record<string, unknown> };
    cache.set(file, module.exports);
    const wrapper = runInContext(`(function (module, exports, require) {${readFileSync(join(DIST, file), "utf8")}\n})`, context) as (
      m: typeof module,
      e: Record<string, unknown>,
      r: (s: string) => unknown,
    ) => void;
    wrapper(module, module.exports, (specifier) => {
      if (!specifier.startsWith("./")) throw new Error(`the core required ${specifier}`);
      return load(specifier.slice(2));
    });
    cache.set(file, module.exports);
    return module.exports;
  };
  return load(entry);
}

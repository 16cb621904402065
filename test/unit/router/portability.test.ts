// The core entry must run where there is no Node: a browser, a worker, an edge runtime.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DIST as dist, loadInRealm } from "./realm.js";

const SPECIFIERS = [
  /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm, // static ESM imports and re-exports
  /^import\s*["']([^"']+)["']/gm, // side-effect imports
  /\bimport\(\s*["']([^"']+)["']\s*\)/g, // dynamic imports
  /\brequire\(\s*["']([^"']+)["']\s*\)/g, // CommonJS
];

/** Every module specifier reachable from `entry`, following relative chunks. */
function reachable(entry: string): { files: string[]; external: string[] } {
  const files: string[] = [];
  const external = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const text = readFileSync(join(dist, file), "utf8");
    for (const pattern of SPECIFIERS) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (specifier!.startsWith("./")) queue.push(specifier!.slice(2));
        else external.add(specifier!);
      }
    }
  }
  return { files, external: [...external] };
}

describe("the core build is runtime-neutral", () => {
  it("reaches no module outside its own chunks (ESM and CJS)", () => {
    for (const entry of ["index.js", "index.cjs"]) {
      const graph = reachable(entry);
      expect(graph.files.length).toBeGreaterThan(0);
      expect(graph.external, entry).toEqual([]);
    }
  });

  it("routes inside a bare JavaScript realm with only web-platform globals", () => {
    // No process, Buffer, setTimeout or console: only the language, URL and URLSearchParams, and a require that
    // resolves nothing but the build's own chunks.
    const context = createContext({ URL, URLSearchParams });
    const { createRouter } = loadInRealm(context, "index.cjs") as { createRouter: (config: unknown) => { decide: (r: unknown) => { version: string } } };
    const router = createRouter({ versions: ["v1", "v2"], stable: "v1", split: { v1: 50, v2: 50 }, explicit: { query: "version" } });
    expect(router.decide({ key: "user-123" }).version).toMatch(/^v[12]$/);
    expect(router.decide({ path: "/users?version=2" }).version).toBe("v2");
  });
});

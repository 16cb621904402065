// Replays the language-neutral golden cases (test/cases/bucketing.json) against the source and against both
// published builds, so the cross-instance contract holds for every consumer.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as source from "../../../src/index.js";

interface GoldenCase {
  key: string;
  salt: string;
  seed: number;
  hash: number;
  bucket: number;
  config: number;
  version: string;
}
interface GoldenFile {
  configs: source.RouterConfig[];
  cases: GoldenCase[];
}

const root = join(import.meta.dirname, "..", "..", "..");
const golden = JSON.parse(readFileSync(join(root, "test/cases/bucketing.json"), "utf8")) as GoldenFile;
type Core = Pick<typeof source, "createRouter" | "murmur3" | "seedOf" | "bucketOf">;

const builds: [string, () => Promise<Core>][] = [
  ["src", async () => source],
  ["dist ESM", async () => (await import(join(root, "dist/index.js"))) as Core],
  ["dist CJS", async () => createRequire(import.meta.url)(join(root, "dist/index.cjs")) as Core],
];

describe("bucketing golden cases", () => {
  it("has at least 300 cases covering every config and several salts", () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(300);
    expect(new Set(golden.cases.map((c) => c.config)).size).toBe(golden.configs.length);
    expect(new Set(golden.cases.map((c) => c.salt)).size).toBeGreaterThanOrEqual(4);
    expect(golden.cases.some((c) => /[^\x00-\x7f]/.test(c.key))).toBe(true);
    expect(golden.cases.some((c) => c.key.length >= 1000)).toBe(true);
  });

  for (const [name, load] of builds) {
    it(`${name}: key → hash → bucket → version`, async () => {
      const core = await load();
      const routers = new Map<string, source.Router>();
      const mismatches: string[] = [];
      for (const c of golden.cases) {
        const seed = core.seedOf(c.salt) >>> 0;
        const hash = core.murmur3(c.key, seed);
        const bucket = core.bucketOf(c.key, seed);
        const id = `${c.config}/${c.salt}`;
        let router = routers.get(id);
        if (!router) {
          router = core.createRouter({ ...golden.configs[c.config]!, salt: c.salt });
          routers.set(id, router);
        }
        const version = router.decide({ key: c.key }).version;
        if (seed !== c.seed || hash !== c.hash || bucket !== c.bucket || version !== c.version) {
          mismatches.push(`${JSON.stringify(c.key.slice(0, 20))}/${JSON.stringify(c.salt.slice(0, 10))}: got ${seed} ${hash} ${bucket} ${version}`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});

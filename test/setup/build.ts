// Builds dist/ before the tests when it is missing or older than src/, so `npm test` on a fresh clone can check the
// published ESM and CJS builds. Serialised with flock(1) when available, because several test runs may share a tree.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function stale(): boolean {
  const marker = join(root, "dist", "index.cjs");
  return !existsSync(marker) || statSync(marker).mtimeMs < newest(join(root, "src"));
}

export default function setup(): void {
  if (!stale()) return;
  const hasFlock = (() => {
    try {
      execFileSync("flock", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  const build = "npm run --silent build >/dev/null";
  const script = `if [ ! -f dist/index.cjs ] || [ -n "$(find src -newer dist/index.cjs -print -quit)" ]; then ${build}; fi`;
  execFileSync(hasFlock ? "flock" : "sh", hasFlock ? ["/tmp/turnout-build.lock", "sh", "-c", script] : ["-c", script], {
    cwd: root,
    stdio: "inherit",
  });
}

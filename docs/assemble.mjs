// Assembles README.md from the sections in docs/readme/, in reading order. `node docs/assemble.mjs --check` exits 1
// when README.md is out of date (a test runs the check).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const order = ["intro", "router", "stats", "rollout", "integrations", "prometheus", "redis", "cli", "bench", "router-perf", "development"];
const sections = order
  .map((name) => new URL(`./readme/${name}.md`, import.meta.url))
  .filter((url) => existsSync(url))
  .map((url) => readFileSync(url, "utf8").trim());
const readme = `${sections.join("\n\n")}\n`;
const target = new URL("../README.md", import.meta.url);

if (process.argv.includes("--check")) {
  const current = existsSync(target) ? readFileSync(target, "utf8") : "";
  if (current !== readme) {
    console.error("README.md is out of date: run `npm run docs`");
    process.exit(1);
  }
} else {
  writeFileSync(target, readme);
  console.log(`README.md: ${sections.length} sections, ${readme.split("\n").length} lines`);
}

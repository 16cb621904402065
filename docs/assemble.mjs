// Assembles CHANGELOG.md from the entries in docs/changelog/: bullets merged per Keep a Changelog category, the files
// in a known order first, then every other file alphabetically (so a new area only adds its file); `released.md`, the
// released versions, is appended as it is. `node docs/assemble.mjs --check` exits 1 when CHANGELOG.md is out of date.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

const CATEGORIES = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"];
const known = ["router", "stats", "rollout", "integrations", "prometheus", "redis", "cli", "bench", "router-perf", "docs", "project"];
const present = readdirSync(new URL("./changelog/", import.meta.url))
  .filter((file) => file.endsWith(".md") && file !== "released.md")
  .map((file) => file.slice(0, -3));
const order = [...known.filter((name) => present.includes(name)), ...present.filter((name) => !known.includes(name)).sort()];

const merged = new Map(CATEGORIES.map((category) => [category, []]));
for (const name of order) {
  let category = "Added";
  for (const line of readFileSync(new URL(`./changelog/${name}.md`, import.meta.url), "utf8").trim().split("\n")) {
    const heading = /^###\s+(\w+)/.exec(line);
    if (heading) category = CATEGORIES.includes(heading[1]) ? heading[1] : "Added";
    else if (line.trim() !== "") merged.get(category).push(line);
  }
}
const releasedUrl = new URL("./changelog/released.md", import.meta.url);
const released = existsSync(releasedUrl) ? `\n${readFileSync(releasedUrl, "utf8").trim()}\n` : "";
const changelog = [
  "# Changelog",
  "",
  "All notable changes to turnout. The format follows [Keep a Changelog](https://keepachangelog.com/en/1.1.0/); versions follow",
  "[semantic versioning](https://semver.org/). Entries are assembled from `docs/changelog/` by `npm run docs`.",
  "",
  "## [Unreleased]",
  ...CATEGORIES.filter((category) => merged.get(category).length > 0).flatMap((category) => ["", `### ${category}`, ...merged.get(category)]),
  "",
].join("\n") + released;

const target = new URL("../CHANGELOG.md", import.meta.url);
if (process.argv.includes("--check")) {
  if (!existsSync(target) || readFileSync(target, "utf8") !== changelog) {
    console.error("CHANGELOG.md out of date: run `npm run docs`");
    process.exit(1);
  }
} else {
  writeFileSync(target, changelog);
  console.log(`CHANGELOG.md: ${order.length} files, ${changelog.split("\n").length} lines`);
}

// Assembles README.md from the sections in docs/readme/ (in reading order) and CHANGELOG.md from the entries in
// docs/changelog/ (bullets merged per Keep a Changelog category, modules in the same order).
// `node docs/assemble.mjs --check` exits 1 when either file is out of date (a test runs the check).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const order = ["intro", "demo", "router", "stats", "rollout", "integrations", "prometheus", "redis", "cli", "bench", "router-perf", "development"];
const sections = order
  .map((name) => new URL(`./readme/${name}.md`, import.meta.url))
  .filter((url) => existsSync(url))
  .map((url) => readFileSync(url, "utf8").trim());
const readme = `${sections.join("\n\n")}\n`;

const CATEGORIES = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"];
const changelogOrder = ["router", "stats", "rollout", "integrations", "prometheus", "redis", "cli", "bench", "router-perf", "project"];
const merged = new Map(CATEGORIES.map((category) => [category, []]));
for (const name of changelogOrder) {
  const url = new URL(`./changelog/${name}.md`, import.meta.url);
  if (!existsSync(url)) continue;
  let category = "Added";
  for (const line of readFileSync(url, "utf8").trim().split("\n")) {
    const heading = /^###\s+(\w+)/.exec(line);
    if (heading) category = CATEGORIES.includes(heading[1]) ? heading[1] : "Added";
    else if (line.trim() !== "") merged.get(category).push(line);
  }
}
const released = existsSync(new URL("./changelog/released.md", import.meta.url)) ? `\n${readFileSync(new URL("./changelog/released.md", import.meta.url), "utf8").trim()}\n` : "";
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

const outputs = [
  [new URL("../README.md", import.meta.url), readme],
  [new URL("../CHANGELOG.md", import.meta.url), changelog],
];
if (process.argv.includes("--check")) {
  const stale = outputs.filter(([url, text]) => !existsSync(url) || readFileSync(url, "utf8") !== text);
  if (stale.length > 0) {
    console.error(`${stale.map(([url]) => url.pathname.split("/").pop()).join(" and ")} out of date: run \`npm run docs\``);
    process.exit(1);
  }
} else {
  for (const [url, text] of outputs) writeFileSync(url, text);
  console.log(`README.md: ${sections.length} sections, ${readme.split("\n").length} lines; CHANGELOG.md: ${changelog.split("\n").length} lines`);
}

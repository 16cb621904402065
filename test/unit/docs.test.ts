// The documentation stays true to the code: the README fits its budget, every public export is documented (named in a
// guide, or carrying TSDoc for the generated reference), relative links and anchors resolve, no internal word reaches
// a user, and CHANGELOG.md is assembled from docs/changelog/. Exports are read with the TypeScript compiler API from
// the real entry points.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
/** Every public subpath of the package: "." is src/index.ts, "./<name>" is src/integrations/<name>.ts (as typedoc.config.mjs). */
const { exports: subpaths } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, unknown> };
const entries = Object.keys(subpaths)
  .filter((subpath) => subpath !== "./package.json")
  .map((subpath) => (subpath === "." ? "src/index.ts" : `src/integrations/${subpath.slice(2)}.ts`))
  .filter((file) => existsSync(join(root, file)));

/** The README must fit the registry's README limit (64 KiB) with room to spare, and read in a few minutes. */
const README_BUDGET = { bytes: 24 * 1024, lines: 400 };

interface PublicExport {
  readonly entry: string;
  readonly name: string;
  readonly value: boolean;
  readonly fn: boolean;
  readonly documented: boolean;
}

function publicExports(): PublicExport[] {
  const program = ts.createProgram(
    entries.map((file) => join(root, file)),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    },
  );
  const checker = program.getTypeChecker();
  const found: PublicExport[] = [];
  for (const entry of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(root, entry))!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      found.push({
        entry,
        name: exported.getName(),
        value: (symbol.flags & ts.SymbolFlags.Value) !== 0,
        fn: (symbol.flags & ts.SymbolFlags.Function) !== 0,
        documented: symbol.getDocumentationComment(checker).length > 0,
      });
    }
  }
  return found;
}

/** README.md and every guide under docs/ (not the generated reference, not the changelog entries). */
function userDocs(): { file: string; text: string }[] {
  const guides = readdirSync(join(root, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => join("docs", file));
  return ["README.md", ...guides].map((file) => ({ file, text: readFileSync(join(root, file), "utf8") }));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Markdown links outside code: [text](target). */
function linksOf(text: string): string[] {
  const prose = text.replace(/^\s*```[\s\S]*?^\s*```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

describe("documentation", () => {
  const exports = publicExports();
  const docs = userDocs();
  const guideText = docs.map((d) => d.text).join("\n");

  it("CHANGELOG.md is assembled from docs/changelog/ and up to date", () => {
    expect(() => execFileSync(process.execPath, [join(root, "docs/assemble.mjs"), "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("the README fits its budget", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(README_BUDGET.bytes);
    expect(readme.split("\n").length).toBeLessThanOrEqual(README_BUDGET.lines);
  });

  it("the README opens with the two set-up commands: the demo and the tests", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const first = /```sh\n([\s\S]*?)```/
      .exec(readme)![1]!
      .trim()
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, ""));
    expect(first).toEqual(["npm ci && npm run demo", "npm test"]);
    expect(readme.indexOf("```sh")).toBeLessThan(readme.indexOf("\n## "));
  });

  it("finds the public exports", () => {
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expect(exports.map((e) => e.name)).toEqual(
      expect.arrayContaining(["createRouter", "bucketOf", "murmur3", "DecisionReason", "RouterConfig", "createProxy", "createRedisStore"]),
    );
  });

  it("every public export carries TSDoc (the API reference documents it)", () => {
    expect(exports.filter((e) => !e.documented).map((e) => `${e.entry}: ${e.name}`)).toEqual([]);
  });

  it("every public function and constant is named in the README or a guide", () => {
    const missing = exports.filter((e) => e.value && !new RegExp(`\\b${e.name}\\b`).test(guideText)).map((e) => `${e.entry}: ${e.name}`);
    expect(missing).toEqual([]);
  });

  it("every public export appears in the guides or, with its TSDoc, in the reference", () => {
    const missing = exports.filter((e) => !new RegExp(`\\b${e.name}\\b`).test(guideText) && !e.documented).map((e) => `${e.entry}: ${e.name}`);
    expect(missing).toEqual([]);
  });

  it("every relative link and anchor in README.md and docs/ resolves", () => {
    const broken: string[] = [];
    for (const { file, text } of docs) {
      for (const link of linksOf(text)) {
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? join(root, file) : join(root, dirname(file), path);
        if (!existsSync(target)) {
          broken.push(`${file}: ${link} (no ${relative(root, target)})`);
          continue;
        }
        if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor))
          broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("no internal word reaches a user: README, guides, changelog entries, --help", () => {
    const internal = /seed (00[0-9]|task|document)|seed-?[0-9]{3}|seeds'|seed's\b|\bissue [0-9]+\b|maelstrom|\bcoordinator\b/i;
    const files = [
      ...docs.map((d) => d.file),
      ...readdirSync(join(root, "docs/changelog")).map((file) => join("docs/changelog", file)),
      "CHANGELOG.md",
      "src/cli/help.ts",
    ];
    const hits = files.flatMap((file) =>
      readFileSync(join(root, file), "utf8")
        .split("\n")
        .map((line, i) => [i + 1, line] as const)
        .filter(([, line]) => internal.test(line))
        .map(([n, line]) => `${file}:${n}: ${line.trim()}`),
    );
    expect(hits).toEqual([]);
  });
});

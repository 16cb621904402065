// The README is assembled from docs/readme/*.md and must be current; every public function must appear in it and
// carry TSDoc. Checked with the TypeScript compiler API on the real entry points.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const entries = ["src/index.ts", ...["express", "koa", "node", "prometheus", "redis", "otel", "openfeature"].map((name) => `src/integrations/${name}.ts`)].filter((file) =>
  existsSync(join(root, file)),
);

/** Every exported function of every public entry, with whether it has a documentation comment. */
function publicFunctions(): { entry: string; name: string; documented: boolean }[] {
  const program = ts.createProgram(
    entries.map((file) => join(root, file)),
    { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, strict: true, noEmit: true, skipLibCheck: true },
  );
  const checker = program.getTypeChecker();
  const found: { entry: string; name: string; documented: boolean }[] = [];
  for (const entry of entries) {
    const file = program.getSourceFile(join(root, entry))!;
    const module = checker.getSymbolAtLocation(file)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Function)) continue;
      found.push({ entry, name: exported.getName(), documented: symbol.getDocumentationComment(checker).length > 0 });
    }
  }
  return found;
}

describe("documentation", () => {
  it("README.md and CHANGELOG.md are assembled from docs/ and up to date", () => {
    expect(() => execFileSync(process.execPath, [join(root, "docs/assemble.mjs"), "--check"], { stdio: "pipe" })).not.toThrow();
  });

  const functions = publicFunctions();
  const readme = readFileSync(join(root, "README.md"), "utf8");

  it("finds the public functions", () => {
    expect(functions.map((f) => f.name)).toEqual(expect.arrayContaining(["createRouter", "bucketOf", "murmur3"]));
  });

  it("every public function has TSDoc", () => {
    expect(functions.filter((f) => !f.documented).map((f) => `${f.entry}: ${f.name}`)).toEqual([]);
  });

  it("every public function appears in the README", () => {
    const missing = functions.filter((f) => !new RegExp(`\\b${f.name}\\b`).test(readme)).map((f) => `${f.entry}: ${f.name}`);
    expect(missing).toEqual([]);
  });
});

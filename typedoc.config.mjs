// The API reference: `npm run docs` writes it to docs/api/ (gitignored; CI builds it). Every public subpath of the
// package is an entry point: "." is src/index.ts, "./<name>" is src/integrations/<name>.ts. Any warning fails the
// build: an export without TSDoc, a type that is used but not exported, a broken {@link}.
import { existsSync, readFileSync } from "node:fs";

const { exports } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const entryPoints = Object.keys(exports)
  .filter((subpath) => subpath !== "./package.json")
  .map((subpath) => (subpath === "." ? "src/index.ts" : `src/integrations/${subpath.slice(2)}.ts`))
  .filter((file) => existsSync(file));

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  name: "turnout",
  entryPoints,
  out: "docs/api",
  tsconfig: "tsconfig.json",
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, notDocumented: true, invalidLink: true, rewrittenLink: true },
  requiredToBeDocumented: ["Enum", "EnumMember", "Variable", "Function", "Class", "Interface", "Property", "Method", "Accessor", "TypeAlias"],
};

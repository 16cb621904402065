/**
 * Every ```ts / ```js block of README.md and docs/ is what a user would paste: it is compiled (strict, ESM, NodeNext)
 * against the packed package installed into a scratch app in a temporary directory, and run with Node unless fenced
 * `ts compile-only`. The package is built (test/setup/build.ts), packed and installed once; all blocks compile in one
 * tsc run. The frameworks the examples import (express, koa, prom-client, redis, zod, valibot) and their types are
 * linked from this repository's node_modules, as a user's app would have them installed. A block that reads
 * REDIS_URL gets a redis-server started by this test on 127.0.0.1.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const root = join(import.meta.dirname, "..", "..");

interface Block {
  /** Where it is: `docs/router.md:120` (the line of the opening fence). */
  readonly where: string;
  /** The module's file name in the scratch app, without extension. */
  readonly name: string;
  readonly lang: "ts" | "js";
  readonly run: boolean;
  readonly code: string;
  /** Line of the first code line in the markdown file, to map compiler errors back. */
  readonly line: number;
  readonly file: string;
}

function markdownFiles(): string[] {
  const guides = readdirSync(join(root, "docs"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".md") && !file.startsWith("api/") && !file.startsWith("changelog/"))
    .map((file) => join("docs", file))
    .sort();
  return ["README.md", ...guides];
}

/** The code blocks of one markdown file; fences may be indented (inside a list item). */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, lang, info] = open as unknown as [string, string, string, string];
    const end = lines.findIndex((line, j) => j > i && line.startsWith(`${indent}\`\`\``) && line.trim() === "```");
    const body = lines.slice(i + 1, end).map((line) => line.slice(indent.length));
    if (lang === "ts" || lang === "js" || lang === "typescript" || lang === "javascript") {
      const slugged = file
        .replace(/\.md$/, "")
        .replace(/[^A-Za-z0-9]+/g, "-")
        .toLowerCase();
      blocks.push({
        where: `${file}:${i + 1}`,
        name: `${slugged}-${String(i + 1).padStart(4, "0")}`,
        lang: lang.startsWith("j") ? "js" : "ts",
        run: !info.split(/\s+/).includes("compile-only"),
        code: `${body.join("\n")}\n`,
        line: i + 2,
        file,
      });
    }
    i = end;
  }
  return blocks;
}

const blocks = markdownFiles().flatMap(blocksOf);
const runnable = blocks.filter((block) => block.run);
const needsRedis = (block: Block): boolean => block.code.includes("REDIS_URL");

/** Linked from this repository into the scratch app's node_modules: what the examples import besides turnout. */
const LINKED = ["express", "koa", "fastify", "hono", "@hono", "prom-client", "redis", "ioredis", "@opentelemetry", "@openfeature", "zod", "valibot", "@types"];

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    execFile(command, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe("the code blocks of README.md and docs/", () => {
  let work: string;
  let app: string;
  let compileOutput = "";
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "turnout-docs-"));
    app = join(work, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ) as { filename: string }[];
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "docs-examples", private: true, type: "module" }));
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", join(work, packed[0]!.filename)], {
      cwd: app,
      stdio: "pipe",
    });
    for (const name of LINKED) symlinkSync(join(root, "node_modules", name), join(app, "node_modules", name), "dir");
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          allowJs: true,
          checkJs: true,
          skipLibCheck: true,
          rootDir: "src",
          outDir: "dist",
          noEmitOnError: false,
        },
        include: ["src"],
      }),
    );
    for (const block of blocks) writeFileSync(join(app, "src", `${block.name}.${block.lang}`), block.code);
    const tsc = await run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", app], { cwd: app, timeout: 240_000 });
    compileOutput = tsc.output;
    if (runnable.some(needsRedis) && redisAvailable()) redis = await startRedis();
  }, 300_000);

  afterAll(async () => {
    await redis?.dispose();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("finds the blocks of the README and the guides", () => {
    expect(blocks.filter((block) => block.file === "README.md").length).toBeGreaterThanOrEqual(3);
    expect(new Set(blocks.map((block) => block.file)).size).toBeGreaterThanOrEqual(8);
  });

  it("every block compiles against the packed package (strict, ESM, NodeNext)", () => {
    // Map "src/<name>.ts(12,5): error TS…" back to the markdown line.
    const errors = compileOutput
      .split("\n")
      .filter((line) => line.includes("error TS"))
      .map((line) => {
        const match = /src[\\/]([^.]+)\.(?:ts|js)\((\d+),(\d+)\): (.*)$/.exec(line);
        const block = match && blocks.find((b) => b.name === match[1]);
        return block ? `${block.file}:${block.line + Number(match[2]) - 1}: ${match[4]}` : line;
      });
    expect(errors).toEqual([]);
    expect(compileOutput.trim()).toBe("");
  });

  it.each(runnable.map((block) => [block.where, block] as const))(
    "%s runs to completion",
    async (_where, block) => {
      if (needsRedis(block) && redis === undefined) return; // redisAvailable() warned (and throws under CI)
      const script = join(app, "dist", `${block.name}.js`);
      expect(existsSync(script), `${relative(app, script)} was not emitted`).toBe(true);
      const env = { ...process.env, NO_COLOR: "1", ...(redis !== undefined ? { REDIS_URL: redis.url } : {}) };
      const { code, output } = await run(process.execPath, [script], { cwd: app, env, timeout: 30_000 });
      expect(output).not.toMatch(/\b(TypeError|RangeError|SyntaxError|ReferenceError|TurnoutConfigError)\b|Unhandled|ERR_[A-Z_]+/);
      expect(code, output).toBe(0);
    },
    40_000,
  );
});

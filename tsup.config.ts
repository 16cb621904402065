import { existsSync } from "node:fs";
import { defineConfig } from "tsup";

// One entry per public subpath; an integration joins the build once its file exists.
// No source maps in the package: the build is not minified (names and structure stay readable in stack traces), and
// maps were two thirds of the tarball; maps without the sources would point at files the package does not ship.
const entries: Record<string, string> = {
  index: "src/index.ts",
  express: "src/integrations/express.ts",
  koa: "src/integrations/koa.ts",
  node: "src/integrations/node.ts",
  prometheus: "src/integrations/prometheus.ts",
  redis: "src/integrations/redis.ts",
  fetch: "src/integrations/fetch.ts",
  hono: "src/integrations/hono.ts",
  fastify: "src/integrations/fastify.ts",
  otel: "src/integrations/otel.ts",
  openfeature: "src/integrations/openfeature.ts",
  dashboard: "src/integrations/dashboard.ts",
};

export default defineConfig([
  {
    entry: Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file))),
    format: ["esm", "cjs"],
    dts: true,
    clean: false,
    sourcemap: false,
    target: "node20",
    platform: "neutral",
    splitting: true,
    treeshake: true,
    external: ["express", "koa", "prom-client", "redis", "ioredis", "hono", "fastify", "@opentelemetry/api", "@openfeature/server-sdk", "undici"],
  },
  ...(existsSync("src/cli/main.ts")
    ? [
        {
          entry: { cli: "src/cli/main.ts" },
          format: ["esm" as const],
          target: "node20",
          platform: "node" as const,
          banner: { js: "#!/usr/bin/env node" },
          sourcemap: false,
          // The command carries its own copy of the library: without whitespace it is a third smaller, and the
          // names (not minified) still read in a stack trace.
          minifyWhitespace: true,
          minifySyntax: true,
        },
      ]
    : []),
]);

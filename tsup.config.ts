import { existsSync } from "node:fs";
import { defineConfig } from "tsup";

// One entry per public subpath; an integration joins the build once its file exists.
const entries: Record<string, string> = {
  index: "src/index.ts",
  express: "src/integrations/express.ts",
  koa: "src/integrations/koa.ts",
  node: "src/integrations/node.ts",
  prometheus: "src/integrations/prometheus.ts",
  redis: "src/integrations/redis.ts",
  dashboard: "src/integrations/dashboard.ts",
};

export default defineConfig([
  {
    entry: Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file))),
    format: ["esm", "cjs"],
    dts: true,
    clean: false,
    sourcemap: true,
    target: "node20",
    platform: "neutral",
    splitting: true,
    treeshake: true,
    external: ["express", "koa", "prom-client", "redis"],
  },
  ...(existsSync("src/cli/main.ts")
    ? [
        {
          entry: { cli: "src/cli/main.ts" },
          format: ["esm" as const],
          target: "node20",
          platform: "node" as const,
          banner: { js: "#!/usr/bin/env node" },
          sourcemap: true,
        },
      ]
    : []),
]);

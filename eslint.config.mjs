// ESLint for turnout's TypeScript (`npm run lint:code`): eslint's and typescript-eslint's recommended rules, plus the
// type-aware promise rules that guard the proxy, the Redis fleet and the rollout runner, where a promise nobody
// handles loses its rejection. docs/development.md says why each rule is here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "coverage/**",
      "reports/**",
      "**/node_modules/**",
      // Suites with installs and type settings of their own (Bun, Deno, workerd, Chromium, the flag SDKs).
      "test/runtimes/**",
      "test/browser/**",
      "test/sdks/**",
      "bench/peers/**",
    ],
  },
  { files: ["**/*.ts"], extends: [js.configs.recommended, ...tseslint.configs.recommended] },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      // A closure may read a `let` that is assigned once, later (a store that calls back into the rollout it serves).
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // Stripping terminal colours (\x1b) and NUL-separated keys are what these regular expressions are for.
      "no-control-regex": "off",
    },
  },
  {
    // Tests, benchmarks and examples hand async callbacks to node:http, Express and Koa on purpose; a rejection there
    // surfaces as an unhandled rejection that fails the run. Floating promises and the other misuses stay errors.
    files: ["test/**/*.ts", "bench/**/*.ts", "examples/**/*.ts"],
    rules: { "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }] },
  },
);

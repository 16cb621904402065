import { describe, expect, it } from "vitest";
import { TurnoutConfigError, createRouter } from "../../../src/index.js";
import type { RouterConfig } from "../../../src/types.js";

const config: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 100, v2: 0 },
  stickiness: ["header:x-user-id"],
  overrides: [{ header: "x-canary", secret: true, version: "v2" }],
};
const TOKEN = "s3cr3t-canary-token-0123456789";

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof TurnoutConfigError) return error.problems.map((p) => `${p.code} ${p.path}`);
    throw error;
  }
  return [];
}

describe("header overrides that require a secret", () => {
  for (const codegen of [true, false]) {
    it(`force the version only with the secret value (codegen ${codegen})`, () => {
      const router = createRouter(config, { overrideSecret: TOKEN, codegen });
      const ask = (value?: string) => router.decide({ headers: { "x-user-id": "u1", ...(value === undefined ? {} : { "x-canary": value }) } });
      expect(ask(TOKEN)).toMatchObject({ version: "v2", reason: "header_match" });
      for (const wrong of [undefined, "true", "", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), "x".repeat(TOKEN.length)]) {
        expect(ask(wrong), String(wrong)).toMatchObject({ version: "v1", reason: "weighted_routing" });
      }
    });
  }

  it("accept any of several secrets (a rotation), and the explanation never shows the secret", () => {
    const router = createRouter(config, { overrideSecret: ["old-token", TOKEN] });
    expect(router.decide({ headers: { "x-canary": "old-token" } }).version).toBe("v2");
    expect(router.decide({ headers: { "x-canary": TOKEN } }).version).toBe("v2");
    const explanation = JSON.stringify(router.explain({ headers: { "x-canary": TOKEN } }));
    expect(explanation).not.toContain(TOKEN);
    expect(explanation).toContain("the override secret");
  });

  it("an open override (no secret) lets anyone force the version: the risk the option closes", () => {
    const open = createRouter({ ...config, overrides: [{ header: "x-canary", equals: "true", version: "v2" }] });
    expect(open.decide({ headers: { "x-canary": "true" } }).version).toBe("v2");
  });

  it("are refused without the overrideSecret option, or with another matcher, at creation and update", () => {
    expect(problemsOf(() => createRouter(config))).toEqual(["required overrides[0].secret"]);
    expect(
      problemsOf(() => createRouter({ ...config, overrides: [{ header: "x-canary", secret: true, equals: "1", version: "v2" }] }, { overrideSecret: TOKEN })),
    ).toEqual(["conflict overrides[0]"]);
    expect(problemsOf(() => createRouter(config, { overrideSecret: [""] as never }))).toContain("type options.overrideSecret");
    const plain = createRouter({ ...config, overrides: [] });
    expect(problemsOf(() => plain.update(config))).toEqual(["required overrides[0].secret"]);
  });
});

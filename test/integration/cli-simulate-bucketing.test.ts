// `turnout simulate --to-bucketing`: how many keys a switch of bucketing scheme moves, run as the built binary and
// checked against the library's own decisions.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RouterConfig, createRouter } from "../../src/index.js";
import { turnout } from "./fixtures/cli/run.js";

const config: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 50, v2: 50 },
  stickiness: ["header:x-user-id"],
  bucketing: { scheme: "unleash", groupId: "new-checkout" },
};

describe("turnout simulate --to-bucketing", () => {
  const dir = mkdtempSync(join(tmpdir(), "turnout-bucketing-"));
  const path = join(dir, "unleash.json");
  writeFileSync(path, JSON.stringify(config));

  it("the matching scheme moves no key; turnout's own moves about half of them at 50/50, exactly the keys the library moves", async () => {
    const same = await turnout(["simulate", path, "--keys", "20000", "--json", "--to-bucketing", JSON.stringify(config.bucketing)]);
    expect(same.code).toBe(0);
    expect((JSON.parse(same.stdout) as { movement: { moved: number } }).movement.moved).toBe(0);

    const own = await turnout(["simulate", path, "--keys", "20000", "--json", "--to-bucketing", "turnout"]);
    const moved = (JSON.parse(own.stdout) as { movement: { moved: number; to: string } }).movement;
    const before = createRouter(config);
    const after = createRouter({ ...config, bucketing: { scheme: "turnout" } });
    let expected = 0;
    for (let i = 0; i < 20_000; i++) {
      const request = { headers: { "x-user-id": `user-${i}` } };
      if (before.decide(request).version !== after.decide(request).version) expected++;
    }
    expect(moved).toEqual(expect.objectContaining({ moved: expected, to: "bucketing turnout" }));
    expect(expected / 20_000).toBeGreaterThan(0.45);
    expect(expected / 20_000).toBeLessThan(0.55);
  });

  it("refuses a scheme the configuration cannot use, and --to-bucketing beside --to", async () => {
    const refused = await turnout(["simulate", path, "--keys", "10", "--json", "--to-bucketing", '{"scheme":"unleash"}']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual(
      expect.objectContaining({ valid: false, problems: [expect.objectContaining({ code: "required", path: "bucketing.groupId" })] }),
    );
    const both = await turnout(["simulate", path, "--to", path, "--to-bucketing", "turnout"]);
    expect(both.code).toBe(2);
  });
});

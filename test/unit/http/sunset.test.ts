// The engine's sunset rule at its boundary: a version is gone from its sunset instant on (regression: never tested
// at the exact instant, so "after" instead of "from" slipped through).
import { describe, expect, it } from "vitest";
import { createRouter } from "../../../src/router/index.js";
import { createEngine } from "../../../src/integrations/http/engine.js";
import { LIFECYCLE_V1, retiringConfig } from "../../integration/fixtures.js";

describe("sunset enforcement", () => {
  const sunsetAt = Date.parse(LIFECYCLE_V1.sunset);
  const answerAt = (now: number) => {
    const engine = createEngine(createRouter(retiringConfig()), { clock: () => now, logger: { warn: () => undefined, error: () => undefined } });
    return engine.prepare({ headers: {} }, "/api/v1/users", undefined).answer?.status;
  };

  it("answers 410 at the exact sunset instant, and serves the version a millisecond before", () => {
    expect(answerAt(sunsetAt - 1)).toBeUndefined();
    expect(answerAt(sunsetAt)).toBe(410);
    expect(answerAt(sunsetAt + 1)).toBe(410);
  });
});

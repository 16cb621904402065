/**
 * turnout/openfeature through the real OpenFeature server SDK: setProvider, getClient, evaluation details, hooks,
 * configuration-change events and tracking into turnout's stats.
 */
import { type EvaluationDetails, type FlagValue, type Hook, OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { afterEach, describe, expect, it } from "vitest";
import { createOpenFeatureProvider } from "../../src/integrations/openfeature.js";
import { createRouter, createStats } from "../../src/index.js";

afterEach(async () => {
  await OpenFeature.clearProviders();
  OpenFeature.clearHooks();
});

function routers() {
  const checkout = createRouter({
    versions: ["v1", "v2"],
    stable: "v1",
    canary: "v2",
    split: { v1: 70, v2: 30 },
    stickiness: ["key"],
    segments: [{ name: "beta testers", version: "v2", include: [{ attr: "tier", equals: "beta" }] }],
  });
  const search = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100, v2: 0 } });
  return { checkout, search };
}

describe("turnout/openfeature with the OpenFeature server SDK", () => {
  it("resolves flags through the router: variant = version, reasons mapped, never throws", async () => {
    const { checkout, search } = routers();
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout, search } }));
    const client = OpenFeature.getClient();

    const split = await client.getStringDetails("checkout", "v1", { targetingKey: "user-42" });
    const expected = checkout.decide({ key: "user-42", attributes: {} }).version;
    expect(split).toMatchObject({ value: expected, variant: expected, reason: "SPLIT", flagMetadata: { turnoutReason: "weighted_routing" } });
    // Sticky: the same key, the same version.
    for (let i = 0; i < 5; i++) expect((await client.getStringDetails("checkout", "v1", { targetingKey: "user-42" })).value).toBe(expected);

    const versions = new Set<string>();
    for (let i = 0; i < 200; i++) versions.add(await client.getStringValue("checkout", "none", { targetingKey: `u${i}` }));
    expect(versions).toEqual(new Set(["v1", "v2"]));

    expect(await client.getStringDetails("search", "v1", { targetingKey: "user-42" })).toMatchObject({ value: "v1", reason: "STATIC" });
    expect(await client.getBooleanDetails("search", true, { targetingKey: "user-42" })).toMatchObject({ value: false, variant: "v1" });

    const missing = await client.getStringDetails("nope", "fallback", { targetingKey: "a" });
    expect(missing).toMatchObject({ value: "fallback", reason: "ERROR", errorCode: "FLAG_NOT_FOUND" });
    const number = await client.getNumberDetails("checkout", 7, { targetingKey: "a" });
    expect(number).toMatchObject({ value: 7, reason: "ERROR", errorCode: "TYPE_MISMATCH" });
    const junk = await client.getStringDetails("checkout", "v1", { targetingKey: "a", nested: { deep: [1, 2] }, when: new Date(0) } as never);
    expect(junk.errorCode).toBeUndefined();
  });

  it("maps targeting: the context's attributes become the request's", async () => {
    const { checkout } = routers();
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout } }));
    const details = await OpenFeature.getClient().getStringDetails("checkout", "v1", { targetingKey: "user-1", tier: "beta" });
    expect(details).toMatchObject({ value: "v2", variant: "v2", reason: "TARGETING_MATCH" });
  });

  it("runs the client's hooks around each evaluation", async () => {
    const { checkout } = routers();
    const seen: string[] = [];
    const hook: Hook = {
      before: (ctx) => void seen.push(`before ${ctx.flagKey}`),
      after: (_ctx, details: EvaluationDetails<FlagValue>) => void seen.push(`after ${String(details.value)} ${details.reason}`),
      error: (_ctx, error) => void seen.push(`error ${(error as Error).name}`),
      finally: () => void seen.push("finally"),
    };
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout } }));
    const client = OpenFeature.getClient();
    client.addHooks(hook);
    await client.getStringValue("checkout", "v1", { targetingKey: "user-1", tier: "beta" });
    await client.getStringValue("missing", "v1", { targetingKey: "user-1" });
    expect(seen).toEqual(["before checkout", "after v2 TARGETING_MATCH", "finally", "before missing", "error FlagNotFoundError", "finally"]);
  });

  it("a router update emits PROVIDER_CONFIGURATION_CHANGED with the flag", async () => {
    const { checkout } = routers();
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout } }));
    const changed: string[][] = [];
    OpenFeature.getClient().addHandler(ProviderEvents.ConfigurationChanged, (details) => void changed.push([...(details?.flagsChanged ?? [])]));
    checkout.setCanaryPercent(100);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changed).toEqual([["checkout"]]);
    expect(await OpenFeature.getClient().getStringDetails("checkout", "v1", { targetingKey: "user-42" })).toMatchObject({ value: "v2", reason: "STATIC" });
  });

  it("tracking events feed turnout's stats for the context's version", async () => {
    const { checkout } = routers();
    const stats = createStats({ versions: ["v1", "v2"] });
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider({ flags: { checkout }, stats }));
    const client = OpenFeature.getClient();
    client.track("checkout-completed", { targetingKey: "user-1", tier: "beta" }, { durationMs: 40 });
    client.track("checkout-failed", { targetingKey: "user-1", tier: "beta" }, { ok: false, value: 90 });
    const window = stats.window();
    expect(window.versions.v2).toMatchObject({ requests: 2, errors: 1 });
    expect(window.versions.v1?.requests ?? 0).toBe(0);
  });
});

/**
 * turnout in a Koa app: a checkout A/B test (sticky per user, X-AB-Test / X-AB-Variant headers) on top of a 25 %
 * canary, v1 sunset with 410 Gone once its date has passed, and outcomes recorded in the stats.
 * Run: npm run example:koa (add -- --smoke to exit after a few requests).
 */
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { createRouter, createStats } from "turnout";
import { turnout, versioned } from "turnout/koa";
import { port, probe, smoke } from "./lib/smoke.js";

const router = createRouter({
  versions: ["v1", "v2", "v3"],
  stable: "v2",
  canary: "v3",
  split: { v2: 75, v3: 25 },
  stickiness: ["header:x-user-id"],
  explicit: { path: { prefix: "/api" } },
  experiments: [
    {
      name: "checkout-flow",
      salt: "checkout-2026",
      paths: ["/api/checkout"],
      variants: [
        { name: "control", weight: 50 },
        { name: "one-page", weight: 50 },
      ],
    },
  ],
  lifecycle: {
    v1: { deprecated: "2025-01-01T00:00:00Z", sunset: "2025-06-01T00:00:00Z", successor: "v2", migrationGuide: "https://example.com/migrate" },
  },
});
const stats = createStats({ versions: ["v1", "v2", "v3"] });

const app = new Koa();
app.use(turnout(router, { stats, key: (ctx) => ctx.get("x-user-id") || undefined }));
app.use(
  versioned({
    v2: (ctx) => void (ctx.body = { version: "v2", variant: ctx.state.turnout?.experiment?.variant ?? null }),
    v3: (ctx) => void (ctx.body = { version: "v3", variant: ctx.state.turnout?.experiment?.variant ?? null }),
  }),
);

const server = app.listen(port, "127.0.0.1", async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(`listening on ${base}`);
  if (!smoke) return;
  await probe(base, [
    { path: "/api/checkout", headers: { "x-user-id": "alice" } },
    { path: "/api/checkout", headers: { "x-user-id": "dave" } },
    { path: "/api/checkout", headers: { "x-user-id": "frank" } },
    { path: "/api/v1/checkout" },
  ]);
  console.log(JSON.stringify(stats.lifetime().totals));
  server.close();
});

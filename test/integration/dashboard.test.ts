import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { type DashboardControlEvent, createDashboard } from "../../src/integrations/dashboard.js";
import { DASHBOARD_PAGE } from "../../src/integrations/dashboard-page.js";
import { type RolloutPlan, createRollout } from "../../src/rollout/index.js";
import { VirtualTime } from "../../src/rollout/virtual.js";
import { createRouter } from "../../src/router/index.js";
import { createStats } from "../../src/stats/index.js";

const T0 = 1_767_225_600_000;
const plan: RolloutPlan = {
  steps: [
    { weight: 10, pause: "10m" },
    { weight: 50, pause: "10m" },
  ],
};
const TOKEN = "alice-token-0123456789abcdef";

/** The page's size budget: what the dashboard ships, one file. */
const PAGE_BUDGET_BYTES = 16 * 1024;

function setup(extra: Partial<Parameters<typeof createDashboard>[0]> = {}) {
  const time = new VirtualTime(T0);
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2"], window: "30m", resolution: "10s", clock: time.clock });
  const rollout = createRollout(plan, { router, stats, clock: time.clock, timers: time });
  const events: DashboardControlEvent[] = [];
  const dashboard = createDashboard({ rollout, router, stats, plan, tokens: { alice: TOKEN }, clock: time.clock, onControl: (e) => events.push(e), ...extra });
  return { time, router, rollout, dashboard, events };
}

let servers: http.Server[] = [];
let closers: (() => void)[] = [];
afterEach(async () => {
  for (const close of closers) close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
  closers = [];
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let counter = 0;
function call(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}, at = T0): Promise<Response> {
  counter++;
  return fetch(`${url}/control`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, origin: url, ...headers },
    body: JSON.stringify({ nonce: `nonce-${counter}-abcdefghijkl`, at, ...body }),
  });
}

describe("turnout/dashboard over node:http", () => {
  it("serves one self-contained page within its size budget (no external assets)", async () => {
    const { dashboard } = setup();
    closers.push(() => dashboard.close());
    const url = await listen((req, res) => dashboard.node(req, res));
    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(Buffer.byteLength(html)).toBeLessThan(PAGE_BUDGET_BYTES);
    expect(Buffer.byteLength(DASHBOARD_PAGE)).toBe(Buffer.byteLength(html));
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
  });

  it("pushes the state as Server-Sent Events", async () => {
    const { dashboard, rollout } = setup({ intervalMs: 50 });
    closers.push(() => dashboard.close());
    rollout.start();
    const url = await listen((req, res) => dashboard.node(req, res));
    const response = await fetch(`${url}/events`);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // One event is "data: <json>\n\n"; a read may end inside it or hold several, so read up to the first blank line.
    const decoder = new TextDecoder();
    let buffered = "";
    while (!buffered.includes("\n\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
    }
    const text = buffered.slice(0, buffered.indexOf("\n\n"));
    expect(text.startsWith("data: ")).toBe(true);
    const state = JSON.parse(text.slice(6).trim()) as { rollout: { phase: string; weight: number }; steps: unknown[] };
    expect(state.rollout).toMatchObject({ phase: "progressing", weight: 10 });
    expect(state.steps).toHaveLength(2);
    await reader.cancel();
  });

  it("refuses controls without a token (401), from a foreign Origin (403), replayed or malformed, and nothing changes", async () => {
    const { dashboard, rollout, router, events } = setup();
    closers.push(() => dashboard.close());
    rollout.start();
    const url = await listen((req, res) => dashboard.node(req, res));
    const before = { status: rollout.status(), revision: router.revision };

    expect((await call(url, { action: "abort" }, { authorization: "" })).status).toBe(401);
    expect((await call(url, { action: "abort" }, { authorization: "Bearer wrong-token" })).status).toBe(401);
    expect((await call(url, { action: "abort" }, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await call(url, { action: "abort" }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await call(url, { action: "weight", weight: 100 }, { origin: "http://127.0.0.1:1" })).status).toBe(403);
    // A form post (what a cross-site page can send without CORS) is not JSON.
    expect((await call(url, { action: "abort" }, { "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
    // Malformed.
    for (const body of [
      { action: "explode" },
      { action: "abort", nonce: "short" },
      { action: "weight", weight: 150 },
      { action: "weight" },
      { action: "abort", at: "now" },
    ]) {
      expect((await call(url, body)).status, JSON.stringify(body)).toBe(400);
    }
    const raw = await fetch(`${url}/control`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: "{not json",
    });
    expect(raw.status).toBe(400);
    // Stale.
    expect((await call(url, { action: "abort" }, {}, T0 - 5 * 60_000)).status).toBe(409);

    expect(rollout.status()).toEqual(before.status);
    expect(router.revision).toBe(before.revision);
    expect(events).toEqual([]);

    // A genuine call acts once; the same call replayed is refused.
    const body = { action: "pause", nonce: "replay-me-0123456789", at: T0 };
    const headers = { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, origin: url };
    const first = await fetch(`${url}/control`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ actor: "alice", action: "pause", accepted: true });
    expect(rollout.status().phase).toBe("paused");
    const replay = await fetch(`${url}/control`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(replay.status).toBe(409);
    expect(events).toHaveLength(1);
  });

  it("each control acts through the rollout and the router, and says who acted; rate limited per actor", async () => {
    const { dashboard, rollout, router, events } = setup({ rateLimit: 4, tokens: { alice: TOKEN, bob: "bob-token-0123456789abcdef" } });
    closers.push(() => dashboard.close());
    rollout.start();
    const url = await listen((req, res) => dashboard.node(req, res));
    expect((await call(url, { action: "pause" })).status).toBe(200);
    expect((await call(url, { action: "resume" })).status).toBe(200);
    expect((await call(url, { action: "promote" })).status).toBe(200);
    expect(rollout.status()).toMatchObject({ stepIndex: 1, weight: 50 });
    expect((await call(url, { action: "weight", weight: 30 }, { authorization: "Bearer bob-token-0123456789abcdef" })).status).toBe(200);
    expect(router.canaryPercent).toBe(30);
    expect((await call(url, { action: "abort" })).status).toBe(200);
    expect(rollout.status().phase).toBe("aborted");
    expect(events.map((e) => `${e.actor} ${e.action}`)).toEqual(["alice pause", "alice resume", "alice promote", "bob weight", "alice abort"]);
    expect((await call(url, { action: "resume" })).status).toBe(429);
    expect(events).toHaveLength(5);
  });

  it("is read-only without tokens", async () => {
    const { dashboard, rollout } = setup({ tokens: {} });
    closers.push(() => dashboard.close());
    rollout.start();
    const url = await listen((req, res) => dashboard.node(req, res));
    expect((await call(url, { action: "abort" })).status).toBe(403);
    expect(rollout.status().phase).toBe("progressing");
    expect(((await (await fetch(`${url}/state`)).json()) as { readOnly: boolean }).readOnly).toBe(true);
  });

  it("mounts in Express and Koa, and answers fetch-style requests", async () => {
    const { dashboard } = setup();
    closers.push(() => dashboard.close());
    const app = express();
    app.use("/ops/rollout", (req, res) => dashboard.node(req, res));
    const expressUrl = await listen(app as unknown as http.RequestListener);
    expect(((await (await fetch(`${expressUrl}/ops/rollout/state`)).json()) as { steps: unknown[] }).steps).toHaveLength(2);
    expect((await fetch(`${expressUrl}/ops/rollout/`)).headers.get("content-type")).toMatch(/^text\/html/);

    const koa = new Koa();
    koa.use((ctx) => {
      ctx.respond = false;
      dashboard.node(ctx.req, ctx.res);
    });
    const koaUrl = await listen(koa.callback());
    expect((await fetch(`${koaUrl}/state`)).status).toBe(200);

    const response = await dashboard.fetch(new Request("http://127.0.0.1/state"));
    expect(((await response.json()) as { router: { revision: number } }).router.revision).toBe(1);
    const refused = await dashboard.fetch(
      new Request("http://127.0.0.1/control", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
    );
    expect(refused.status).toBe(401);
  });
});

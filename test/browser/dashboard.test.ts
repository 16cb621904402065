// The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core from test/browser):
// the page renders, follows a running rollout step by step, and its controls act; over a fleet in a real
// redis-server, its fleet table shows the config revision each instance applies. Screenshots are written to
// test/.artifacts/; with UPDATE_SCREENSHOTS=1 the three documented states are written to docs/images/ as well.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard } from "../../src/integrations/dashboard.js";
import { createRedisStore } from "../../src/integrations/redis.js";
import { type RolloutPlan, createRollout } from "../../src/rollout/index.js";
import { VirtualTime } from "../../src/rollout/virtual.js";
import { createRouter } from "../../src/router/index.js";
import { createStats } from "../../src/stats/index.js";
import { startRedis } from "../integration/redis/server.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PLAYWRIGHT = path.join(ROOT, "test/browser/node_modules/playwright-core/index.mjs");
const ARTIFACTS = path.join(ROOT, "test/.artifacts");
const DOCS_IMAGES = path.join(ROOT, "docs/images");
const TOKEN = "operator-token-0123456789abcdef";
// Virtual time for the rollout, ending before the real time the page and the controls use (timeline in order).
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
const plan: RolloutPlan = {
  steps: [
    { weight: 10, pause: "3m" },
    { weight: 25, pause: "3m" },
    { weight: 50, pause: "3m" },
  ],
  analysis: { window: "2m", interval: "1m", minRequests: 10, maxErrorRate: 5, maxP99Ms: 400 },
  rollbackWindow: "30m",
};

interface Locator {
  textContent(): Promise<string | null>;
  fill(value: string): Promise<void>;
  click(): Promise<void>;
  focus(): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  locator(selector: string): Locator;
  getByRole(role: string, options: { name: string }): Locator;
  getByLabel(label: string): Locator;
  keyboard: { press(key: string): Promise<void> };
  waitForFunction(fn: string, arg?: unknown, options?: { timeout: number }): Promise<unknown>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
}
interface Context {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: { launchPersistentContext(dir: string, options: Record<string, unknown>): Promise<Context> };
}

function scenario() {
  const time = new VirtualTime(T0);
  const router = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2" });
  const stats = createStats({ versions: ["v1", "v2"], window: "30m", resolution: "10s", clock: time.clock });
  const rollout = createRollout(plan, { router, stats, clock: time.clock, timers: time });
  const dashboard = createDashboard({ rollout, router, stats, plan, tokens: { operator: TOKEN }, intervalMs: 100 });
  let tick = 0;
  /** Traffic for `seconds`, 10 s at a time: both versions healthy unless `canaryErrors`. */
  const run = (seconds: number, canaryErrors = 0) => {
    for (let s = 0; s < seconds; s += 10) {
      tick++;
      const canaryShare = router.canaryPercent / 100;
      const total = 400 + 60 * Math.sin(tick / 4);
      for (const [version, share] of [
        ["v1", 1 - canaryShare],
        ["v2", canaryShare],
      ] as const) {
        const count = Math.round(total * share);
        const failed = version === "v2" ? Math.round(count * canaryErrors) : Math.round(count * 0.004);
        const base = version === "v2" ? 95 : 110;
        for (let i = 0; i < 20 && count > 0; i++) {
          stats.record({
            version,
            ok: true,
            latencyMs: base + 60 * Math.sin(tick + i) ** 2 + (i === 19 ? 120 : 0),
            count: Math.max(1, Math.floor((count - failed) / 20)),
          });
        }
        if (failed > 0) stats.record({ version, ok: false, latencyMs: 300, count: failed });
      }
      time.advance(10_000);
    }
  };
  return { time, router, stats, rollout, dashboard, run };
}

describe("the dashboard in headless Chromium", () => {
  let playwright: Playwright;
  let context: Context;
  let userData: string;
  const servers: http.Server[] = [];

  beforeAll(async () => {
    // Fails loudly when what it needs is missing: .ci/run installs both.
    expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`).toBe(true);
    expect(existsSync(PLAYWRIGHT), "playwright-core (npm ci --prefix test/browser)").toBe(true);
    playwright = (await import(pathToFileURL(PLAYWRIGHT).href)) as Playwright;
    userData = mkdtempSync(path.join(os.tmpdir(), "turnout-chromium-"));
    context = await playwright.chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 900 },
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    for (const server of servers) server.close();
    if (userData !== undefined) rmSync(userData, { recursive: true, force: true });
  });

  async function open(dashboard: ReturnType<typeof createDashboard>): Promise<Page> {
    const server = http.createServer((req, res) => dashboard.node(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return page;
  }

  /** Waits until the element's text matches (the page updates from the event stream). */
  const textIs = (page: Page, selector: string, pattern: RegExp) =>
    page.waitForFunction(
      `new RegExp(${JSON.stringify(pattern.source)}).test((document.querySelector(${JSON.stringify(selector)}) || {}).textContent || "")`,
      undefined,
      { timeout: 10_000 },
    );

  /** Waits until the fleet table's rows read `pattern`: "<instance> <revision>" per row, joined by "; ". */
  const fleetIs = (page: Page, pattern: RegExp) =>
    page.waitForFunction(
      `new RegExp(${JSON.stringify(pattern.source)}).test(Array.from(document.querySelectorAll("#fleet tr"), (row) => Array.from(row.cells).slice(0, 2).map((cell) => cell.textContent).join(" ")).join("; "))`,
      undefined,
      { timeout: 10_000 },
    );

  async function shoot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      mkdirSync(DOCS_IMAGES, { recursive: true });
      await page.screenshot({ path: path.join(DOCS_IMAGES, `dashboard-${name}.png`), fullPage: true });
    }
  }

  it("renders and follows a running rollout step by step, to promotion", async () => {
    const { rollout, dashboard, run } = scenario();
    rollout.start();
    run(60);
    const page = await open(dashboard);
    await textIs(page, "#phase", /^(progressing|analysing)$/);
    await textIs(page, "#position", /step 1 of 3/);
    run(180);
    await textIs(page, "#position", /step 2 of 3/);
    await textIs(page, "#steps li[aria-current=step]", /25 %/);
    await textIs(page, "#verdict", /pass/);
    await textIs(page, "#checks", /maxErrorRate/);
    await shoot(page, "healthy");
    run(400);
    await textIs(page, "#phase", /^promoted$/);
    await textIs(page, "#timeline", /promoted/);
    await shoot(page, "promoted");
    dashboard.close();
  }, 60_000);

  it("its controls act (keyboard included), and the timeline says who acted", async () => {
    const { rollout, router, dashboard, run } = scenario();
    rollout.start();
    run(90);
    const page = await open(dashboard);
    await textIs(page, "#phase", /^(progressing|analysing)$/);
    // Without a token the control is refused and nothing changes.
    await page.getByRole("button", { name: "Pause" }).click();
    await textIs(page, "#message", /refused \(401\)/);
    expect(rollout.status().phase).toMatch(/^(progressing|analysing)$/);

    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Pause" }).click();
    await textIs(page, "#phase", /^paused$/);
    expect(rollout.status().phase).toBe("paused");
    await page.getByRole("button", { name: "Resume" }).focus();
    await page.keyboard.press("Enter");
    await textIs(page, "#phase", /^(progressing|analysing)$/);
    await page.getByLabel("Canary weight %").fill("30");
    await page.getByRole("button", { name: "Set weight" }).click();
    await textIs(page, "#message", /weight: done by operator/);
    expect(router.canaryPercent).toBe(30);
    run(20, 0.3);
    await page.getByRole("button", { name: "Abort" }).click();
    await textIs(page, "#message", /abort: done by operator/);
    await textIs(page, "#phase", /^aborted$/);
    expect(rollout.status()).toMatchObject({ phase: "aborted", abortReason: "aborted from the dashboard by operator" });
    await textIs(page, "#timeline", /operator: abort/);
    run(30);
    await shoot(page, "aborted");
    dashboard.close();
  }, 60_000);

  it("over a fleet in Redis, the fleet table shows the revision each instance applies and marks the one behind", async () => {
    const redis = await startRedis(); // fails loudly without redis-server: .ci/run installs it
    const client = createClient({ url: redis.url });
    client.on("error", () => undefined);
    await client.connect();
    const quiet = { warn: () => undefined, error: () => undefined };
    const storeOf = () => createRedisStore(client, { namespace: "browser", logger: quiet });
    const config = (v2: number) => ({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 100 - v2, v2 } });
    const operator = storeOf();
    await operator.writeConfig(config(0), { expectedRevision: 0 });
    await operator.writeConfig(config(10), { expectedRevision: 1 });
    // web-1 follows the config through its store; web-2 reports an older revision it applied otherwise; web-3 none.
    const web1 = storeOf();
    const sync = web1.watchConfig(createRouter(config(0)), { pollMs: 200 });
    const stats = createStats({ versions: ["v1", "v2"] });
    const publishers = [
      web1.publishStats(stats, { instance: "web-1", intervalMs: 200 }),
      storeOf().publishStats(stats, { instance: "web-2", intervalMs: 200, revision: () => 1 }),
      storeOf().publishStats(stats, { instance: "web-3", intervalMs: 200 }),
    ];
    const dashboard = createDashboard({ source: operator.dashboardSource(plan), plan, intervalMs: 100 });
    try {
      await sync.ready;
      const page = await open(dashboard);
      await textIs(page, "#revision", /config revision 2/);
      await fleetIs(page, /^web-1 2; web-2 1 \(behind\); web-3 —$/);
      // Nothing started: the header does not claim the canary is at 0 % while the config sends it 10 %.
      await textIs(page, "#summary", /^v2 not started · stable v1$/);
      await operator.updateConfig((c) => ({ ...(c ?? config(0)), split: { v1: 50, v2: 50 } }));
      await textIs(page, "#revision", /config revision 3/);
      await fleetIs(page, /^web-1 3; web-2 1 \(behind\); web-3 —$/);
      await shoot(page, "fleet-revisions");
    } finally {
      dashboard.close();
      await Promise.all(publishers.map((p) => p.close({ remove: true })));
      await sync.close();
      await client.close();
      await redis.dispose();
    }
  }, 60_000);
});

/**
 * `turnout dashboard`, run as the built binary (dist/cli.js) against a real redis-server, beside a real controller
 * (in this process) leading a rollout: the page, the state and the event stream reflect what is stored in Redis, and
 * controls sent with the token are stored by compare-and-set and taken up by the leading controller; calls without
 * the token, with a wrong one or from a foreign Origin are refused and change nothing.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DashboardState } from "../../src/integrations/dashboard.js";
import { type FleetRollout, type RedisStore, type StatsPublisher, createRedisStore } from "../../src/integrations/redis.js";
import type { RolloutPlan } from "../../src/rollout/types.js";
import { createStats } from "../../src/stats/index.js";
import { cli, root, turnout } from "./fixtures/cli/run.js";
import { until } from "./helpers.js";
import { type Connected, connectClient } from "./redis/clients.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();
const NAMESPACE = "shop";
const TOKEN = "alice-dashboard-token-0123456789";
const plan: RolloutPlan = {
  steps: [
    { weight: 10, pause: "1h" },
    { weight: 50, pause: "1h" },
  ],
};

interface Served {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `turnout dashboard …args` and waits for the line that gives its address. */
async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [cli, "dashboard", ...args], { cwd: root, env: { ...process.env, TURNOUT_DASHBOARD_TOKEN: undefined, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  await until(
    () => /http:\/\/\S+\//.test(stdout) || child.exitCode !== null,
    20_000,
    "the dashboard's address",
    () => ({ stdout, stderr }),
  );
  const url = /(http:\/\/\S+)\//.exec(stdout)?.[1];
  if (url === undefined) throw new Error(`turnout dashboard did not start: ${stderr}`);
  return {
    child,
    url,
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Polls an async condition every 50 ms for up to 5 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let counter = 0;
function control(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  counter++;
  return fetch(`${url}/control`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, origin: url, ...headers },
    body: JSON.stringify({ nonce: `cli-dashboard-${counter}-${Date.now()}`, at: Date.now(), ...body }),
  });
}

async function state(url: string): Promise<DashboardState> {
  return (await (await fetch(`${url}/state`)).json()) as DashboardState;
}

/** The first message of the event stream. */
async function firstEvent(url: string): Promise<DashboardState> {
  const controller = new AbortController();
  const response = await fetch(`${url}/events`, { signal: controller.signal });
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return JSON.parse(text.slice("data: ".length, text.indexOf("\n\n"))) as DashboardState;
}

describe.skipIf(!available)("turnout dashboard over a fleet's rollout in Redis", () => {
  let server: RedisServer;
  let connected: Connected;
  let store: RedisStore;
  let leader: FleetRollout;
  let publisher: StatsPublisher;
  let dir: string;
  let planFile: string;
  let dashboard: Served;

  beforeAll(async () => {
    server = await startRedis();
    connected = await connectClient("node-redis@5", { type: "single", url: server.url });
    store = createRedisStore(connected.client, { namespace: NAMESPACE, logger: { warn: () => undefined, error: () => undefined } });
    await store.writeConfig({ versions: ["v1", "v2"], stable: "v1", canary: "v2" }, { expectedRevision: 0, writer: "test" });
    const stats = createStats({ versions: ["v1", "v2"] });
    stats.record({ version: "v1", ok: true, latencyMs: 12 });
    publisher = store.publishStats(stats, { instance: "web-1", intervalMs: 500 });
    await publisher.push();
    leader = store.controlRollout(plan, { id: "leader", leaseMs: 1000, renewMs: 200 });
    await leader.ready;
    expect((await leader.start()).accepted).toBe(true);
    dir = mkdtempSync(join(tmpdir(), "turnout-dashboard-"));
    planFile = join(dir, "plan.json");
    writeFileSync(planFile, JSON.stringify(plan));
    dashboard = await serve(["--redis", server.url, "--plan", planFile, "--namespace", NAMESPACE, "--port", "0", "--actor", "alice"], {
      TURNOUT_DASHBOARD_TOKEN: TOKEN,
    });
  }, 60_000);

  afterAll(async () => {
    await dashboard?.stop();
    await publisher?.close();
    await leader?.close();
    await connected?.close();
    await server?.dispose();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("serves the page, and the rollout, config revision and fleet as stored in Redis, as JSON and as events", async () => {
    const page = await fetch(`${dashboard.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="fleet"');
    const config = await store.readConfig();
    const now = await state(dashboard.url);
    expect(now.readOnly).toBe(false);
    expect(now.rollout).toMatchObject({ phase: "progressing", stepIndex: 0, weight: 10, stable: "v1", canary: "v2" });
    expect(now.steps.map((s) => s.weight)).toEqual([10, 50]);
    expect(now.router).toEqual({ revision: config?.revision, split: { v1: 90, v2: 10 } });
    expect(now.fleet.map((i) => i.id)).toEqual(["web-1"]);
    expect(now.fleet[0]?.staleMs).toBeLessThan(10_000);
    expect(now.versions.v1?.requests).toBe(1);
    expect(now.timeline.map((e) => e.type)).toContain("started");
    const pushed = await firstEvent(dashboard.url);
    expect(pushed.rollout).toMatchObject({ phase: "progressing", stepIndex: 0 });
  });

  it("refuses calls without the token, with a wrong one, or from a foreign Origin, and changes nothing", async () => {
    const before = await leader.state();
    const revision = (await store.readConfig())?.revision;
    const refused = [
      await control(dashboard.url, { action: "promote" }, { authorization: "" }),
      await control(dashboard.url, { action: "abort" }, { authorization: "Bearer not-the-token-at-all-0000" }),
      await control(dashboard.url, { action: "promote" }, { origin: "https://evil.example" }),
      await control(dashboard.url, { action: "weight", weight: 100 }, { authorization: `Bearer ${TOKEN}x` }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 403, 401]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await leader.state()).toEqual(before);
    expect((await store.readConfig())?.revision).toBe(revision);
    expect((await state(dashboard.url)).controls).toEqual([]);
  });

  it("controls with the token are stored by compare-and-set, and the leading controller acts on them", async () => {
    const pause = await control(dashboard.url, { action: "pause" });
    expect(pause.status).toBe(200);
    expect(await pause.json()).toMatchObject({ actor: "alice", action: "pause", accepted: true });
    await until(() => leader.status().rollout?.phase === "paused", 5000, "the leader sees the pause");

    const resume = await control(dashboard.url, { action: "resume" });
    expect(resume.status).toBe(200);
    await until(() => leader.status().rollout?.phase === "progressing", 5000, "the leader sees the resume");

    const promote = await control(dashboard.url, { action: "promote" });
    expect(promote.status).toBe(200);
    await until(() => leader.status().rollout?.stepIndex === 1, 5000, "the leader at step 2");
    expect((await store.readConfig())?.config.split).toEqual({ v1: 50, v2: 50 });

    // a weight moved by hand during a rollout: stored, then put back by the leader (the step's weight rules)
    const weight = await control(dashboard.url, { action: "weight", weight: 30 });
    expect(weight.status).toBe(200);
    expect((await store.readConfig())?.config.split).toEqual({ v1: 70, v2: 30 });
    await eventually(async () => (await store.readConfig())?.config.split?.v2 === 50, "the leader puts the step's weight back");

    const abort = await control(dashboard.url, { action: "abort" });
    expect(abort.status).toBe(200);
    await until(() => leader.status().rollout?.phase === "aborted", 5000, "the leader sees the abort");
    expect(leader.status().rollout?.abortReason).toBe("aborted from the dashboard by alice");
    expect((await store.readConfig())?.config.split).toEqual({ v1: 100, v2: 0 });

    const refused = await control(dashboard.url, { action: "promote" });
    expect(refused.status).toBe(409); // an aborted rollout does not promote: the machine's own answer

    const now = await state(dashboard.url);
    expect(now.rollout).toMatchObject({ phase: "aborted" });
    expect(now.controls.map((c) => [c.action, c.accepted])).toEqual([
      ["pause", true],
      ["resume", true],
      ["promote", true],
      ["weight", true],
      ["abort", true],
      ["promote", false],
    ]);
    expect(now.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(["paused", "resumed", "aborted"]));
  }, 30_000);

  it("without a token in the environment it is read-only: every control is refused", async () => {
    const readOnly = await serve(["--redis", server.url, "--plan", planFile, "--namespace", NAMESPACE, "--port", "0"]);
    try {
      expect((await state(readOnly.url)).readOnly).toBe(true);
      const before = await leader.state();
      const response = await control(readOnly.url, { action: "retry" });
      expect(response.status).toBe(403);
      expect(await leader.state()).toEqual(before);
    } finally {
      expect(await readOnly.stop()).toBe(0);
    }
  });

  it("serves the same with ioredis", async () => {
    const other = await serve(["--redis", server.url, "--plan", planFile, "--namespace", NAMESPACE, "--port", "0", "--client", "ioredis"]);
    try {
      expect((await state(other.url)).rollout).toMatchObject({ phase: "aborted" });
    } finally {
      expect(await other.stop()).toBe(0);
    }
  });

  it("exits 1 naming the packages to install when neither redis nor ioredis can be loaded", async () => {
    const alone = mkdtempSync(join(tmpdir(), "turnout-no-redis-"));
    try {
      copyFileSync(cli, join(alone, "cli.js"));
      const child = spawn(process.execPath, [join(alone, "cli.js"), "dashboard", "--redis", server.url, "--plan", planFile], { cwd: alone });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code).toBe(1);
      expect(stderr).toMatch(/npm install redis.*npm install ioredis/);
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });

  it("usage errors exit 2; an unreachable Redis exits 1", async () => {
    const missing = await turnout(["dashboard", "--plan", planFile], "", { REDIS_URL: "" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--redis <url> is required/);
    const weakToken = await turnout(["dashboard", "--redis", server.url, "--plan", planFile], "", { TURNOUT_DASHBOARD_TOKEN: "short" });
    expect(weakToken.code).toBe(2);
    const unreachable = await turnout(["dashboard", "--redis", "redis://127.0.0.1:1", "--plan", planFile, "--port", "0"], "", {}, 30_000);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot (reach|connect to) Redis at redis:\/\/127\.0\.0\.1:1/);
  }, 40_000);
});

// The core and turnout/fetch proven in the real runtimes: the acceptance script (acceptance.mjs) runs in Node, Bun,
// Deno, workerd and a headless Chromium, its turnout/fetch app is served by Bun.serve, Deno.serve and a workerd
// Worker, and createFetchProxy by Bun.serve and Deno.serve; every answer must be byte-identical to Node's. A runtime that is missing or cannot start fails its test:
// run `npm run test:runtimes`, which installs them (test/runtimes/package.json).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTP_SCENARIO, PROXY_SCENARIO, recordResponse, servedApp, servedProxy } from "./acceptance.mjs";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..", "..");
const DIST = join(ROOT, "dist");
const CHROMIUM = process.env["TURNOUT_CHROMIUM"] ?? "/usr/bin/chromium";

/** What a runtime answered: its description (not compared) and the acceptance script's text (compared). */
interface Answer {
  readonly environment: { readonly runtime: string; readonly codegen: boolean; readonly requestCookies: boolean; readonly cspViolations?: readonly string[] };
  readonly result: string;
}

function parseAnswer(text: string, who: string): Answer {
  const newline = text.indexOf("\n");
  if (newline < 0) throw new Error(`${who} answered no result:\n${text.slice(0, 2000)}`);
  return { environment: JSON.parse(text.slice(0, newline)) as Answer["environment"], result: text.slice(newline + 1).trimEnd() };
}

/** A runtime's binary from test/runtimes/node_modules; a missing one is an error that says how to install it. */
function binary(name: string): string {
  const path = join(HERE, "node_modules", ".bin", name);
  if (!existsSync(path)) throw new Error(`${name} is not installed: run \`npm run test:runtimes\` (it runs \`npm ci --prefix test/runtimes\`)`);
  return path;
}

/** Runs a command to completion; a failure to start, a non-zero exit or a timeout rejects with its output. */
function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: HERE, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}:\n${stderr.slice(-4000)}`));
    });
  });
}

/** The first line where `actual` and `expected` differ, with the lines around it, or `undefined` when equal. */
function firstDifference(actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  const a = actual.split("\n");
  const e = expected.split("\n");
  const line = a.findIndex((text, i) => text !== e[i]);
  const at = line < 0 ? Math.min(a.length, e.length) : line;
  return `line ${at + 1} of ${e.length}:\n  node: ${e.slice(at, at + 3).join("\n        ")}\n  this: ${a.slice(at, at + 3).join("\n        ")}`;
}

/** The build's ESM files reachable from `entry`, following its relative imports. */
function reachable(entry: string): string[] {
  const files: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.includes(file)) continue;
    files.push(file);
    for (const [, from, bare] of readFileSync(join(DIST, file), "utf8").matchAll(/\bfrom\s*["']\.\/([^"']+)["']|\bimport\s*\(?\s*["']\.\/([^"']+)["']/g)) {
      const specifier = from ?? bare;
      if (specifier !== undefined) queue.push(specifier);
    }
  }
  return files;
}

/** A runtime serving HTTP on 127.0.0.1: its origin, and how to stop it. */
interface Serving {
  readonly origin: string;
  stop(): void;
}

/**
 * Starts a server process and waits for the port it listens on, which `port` reads from `channel`'s output; a
 * failure to start, an early exit or 30 s without a port rejects with the process's error output.
 */
function serve(
  command: string,
  args: readonly string[],
  options: { cwd: string; channel: 1 | 3; port: (line: string) => number | undefined },
): Promise<Serving> {
  const stdio: ("ignore" | "pipe")[] = options.channel === 3 ? ["ignore", "ignore", "pipe", "pipe"] : ["ignore", "pipe", "pipe"];
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, stdio });
  const stop = () => void child.kill("SIGKILL");
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise<Serving>((resolve, reject) => {
    const fail = (message: string) => {
      clearTimeout(timer);
      stop();
      reject(new Error(`${message}:\n${stderr.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`${command} did not listen within 30 s`), 30_000);
    let output = "";
    const channel = child.stdio[options.channel] as NodeJS.ReadableStream;
    channel.setEncoding("utf8");
    channel.on("data", (chunk: string) => {
      output += chunk;
      // Complete lines only: a chunk may end inside one.
      for (const line of output.split("\n").slice(0, -1)) {
        const port = line.trim().startsWith("{") ? options.port(line) : undefined;
        if (port !== undefined) {
          clearTimeout(timer);
          resolve({ origin: `http://127.0.0.1:${port}`, stop });
        }
      }
    });
    child.on("error", (error) => fail(`${command} could not start: ${error.message}`));
    child.on("exit", (code, signal) => fail(`${command} exited with ${code ?? signal}`));
  });
}

/** The port in a `{"port": N}` line, as hosts/serve.mjs prints it. */
const portLine = (line: string): number | undefined => {
  const message = JSON.parse(line) as { port?: unknown };
  return typeof message.port === "number" ? message.port : undefined;
};

/** workerd, serving one Worker that holds the built modules (see hosts/worker.mjs), started once for both tests. */
class Workerd {
  #started: Promise<Serving> | undefined;
  readonly #dir = mkdtempSync(join(tmpdir(), "turnout-workerd-"));

  origin(): Promise<string> {
    return (this.#started ??= this.#start()).then((serving) => serving.origin);
  }

  async close(): Promise<void> {
    (await this.#started?.catch(() => undefined))?.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #start(): Promise<Serving> {
    const workerd = binary("workerd");
    const dir = this.#dir;
    const modules = [...new Set([...reachable("index.js"), ...reachable("fetch.js")])].map((file) => {
      copyFileSync(join(DIST, file), join(dir, file));
      return `(name = "${file}", esModule = embed "${file}")`;
    });
    copyFileSync(join(HERE, "hosts", "worker.mjs"), join(dir, "worker.mjs"));
    copyFileSync(join(HERE, "acceptance.mjs"), join(dir, "acceptance.mjs"));
    copyFileSync(join(ROOT, "test", "cases", "bucketing.json"), join(dir, "bucketing.json"));
    writeFileSync(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "acceptance.mjs", esModule = embed "acceptance.mjs"),
    (name = "bucketing.json", json = embed "bucketing.json"),
    ${modules.join(",\n    ")},
  ],
  compatibilityDate = "2025-09-01",
);
`,
    );
    // workerd reports each socket's port on the control descriptor once it listens.
    return serve(workerd, ["serve", join(dir, "config.capnp"), "--control-fd=3"], {
      cwd: dir,
      channel: 3,
      port: (line) => {
        const message = JSON.parse(line) as { event?: string; socket?: string; port?: unknown };
        return message.event === "listen" && message.socket === "http" && typeof message.port === "number" ? message.port : undefined;
      },
    });
  }
}

/** Sends the HTTP scenario to a served app and answers what came back, with the faults its routers logged. */
async function overHttp(origin: string): Promise<string> {
  const log: unknown[] = [];
  for (const request of HTTP_SCENARIO) {
    const init: RequestInit = { method: request.method ?? "GET", headers: request.headers ?? {}, redirect: "manual" };
    if (request.body !== undefined) init.body = request.body;
    log.push(await recordResponse(request.label, await fetch(`${origin}${request.path}`, init)));
  }
  const faults = (await (await fetch(`${origin}/__faults`)).json()) as unknown;
  return JSON.stringify({ log, faults }, null, 1);
}

/** The same scenario through the same app in this Node process, without a server: the reference. */
async function inProcess(): Promise<string> {
  const core = (await import(pathToFileURL(join(DIST, "index.js")).href)) as Parameters<typeof servedApp>[0];
  const turnoutFetch = (await import(pathToFileURL(join(DIST, "fetch.js")).href)) as Parameters<typeof servedApp>[1];
  const app = servedApp(core, turnoutFetch);
  const log: unknown[] = [];
  for (const request of HTTP_SCENARIO) {
    const init: RequestInit = { method: request.method ?? "GET", headers: request.headers ?? {} };
    if (request.body !== undefined) init.body = request.body;
    log.push(await recordResponse(request.label, await app(new Request(`http://127.0.0.1${request.path}`, init))));
  }
  const faults = (await (await app(new Request("http://127.0.0.1/__faults"))).json()) as unknown;
  return JSON.stringify({ log, faults }, null, 1);
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".html": "text/html" };
/** What the page server hands out: the build, the acceptance script and its host, the golden cases. */
const SERVED = [
  `dist${sep}`,
  `test${sep}runtimes${sep}acceptance.mjs`,
  `test${sep}runtimes${sep}hosts${sep}browser.mjs`,
  `test${sep}cases${sep}bucketing.json`,
];

/** Serves the page and the files it loads on 127.0.0.1 (port 0); `/csp.html` forbids code generation from strings. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const page = '<!doctype html><meta charset="utf-8"><title>turnout</title><script type="module" src="/test/runtimes/hosts/browser.mjs"></script>';
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/page.html" || path === "/csp.html") {
      const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8" };
      if (path === "/csp.html") headers["content-security-policy"] = "default-src 'self'; script-src 'self'";
      response.writeHead(200, headers).end(page);
      return;
    }
    const file = normalize(decodeURIComponent(path).slice(1));
    if (!SERVED.some((prefix) => file === prefix || (prefix.endsWith(sep) && file.startsWith(prefix))) || !existsSync(join(ROOT, file))) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(join(ROOT, file)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A headless Chromium (Debian's, no browser download) with a fresh profile, started once for both pages. */
class Chromium {
  #started: Promise<{ context: BrowserContext; profile: string }> | undefined;

  /** Runs the acceptance script in a new page of the browser and answers the page's text. */
  async answer(url: string): Promise<string> {
    const { context } = await (this.#started ??= this.#start());
    const tab = await context.newPage();
    try {
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      tab.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      await tab.goto(url);
      await tab
        .waitForFunction(() => "turnoutResult" in globalThis, undefined, { timeout: 30_000 })
        .catch(() => {
          throw new Error(`the page never ran the acceptance script: ${errors.join("; ") || "no error reported"}`);
        });
      return await tab.evaluate(() => (globalThis as unknown as { turnoutResult: Promise<string> }).turnoutResult);
    } finally {
      await tab.close();
    }
  }

  async close(): Promise<void> {
    const started = await this.#started?.catch(() => undefined);
    if (started === undefined) return;
    await started.context.close();
    rmSync(started.profile, { recursive: true, force: true });
  }

  async #start(): Promise<{ context: BrowserContext; profile: string }> {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set TURNOUT_CHROMIUM`);
    const profile = mkdtempSync(join(tmpdir(), "turnout-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
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
    });
    return { context, profile };
  }
}

interface Exchange {
  readonly label: string;
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

const workerd = new Workerd();
afterAll(() => workerd.close());

describe("the acceptance script in every runtime", () => {
  let reference: Answer;
  let pages: { server: Server; origin: string };
  const browser = new Chromium();

  beforeAll(async () => {
    reference = parseAnswer(await run(process.execPath, ["hosts/cli.mjs"]), "node");
    pages = await pageServer();
  });
  afterAll(async () => {
    await browser.close();
    if (pages) await new Promise<void>((resolve) => pages.server.close(() => resolve()));
  });

  /** Checks that `answer` came from the runtime it names and matches Node's byte for byte. */
  function expectSameAsNode(answer: Answer, runtime: RegExp, codegen: boolean): void {
    expect(answer.environment.runtime).toMatch(runtime);
    expect(answer.environment.codegen).toBe(codegen);
    expect(firstDifference(answer.result, reference.result)).toBeUndefined();
    expect(answer.result === reference.result).toBe(true);
  }

  it("node (the reference) replays every golden case and the app's scenario as specified", () => {
    expect(reference.environment).toEqual({ runtime: `node ${process.versions.node}`, codegen: true, requestCookies: true });
    const result = JSON.parse(reference.result) as {
      golden: { cases: number; mismatches: string[] };
      app: Exchange[];
      generic: Exchange[];
      turnoutFetch: Exchange[];
      turnoutFetchOnly: Exchange[];
      faults: string[];
    };
    const golden = JSON.parse(readFileSync(join(ROOT, "test", "cases", "bucketing.json"), "utf8")) as { cases: unknown[] };
    expect(result.golden.cases).toBe(golden.cases.length);
    expect(result.golden.mismatches).toEqual([]);
    expect(result.faults).toEqual([]);
    // The generic decide (no code generation, as in workerd) gives the same answers as the generated one.
    expect(result.generic).toEqual(result.app);

    const byLabel = new Map(result.app.map((exchange) => [exchange.label, exchange]));
    const seen = (label: string) => {
      const exchange = byLabel.get(label);
      if (exchange === undefined) throw new Error(`no exchange "${label}"`);
      const decision = (JSON.parse(exchange.body) as { decision: { version: string; reason: string; pinIgnored?: string } }).decision;
      return { ...decision, header: (name: string) => exchange.headers.find(([n]) => n === name)?.[1] };
    };
    const sticky = result.app.filter((exchange) => exchange.label.startsWith("sticky "));
    for (const exchange of sticky) {
      const user = exchange.label.split(" ").at(-1) as string;
      expect(seen(exchange.label).version, user).toBe(seen(`sticky header ${user}`).version);
    }
    expect(new Set(sticky.map((exchange) => seen(exchange.label).version))).toEqual(new Set(["v1", "v2"]));
    expect(seen("no key: the stable")).toMatchObject({ version: "v1", reason: "fallback" });
    expect(seen("override")).toMatchObject({ version: "v2", reason: "header_match" });
    expect(seen("explicit path")).toMatchObject({ version: "v3", reason: "explicit_version" });
    expect(seen("explicit query")).toMatchObject({ version: "v2", reason: "explicit_version" });
    expect(seen("explicit unknown")).toMatchObject({ version: "v1", reason: "unknown_version", requested: "v9" });
    expect(seen("explicit path").header("sunset")).toBe("Sun, 30 Jun 2030 00:00:00 GMT");
    expect(seen("explicit path").header("deprecation")).toBe(`@${Date.parse("2026-03-01T12:00:00Z") / 1000}`);
    expect(seen("override").header("deprecation")).toBeUndefined();
    expect(seen("pin: first request")).toMatchObject({ version: "v2", reason: "weighted_routing" });
    expect(seen("pin: after the weight change, with the pin")).toMatchObject({ version: "v2", reason: "pinned" });
    expect(seen("pin: after the weight change, without the pin")).toMatchObject({ version: "v1", reason: "weighted_routing" });
    expect(seen("pin: garbled")).toMatchObject({ version: "v1", pinIgnored: "invalid" });

    // turnout/fetch routes the scenario as the core's decide does; a version that is not live is its 404.
    const routed = (log: Exchange[]) =>
      log.map((exchange) => {
        const body = JSON.parse(exchange.body) as { decision?: { version: string; reason: string; pin: string } };
        return [exchange.label, exchange.status, body.decision?.version, body.decision?.reason, body.decision?.pin];
      });
    const expected = routed(result.app).map((row) => (row[0] === "explicit unknown" ? [row[0], 404, undefined, undefined, undefined] : row));
    expect(routed(result.turnoutFetch)).toEqual(expected);
    const fetched = new Map(result.turnoutFetchOnly.map((exchange) => [exchange.label, exchange]));
    const answer = (label: string) => {
      const exchange = fetched.get(label);
      if (exchange === undefined) throw new Error(`no exchange "${label}"`);
      return { status: exchange.status, header: (name: string) => exchange.headers.find(([n]) => n === name)?.[1], body: exchange.body };
    };
    expect(answer("immutable headers").status).toBe(302);
    expect(answer("immutable headers").header("location")).toBe("https://v3.example.com/elsewhere");
    expect(answer("immutable headers").header("x-api-version")).toBe("v3");
    expect(answer("immutable headers").header("sunset")).toBe("Sun, 30 Jun 2030 00:00:00 GMT");
    expect(answer("valid body").status).toBe(200);
    expect(JSON.parse(answer("valid body").body)).toMatchObject({ served: "v2", body: '{"name":"Ada"}' });
    expect(answer("invalid body").status).toBe(400);
    expect(answer("body for a version without a validator").status).toBe(200);
    expect(answer("unknown version").status).toBe(404);
    expect(answer("after the sunset: gone").status).toBe(410);
    expect(answer("after the sunset: the others still served").status).toBe(200);
  });

  it("bun answers byte for byte what node answers", async () => {
    expectSameAsNode(parseAnswer(await run(binary("bun"), ["hosts/cli.mjs"]), "bun"), /^bun \d/, true);
  });

  it("deno answers byte for byte what node answers", async () => {
    const answer = parseAnswer(await run(binary("deno"), ["run", "--no-prompt", `--allow-read=${ROOT}`, "hosts/cli.mjs"]), "deno");
    expectSameAsNode(answer, /^deno \d/, true);
  });

  it("workerd refuses new Function, and the router's generic decide answers byte for byte what node answers", async () => {
    const response = await fetch(`${await workerd.origin()}/__acceptance`);
    const text = await response.text();
    expect(response.status, text.slice(0, 2000)).toBe(200);
    expectSameAsNode(parseAnswer(text, "workerd"), /^workerd$/, false);
  });

  it("a headless chromium page answers byte for byte what node answers", async () => {
    const answer = parseAnswer(await browser.answer(`${pages.origin}/page.html`), "chromium");
    expectSameAsNode(answer, /^chromium \d/, true);
    expect(answer.environment.cspViolations).toEqual([]);
  });

  it("a chromium page whose content security policy forbids eval answers byte for byte what node answers, after one refused attempt", async () => {
    const answer = parseAnswer(await browser.answer(`${pages.origin}/csp.html`), "chromium");
    expectSameAsNode(answer, /^chromium \d/, false);
    // Many routers were created, but the runtime's refusal is remembered: one violation report, not one per router.
    expect(answer.environment.cspViolations).toEqual(["script-src eval"]);
  });
});

describe("the turnout/fetch app served by each runtime's own HTTP server", () => {
  let reference: string;
  beforeAll(async () => {
    reference = await inProcess();
  });

  it("node, calling the app in process (the reference), answers the scenario as specified", () => {
    const { log, faults } = JSON.parse(reference) as { log: Exchange[]; faults: string[] };
    expect(faults).toEqual([]);
    const status = Object.fromEntries(log.map((exchange) => [exchange.label, exchange.status]));
    expect(status).toMatchObject({ "unknown version": 404, "immutable headers": 302, "valid body": 200, "invalid body": 400, pin: 200 });
    const served = (label: string) =>
      (JSON.parse(log.find((exchange) => exchange.label === label)?.body ?? "{}") as { decision?: { version: string; reason: string } }).decision;
    expect(served("sticky cookie")).toEqual(expect.objectContaining({ version: served("sticky user-37")?.version, reason: "weighted_routing" }));
    expect(served("override")).toMatchObject({ version: "v2", reason: "header_match" });
    expect(served("pin")).toMatchObject({ version: "v2", reason: "pinned" });
    expect(served("explicit query")).toMatchObject({ version: "v2", reason: "explicit_version" });
  });

  /** Starts `serving`, sends the scenario over HTTP and checks the answers against the reference, byte for byte. */
  async function expectServedAsNode(serving: Promise<Serving>): Promise<void> {
    const server = await serving;
    try {
      const answer = await overHttp(server.origin);
      expect(firstDifference(answer, reference)).toBeUndefined();
      expect(answer === reference).toBe(true);
    } finally {
      server.stop();
    }
  }

  it("Bun.serve serves it byte for byte as node runs it", async () => {
    await expectServedAsNode(serve(binary("bun"), ["hosts/serve.mjs"], { cwd: HERE, channel: 1, port: portLine }));
  });

  it("Deno.serve serves it byte for byte as node runs it", async () => {
    await expectServedAsNode(
      serve(binary("deno"), ["run", "--no-prompt", `--allow-read=${ROOT}`, "--allow-net=127.0.0.1", "hosts/serve.mjs"], {
        cwd: HERE,
        channel: 1,
        port: portLine,
      }),
    );
  });

  it("a workerd Worker serves it byte for byte as node runs it", async () => {
    const answer = await overHttp(await workerd.origin());
    expect(firstDifference(answer, reference)).toBeUndefined();
    expect(answer === reference).toBe(true);
  });
});

/** Upstream servers for the proxy, one per version, answering what reached them (the headers the scenario sets). */
async function upstreamServers(): Promise<{ upstreams: Record<string, string>; close(): Promise<void> }> {
  const servers = ["v1", "v2", "v3"].map((version) =>
    createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        const seen = Object.fromEntries(["x-user-id", "x-canary", "content-type", "x-turnout-pin"].map((name) => [name, request.headers[name] ?? null]));
        response
          .writeHead(200, { "content-type": "application/json", "x-upstream": version })
          .end(JSON.stringify({ upstream: version, method: request.method, url: request.url, body, seen }));
      });
    }),
  );
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
  const upstreams = Object.fromEntries(servers.map((server, i) => [`v${i + 1}`, `http://127.0.0.1:${(server.address() as AddressInfo).port}`]));
  return { upstreams, close: () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined) };
}

describe("createFetchProxy served by each runtime's own HTTP server", () => {
  let upstreams: Awaited<ReturnType<typeof upstreamServers>>;
  let reference: string;
  beforeAll(async () => {
    upstreams = await upstreamServers();
    const core = (await import(pathToFileURL(join(DIST, "index.js")).href)) as Parameters<typeof servedProxy>[0];
    const turnoutFetch = (await import(pathToFileURL(join(DIST, "fetch.js")).href)) as Parameters<typeof servedProxy>[1];
    const proxy = servedProxy(core, turnoutFetch, upstreams.upstreams);
    const log: unknown[] = [];
    for (const request of PROXY_SCENARIO) {
      const init: RequestInit = { method: request.method ?? "GET", headers: request.headers ?? {} };
      if (request.body !== undefined) init.body = request.body;
      log.push(await recordResponse(request.label, await proxy(new Request(`http://127.0.0.1${request.path}`, init))));
    }
    reference = JSON.stringify(log, null, 1);
  });
  afterAll(() => upstreams?.close());

  /** Sends the proxy scenario over HTTP and answers what came back. */
  async function throughProxy(origin: string): Promise<string> {
    const log: unknown[] = [];
    for (const request of PROXY_SCENARIO) {
      const init: RequestInit = { method: request.method ?? "GET", headers: request.headers ?? {}, redirect: "manual" };
      if (request.body !== undefined) init.body = request.body;
      log.push(await recordResponse(request.label, await fetch(`${origin}${request.path}`, init)));
    }
    return JSON.stringify(log, null, 1);
  }

  it("node, calling the proxy in process (the reference), reaches the decided upstreams", () => {
    const log = JSON.parse(reference) as Exchange[];
    const upstream = (label: string) =>
      (JSON.parse(log.find((exchange) => exchange.label === label)?.body ?? "{}") as { upstream?: string; body?: string }).upstream;
    expect(upstream("proxied override")).toBe("v2");
    expect(upstream("proxied explicit")).toBe("v3");
    expect(JSON.parse(log.find((exchange) => exchange.label === "proxied body")?.body ?? "{}")).toMatchObject({
      upstream: "v2",
      method: "POST",
      body: '{"name":"Ada"}',
    });
    expect(log.find((exchange) => exchange.label === "proxied unknown version")?.status).toBe(404);
  });

  for (const [name, command, args] of [
    ["Bun.serve", "bun", ["hosts/serve.mjs"]],
    ["Deno.serve", "deno", ["run", "--no-prompt", `--allow-read=${ROOT}`, "--allow-net=127.0.0.1", "hosts/serve.mjs"]],
  ] as const) {
    it(`${name} proxies byte for byte as node does`, async () => {
      const server = await serve(binary(command), [...args, JSON.stringify(upstreams.upstreams)], { cwd: HERE, channel: 1, port: portLine });
      try {
        const answer = await throughProxy(server.origin);
        expect(firstDifference(answer, reference)).toBeUndefined();
        expect(answer === reference).toBe(true);
      } finally {
        server.stop();
      }
    });
  }
});

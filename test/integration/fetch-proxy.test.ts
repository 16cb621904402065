/**
 * turnout/fetch's proxy, served for real by a Node server on 127.0.0.1 (@hono/node-server's Request/Response
 * bridge), in front of real node:http upstreams: routing, streaming both ways, hop-by-hop headers, X-Forwarded-*,
 * 502/504 (the node proxy's bodies), decoded bodies, shadow copies with waitUntil.
 */
import { gzipSync } from "node:zlib";
import { type IncomingMessage, type ServerResponse, createServer, request } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { createRouter } from "../../src/router/index.js";
import type { RouterConfig } from "../../src/types.js";
import { type FetchProxyOptions, type MirrorResult, createFetchProxy } from "../../src/integrations/fetch.js";
import { createProxy } from "../../src/integrations/node.js";
import { AFTER_SUNSET, retiringConfig } from "./fixtures.js";
import { type Running, listen, memoryLogger, observedStats, until } from "./helpers.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(name: string, status = 200): Promise<Running & { seen: Seen[] }> {
  const seen: Seen[] = [];
  const running = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    seen.push(record);
    res.writeHead(status, {
      "content-type": "application/json",
      "x-upstream": name,
      connection: "keep-alive, x-upstream-private",
      "x-upstream-private": "secret",
      "set-cookie": ["a=1", "b=2"],
    });
    res.end(JSON.stringify({ upstream: name, ...record }));
  });
  cleanups.push(() => running.close());
  return Object.assign(running, { seen });
}

async function customUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Running> {
  const running = await listen(createServer(handler));
  cleanups.push(() => running.close());
  return running;
}

const twoVersions = (overrides: Partial<RouterConfig> = {}): RouterConfig => ({
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 100 },
  stickiness: ["header:x-user-id"],
  overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
  ...overrides,
});

/** The client address as @hono/node-server hands it to the fetch handler. */
const nodeAddress = (_request: Request, env: unknown): string | undefined => (env as { incoming: IncomingMessage }).incoming.socket.remoteAddress;

async function startProxy(config: RouterConfig, options: FetchProxyOptions) {
  const router = createRouter(config);
  const proxy = createFetchProxy(router, { logger: memoryLogger(), address: nodeAddress, ...options });
  const running = await listen(getRequestListener(proxy));
  cleanups.push(() => running.close());
  return { router, proxy, url: running.url, port: running.port };
}

describe("createFetchProxy", () => {
  it("routes each request to its version's upstream (base path kept) and adds turnout's headers", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: `${v2.url}/base/` } });
    const one = await fetch(`${url}/users?page=2`);
    expect(await one.json()).toMatchObject({ upstream: "v1", url: "/users?page=2", method: "GET" });
    expect(one.headers.get("x-api-version")).toBe("v1");
    expect(one.headers.get("x-turnout-pin")).toMatch(/^v1~/);
    const two = await fetch(`${url}/users?page=2`, { method: "POST", headers: { "x-canary": "true" }, body: "hello" });
    expect(await two.json()).toMatchObject({ upstream: "v2", url: "/base/users?page=2", method: "POST", body: "hello" });
    expect(two.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("removes hop-by-hop headers both ways (also those named in Connection) and replaces the client's X-Forwarded-*", async () => {
    const v1 = await upstream("v1");
    const { url, port } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${url}/x`, {
        headers: {
          connection: "keep-alive, x-hop",
          "x-hop": "must not pass",
          "keep-alive": "timeout=10",
          "proxy-authorization": "Basic Zm9v",
          te: "trailers",
          "x-forwarded-for": "6.6.6.6",
          "x-forwarded-host": "forged.example",
          forwarded: "for=6.6.6.6;proto=https",
          "x-real-ip": "6.6.6.6",
          "x-end-to-end": "kept",
        },
      });
      req.on("response", resolve);
      req.on("error", reject);
      req.end();
    });
    response.resume();
    const forwarded = v1.seen[0]?.headers ?? {};
    for (const name of ["x-hop", "keep-alive", "proxy-authorization", "te", "forwarded", "x-real-ip"]) expect(forwarded[name]).toBeUndefined();
    expect(forwarded).toMatchObject({
      "x-end-to-end": "kept",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": `127.0.0.1:${port}`,
    });
    expect(forwarded.host).toBe(new URL(v1.url).host);
    expect(response.headers["x-upstream-private"]).toBeUndefined();
    expect(response.headers["x-upstream"]).toBe("v1");
  });

  it("extends X-Forwarded-For and Forwarded with trustProxy, and sends no address when the runtime gives none", async () => {
    const v1 = await upstream("v1");
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, trustProxy: true });
    await (await fetch(url, { headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", forwarded: "for=203.0.113.7;proto=https" } })).text();
    expect(v1.seen[0]?.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7, 127.0.0.1",
      "x-forwarded-proto": "https",
      forwarded: "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http",
    });
    const bare = createFetchProxy(createRouter(twoVersions()), { upstreams: { v1: v1.url, v2: v1.url } });
    await (await bare(new Request("https://api.example/y", { headers: { "x-forwarded-for": "6.6.6.6" } }))).text();
    expect(v1.seen[1]?.headers["x-forwarded-for"]).toBeUndefined();
    expect(v1.seen[1]?.headers).toMatchObject({ "x-forwarded-proto": "https", "x-forwarded-host": "api.example" });
  });

  it("streams the request and the response without buffering them", async () => {
    let gotFirstChunk!: () => void;
    const firstChunkArrived = new Promise<void>((resolve) => (gotFirstChunk = resolve));
    let clientGotHead!: () => void;
    const clientHasFirstPart = new Promise<void>((resolve) => (clientGotHead = resolve));
    const v1 = await customUpstream((req, res) => {
      req.once("data", () => gotFirstChunk());
      req.on("end", async () => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first part;");
        await clientHasFirstPart;
        res.end("second part");
      });
      req.resume();
    });
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(`${url}/upload`, { method: "POST", headers: { "transfer-encoding": "chunked" } });
      req.on("error", reject);
      req.on("response", (response) => {
        let seen = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          seen += chunk;
          if (seen.includes("first part;")) clientGotHead();
        });
        response.on("end", () => resolve(seen));
      });
      req.write("chunk one;");
      // The second chunk is only sent once the upstream has the first: a buffering proxy would deadlock here.
      void firstChunkArrived.then(() => req.end("chunk two"));
    });
    expect(text).toBe("first part;second part");
  });

  it("answers 502 and 504 with the node proxy's JSON bodies, recorded as failures", async () => {
    const gone = await listen(createServer());
    const dead = gone.url;
    await gone.close();
    const hanging = await customUpstream(() => undefined);
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: dead, v2: hanging.url }, stats, timeouts: { response: "150ms" } });
    const node = createProxy(createRouter(twoVersions()), {
      upstreams: { v1: dead, v2: hanging.url },
      timeouts: { response: "150ms" },
      logger: memoryLogger(),
    });
    const nodeServer = await listen(node);
    cleanups.push(
      () => node.close(),
      () => nodeServer.close(),
    );
    for (const headers of [{}, { "x-canary": "true" }] as Record<string, string>[]) {
      const [ours, theirs] = await Promise.all([fetch(url, { headers }), fetch(nodeServer.url, { headers })]);
      expect(ours.status).toBe(theirs.status);
      expect(await ours.json()).toEqual(await theirs.json());
      expect(ours.headers.get("x-api-version")).toBe(theirs.headers.get("x-api-version"));
    }
    expect(stats.outcomes.map((o) => [o.version, o.outcome.status, o.outcome.error !== undefined])).toEqual([
      ["v1", 502, true],
      ["v2", 504, true],
    ]);
    expect(proxy.counters.upstreamErrors).toBe(2);
  });

  it("cuts the response when the upstream resets mid-body or stalls past the idle limit, and records a failure", async () => {
    const v1 = await customUpstream((req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      if (req.url === "/reset") setTimeout(() => res.socket?.destroy(), 20);
    });
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, stats, timeouts: { idle: "200ms" } });
    for (const path of ["/reset", "/stall"]) {
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    }
    await until(() => stats.outcomes.length === 2);
    expect(stats.outcomes.map((o) => o.outcome.status).sort()).toEqual([502, 504]);
    expect(proxy.counters.upstreamErrors).toBe(2);
  });

  it("sends a compressed body the client can read: fetch has decoded it, so Content-Encoding goes", async () => {
    const v1 = await customUpstream((_req, res) => {
      const body = gzipSync(JSON.stringify({ hello: "world" }));
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(body.length) });
      res.end(body);
    });
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const response = await fetch(url, { headers: { "accept-encoding": "gzip" } });
    expect(await response.json()).toEqual({ hello: "world" });
  });

  it("answers 410 after a version's sunset and 404 for an unknown version without calling an upstream", async () => {
    const v2 = await upstream("v2");
    const { url } = await startProxy(retiringConfig(), { upstreams: { v1: v2.url, v2: v2.url }, clock: () => AFTER_SUNSET });
    expect((await fetch(`${url}/api/v1/users`)).status).toBe(410);
    expect((await fetch(`${url}/api/v9/users`)).status).toBe(404);
    expect(v2.seen).toHaveLength(0);
  });

  it("uses the injected fetch, passes redirects through, and rewrites paths", async () => {
    const calls: string[] = [];
    const proxy = createFetchProxy(createRouter(twoVersions()), {
      upstreams: { v1: "http://v1.internal", v2: "http://v2.internal" },
      rewritePath: (path) => path.replace(/^\/api/, ""),
      fetch: async (input, init) => {
        calls.push(`${init.method} ${input} ${init.redirect}`);
        return new Response(null, { status: 302, headers: { location: "/elsewhere" } });
      },
    });
    const response = await proxy(new Request("http://a.example/api/users?x=1"));
    expect([response.status, response.headers.get("location"), response.headers.get("x-api-version")]).toEqual([302, "/elsewhere", "v1"]);
    expect(calls).toEqual(["GET http://v1.internal/users?x=1 manual"]);
  });

  it("rejects bad options with one TurnoutConfigError listing every problem", () => {
    const router = createRouter(twoVersions());
    let caught: unknown;
    try {
      createFetchProxy(router, { upstreams: { v1: "ftp://x" }, timeouts: { connect: "1s" }, fetch: 1, agent: {}, mirror: { maxInFlight: -1 } } as never);
    } catch (error) {
      caught = error;
    }
    expect(isTurnoutConfigError(caught)).toBe(true);
    if (!isTurnoutConfigError(caught)) return;
    expect(caught.problems.map((p) => p.path).sort()).toEqual(["agent", "fetch", "mirror.maxInFlight", "timeouts.connect", "upstreams.v1", "upstreams.v2"]);
  });
});

describe("createFetchProxy shadow traffic", () => {
  const mirrorAll = twoVersions({ mirror: { version: "v2", percent: 100 } });

  it("sends a copy (same method, path, body, plus x-turnout-shadow), compares statuses and hands the copy to waitUntil", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2", 500)];
    const results: MirrorResult[] = [];
    const kept: Promise<unknown>[] = [];
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: v2.url },
      mirror: { compare: true, onResult: (result) => results.push(result) },
      waitUntil: (promise) => void kept.push(promise),
    });
    const response = await fetch(`${url}/orders?id=7`, { method: "PUT", body: "payload" });
    expect(await response.json()).toMatchObject({ upstream: "v1", body: "payload" });
    expect(kept).toHaveLength(1);
    await kept[0];
    expect(v2.seen[0]).toMatchObject({ method: "PUT", url: "/orders?id=7", body: "payload" });
    expect(v2.seen[0]?.headers["x-turnout-shadow"]).toBe("1");
    expect(v1.seen[0]?.headers["x-turnout-shadow"]).toBeUndefined();
    expect(results[0]).toMatchObject({ version: "v2", primaryVersion: "v1", status: 500, primaryStatus: 200, match: false });
    expect(proxy.counters).toMatchObject({ mirrored: 1, compared: 1, mismatches: 1, mirrorErrors: 0, mirrorDropped: 0, mirrorInFlight: 0 });
  });

  it("prefers the context's waitUntil (a Workers ExecutionContext) and never lets a hanging mirror delay the client", async () => {
    const v1 = await upstream("v1");
    const hanging = await customUpstream(() => undefined);
    const proxy = createFetchProxy(createRouter(mirrorAll), {
      upstreams: { v1: v1.url, v2: hanging.url },
      mirror: { timeout: "300ms" },
      logger: memoryLogger(),
    });
    const kept: Promise<unknown>[] = [];
    const response = await proxy(new Request("http://a.example/x"), { waitUntil: (promise: Promise<unknown>) => void kept.push(promise) });
    expect(await response.json()).toMatchObject({ upstream: "v1" });
    expect(proxy.counters.mirrorInFlight).toBe(1);
    await kept[0];
    expect(proxy.counters).toMatchObject({ mirrorInFlight: 0, mirrorErrors: 1 });
  });

  it("drops copies whose body is larger than maxBodyBytes (the primary still gets all of it) and copies beyond maxInFlight", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: v2.url }, mirror: { maxBodyBytes: 1024 } });
    const big = "x".repeat(64 * 1024);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 1024, (i + 1) * 1024)));
        controller.close();
      },
    });
    const response = await fetch(`${url}/upload`, { method: "POST", body: chunked, duplex: "half" } as RequestInit);
    expect(((await response.json()) as Seen).body).toHaveLength(big.length);
    await until(() => proxy.counters.mirrorDropped === 1);
    const declared = await fetch(`${url}/upload`, { method: "POST", body: big });
    expect(((await declared.json()) as Seen).body).toHaveLength(big.length);
    expect(proxy.counters).toMatchObject({ mirrored: 1, mirrorDropped: 2, mirrorInFlight: 0 });
    expect(v2.seen).toHaveLength(0);
  });
});

/**
 * turnout/node's reverse proxy against real node:http upstreams on 127.0.0.1: routing, streaming, hop-by-hop
 * headers, X-Forwarded-*, 502/504, keep-alive, and shadow traffic that never touches the client's response. Every
 * case runs over both upstream clients (Node's `http.request` and undici): their semantics are the same.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { type AddressInfo, type Socket, createServer as createNetServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isTurnoutConfigError } from "../../src/errors.js";
import { createRouter } from "../../src/router/index.js";
import type { RouterConfig } from "../../src/types.js";
import { type MirrorResult, type ProxyOptions, type TurnoutProxy, type UpstreamClient, createProxy } from "../../src/integrations/node.js";
import { AFTER_SUNSET, retiringConfig } from "./fixtures.js";
import { type Running, listen, memoryLogger, observedStats, until } from "./helpers.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** An upstream that answers with what it received, as JSON, and remembers it. */
async function echoUpstream(name: string, status = 200): Promise<Running & { seen: Seen[]; connections: number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    seen.push(record);
    res.writeHead(status, {
      "content-type": "application/json",
      "x-upstream": name,
      connection: "keep-alive, x-upstream-private",
      "x-upstream-private": "secret",
      "keep-alive": "timeout=5",
      "set-cookie": ["a=1", "b=2"],
    });
    res.end(JSON.stringify({ upstream: name, ...record }));
  });
  server.on("connection", () => connections++);
  const running = await listen(server);
  return Object.defineProperties(Object.assign(running, { seen }), {
    connections: { get: () => connections },
  }) as Running & { seen: Seen[]; connections: number };
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

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CLIENTS = ["node", "undici"] as const satisfies readonly UpstreamClient[];

/** Starts a proxy whose primary exchanges go over `upstreamClient`. */
const proxyOver =
  (upstreamClient: UpstreamClient) => async (config: RouterConfig, options: Omit<ProxyOptions, "logger"> & { logger?: ProxyOptions["logger"] }) => {
    const router = createRouter(config);
    const proxy = createProxy(router, { logger: memoryLogger(), upstreamClient, ...options });
    const running = await listen(proxy);
    cleanups.push(
      () => proxy.close(),
      () => running.close(),
    );
    return { router, proxy, url: running.url, port: running.port };
  };

async function upstream(name: string, status?: number) {
  const u = await echoUpstream(name, status);
  cleanups.push(() => u.close());
  return u;
}

/** An upstream with a custom handler. */
async function customUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const u = await listen(createServer(handler));
  cleanups.push(() => u.close());
  return u;
}

/** Both versions at an https address whose server takes the TCP connection and never speaks TLS. */
async function silentTlsUpstreams(): Promise<{ v1: string; v2: string }> {
  const sockets: Socket[] = [];
  const silent = createNetServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => (sockets.forEach((socket) => socket.destroy()), silent.close(() => resolve()))));
  const { port } = silent.address() as AddressInfo;
  return { v1: `https://127.0.0.1:${port}`, v2: `https://127.0.0.1:${port}` };
}

describe.each(CLIENTS)("createProxy over %s", (client) => {
  const startProxy = proxyOver(client);

  it("routes each request to its version's upstream and adds turnout's headers", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: `${v2.url}/base/` } });
    const one = await fetch(`${url}/users?page=2`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ upstream: "v1", url: "/users?page=2", method: "GET" });
    expect(one.headers.get("x-api-version")).toBe("v1");
    expect(one.headers.get("x-turnout-pin")).toMatch(/^v1~/);
    const two = await fetch(`${url}/users?page=2`, { method: "POST", headers: { "x-canary": "true" }, body: "hello" });
    expect(await two.json()).toMatchObject({ upstream: "v2", url: "/base/users?page=2", method: "POST", body: "hello" });
    expect(two.headers.get("x-api-version")).toBe("v2");
    expect(two.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("removes hop-by-hop headers both ways (also those named in Connection) and sets X-Forwarded-*", async () => {
    const v1 = await upstream("v1");
    const { url, port } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const body = await new Promise<{ headers: Record<string, string>; response: IncomingMessage }>((resolve, reject) => {
      const req = request(`${url}/x`, {
        headers: {
          connection: "keep-alive, Upgrade, x-hop",
          "x-hop": "must not pass",
          "keep-alive": "timeout=10",
          "proxy-authorization": "Basic Zm9v",
          te: "trailers",
          upgrade: "websocket",
          "x-forwarded-for": "6.6.6.6",
          "x-forwarded-host": "forged.example",
          forwarded: "for=6.6.6.6;proto=https",
          "x-real-ip": "6.6.6.6",
          "x-forwarded-port": "443",
          "x-forwarded-prefix": "/admin",
          "x-end-to-end": "kept",
        },
      });
      req.on("response", async (response) => {
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        resolve({ headers: (JSON.parse(Buffer.concat(chunks).toString()) as Seen).headers as Record<string, string>, response });
      });
      req.on("error", reject);
      req.end();
    });
    const forwarded = body.headers;
    for (const name of ["x-hop", "keep-alive", "proxy-authorization", "te", "upgrade"]) expect(forwarded[name]).toBeUndefined();
    expect(forwarded["x-end-to-end"]).toBe("kept");
    expect(forwarded["x-forwarded-for"]).toBe("127.0.0.1");
    // A client must not be able to claim another address, port or prefix to an upstream that trusts these headers.
    for (const name of ["forwarded", "x-real-ip", "x-forwarded-port", "x-forwarded-prefix"]) expect(forwarded[name]).toBeUndefined();
    expect(forwarded["x-forwarded-proto"]).toBe("http");
    expect(forwarded["x-forwarded-host"]).toBe(`127.0.0.1:${port}`);
    expect(forwarded.host).toBe(new URL(v1.url).host);
    expect(body.response.headers["x-upstream-private"]).toBeUndefined();
    expect(body.response.headers["x-upstream"]).toBe("v1");
  });

  it("extends X-Forwarded-For with trustProxy", async () => {
    const v1 = await upstream("v1");
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, trustProxy: true });
    await fetch(url, {
      headers: {
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "api.example.com",
        forwarded: "for=203.0.113.7;proto=https",
        "x-real-ip": "203.0.113.7",
      },
    });
    expect(v1.seen[0]?.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7, 127.0.0.1",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "api.example.com",
      forwarded: "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http",
      "x-real-ip": "203.0.113.7",
    });
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
        await clientHasFirstPart; // the upstream only finishes once the client has seen the first part
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

  it("answers with the final response when the upstream sends 103 Early Hints first", async () => {
    const v1 = await customUpstream((_req, res) => {
      res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("final"), 20);
    });
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("final");
    expect(proxy.counters.upstreamErrors).toBe(0);
  });

  it("reuses upstream connections (keep-alive)", async () => {
    const v1 = await upstream("v1");
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    for (let i = 0; i < 10; i++) await (await fetch(`${url}/${i}`)).text();
    expect(v1.seen).toHaveLength(10);
    expect(v1.connections).toBe(1);
  });

  it("retries once a bodyless GET whose reused keep-alive connection the upstream closed; never a POST", async () => {
    // The upstream closes a connection when a second request arrives on it, as a server whose keep-alive timeout
    // fires just as the proxy reuses the socket.
    const perSocket = new WeakMap<object, number>();
    let answered = 0;
    let received = 0;
    const resetPaths: string[] = [];
    const v1 = await customUpstream((req, res) => {
      received++;
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n > 1) {
        resetPaths.push(req.url ?? "");
        return void req.socket.destroy();
      }
      req.resume();
      req.on("end", () => {
        answered++;
        res.end("fresh socket");
      });
    });
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    expect(await (await fetch(`${url}/a`)).text()).toBe("fresh socket");
    expect(await (await fetch(`${url}/b`)).text()).toBe("fresh socket"); // reused socket reset, retried on a new one
    expect(answered).toBe(2);
    expect(received).toBe(3); // /b reached the upstream twice: on the reused socket, then on a new one
    expect(proxy.counters.upstreamErrors).toBe(0);
    // A pool may send the next request over a fresh connection (undici's does): POST until one goes over a reused one.
    const statuses: number[] = [];
    for (let i = 0; i < 4 && !resetPaths.includes(`/c${i - 1}`); i++)
      statuses.push((await fetch(`${url}/c${i}`, { method: "POST", body: "once only" })).status);
    const reset = resetPaths.at(-1) ?? "";
    expect(reset).toMatch(/^\/c\d$/);
    expect(statuses.at(-1)).toBe(502); // not idempotent: never sent twice
    expect(resetPaths.filter((path) => path === reset)).toHaveLength(1);
    expect(received).toBe(3 + statuses.length);
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("answers 502 with a JSON body when the upstream is down, and records a failure", async () => {
    const gone = await listen(createServer());
    const deadUrl = gone.url;
    await gone.close();
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: deadUrl, v2: deadUrl }, stats });
    const response = await fetch(url);
    expect(response.status).toBe(502);
    expect(response.headers.get("x-api-version")).toBe("v1");
    expect(await response.json()).toEqual({ error: "UPSTREAM_UNAVAILABLE", message: "The v1 upstream could not be reached.", version: "v1" });
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]).toMatchObject({ version: "v1", outcome: { status: 502 } });
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 1 });
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("answers 504 when the upstream does not answer within the response timeout", async () => {
    const hanging = await customUpstream(() => undefined);
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: hanging.url, v2: hanging.url }, stats, timeouts: { response: "150ms" } });
    const response = await fetch(url);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "UPSTREAM_TIMEOUT", version: "v1" });
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]?.outcome.status).toBe(504);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 1 });
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("answers 504 when an https upstream accepts the connection but never completes the TLS handshake (connect timeout)", async () => {
    const upstreams = await silentTlsUpstreams();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams, timeouts: { connect: "150ms", response: "60s" } });
    const response = await fetch(url);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "UPSTREAM_TIMEOUT", version: "v1" });
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("a client that goes away while its request waits for a connection: the request is never sent, recorded as 499", async () => {
    const arrived: string[] = [];
    const v1 = await customUpstream((req, res) => {
      arrived.push(req.url ?? "");
      if (req.url === "/slow") setTimeout(() => res.end("slow"), 600);
      else res.end("ok");
    });
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), {
      upstreams: { v1: v1.url, v2: v1.url },
      agent: { maxSockets: 1 },
      timeouts: { response: "1s" },
      stats,
    });
    const slow = fetch(`${url}/slow`); // holds the only connection for 600 ms
    await until(() => arrived.length === 1);
    const controller = new AbortController();
    const waiting = fetch(`${url}/gave-up`, { signal: controller.signal }).catch(() => "aborted");
    setTimeout(() => controller.abort(), 100); // the client leaves while its request waits for the connection
    expect(await waiting).toBe("aborted");
    expect(await (await slow).text()).toBe("slow");
    expect(await (await fetch(`${url}/after`)).text()).toBe("ok");
    expect(arrived).toEqual(["/slow", "/after"]); // the abandoned request was never sent
    await until(() => stats.outcomes.length === 3);
    expect(stats.outcomes.map((o) => o.outcome.status).sort()).toEqual([200, 200, 499]);
    expect(proxy.counters.upstreamErrors).toBe(0);
  });

  it("answers 504 when the response timeout comes while the connection is still being established", async () => {
    const upstreams = await silentTlsUpstreams();
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams, stats, timeouts: { connect: "30s", response: "150ms" } });
    const response = await fetch(url); // long before the connect timeout: the test would time out first
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "UPSTREAM_TIMEOUT", version: "v1" });
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]?.outcome.status).toBe(504);
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("cuts the response when the upstream resets mid-body, and records a failure", async () => {
    const v1 = await customUpstream((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, stats });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]?.outcome).toMatchObject({ status: 502, error: expect.anything() });
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 1 });
    expect(proxy.counters.upstreamErrors).toBe(1);
  });

  it("aborts the upstream request when the client goes away", async () => {
    let upstreamClosed = false;
    const v1 = await customUpstream((req) => req.socket.on("close", () => (upstreamClosed = true)));
    const stats = observedStats();
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, stats });
    const controller = new AbortController();
    const pending = fetch(url, { signal: controller.signal }).catch(() => undefined);
    setTimeout(() => controller.abort(), 50);
    await pending;
    await until(() => upstreamClosed, 5000, "the upstream connection to close");
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]?.outcome.status).toBe(499);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 0 });
  });

  it("a client that goes away mid-upload aborts the upstream request and the copy, and is recorded as 499", async () => {
    let gotData!: () => void;
    const upstreamHasData = new Promise<void>((resolve) => (gotData = resolve));
    let upstreamCut = false;
    const v1 = await customUpstream((req) => {
      req.once("data", () => gotData());
      req.on("close", () => (upstreamCut = !req.complete));
      req.resume();
    });
    let copyCut = false;
    const v2 = await customUpstream((req) => {
      req.on("close", () => (copyCut = !req.complete));
      req.resume();
    });
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions({ mirror: { version: "v2", percent: 100 } }), {
      upstreams: { v1: v1.url, v2: v2.url },
      stats,
    });
    const req = request(url, { method: "POST", headers: { "content-length": "1000000" } });
    req.on("error", () => undefined);
    req.write("x".repeat(1000));
    await upstreamHasData;
    req.destroy();
    await until(() => upstreamCut && copyCut, 5000, "the upstream and the copy to be cut");
    await until(() => stats.outcomes.length === 1 && proxy.counters.mirrorInFlight === 0);
    expect(stats.outcomes[0]?.outcome.status).toBe(499);
    expect(stats.stats.lifetime().versions.v1).toMatchObject({ requests: 1, errors: 0 });
    expect(proxy.counters).toMatchObject({ upstreamErrors: 0, mirrored: 1, mirrorDropped: 1, mirrorErrors: 0 });
  });

  it("a client that goes away mid-response closes the upstream response, and is recorded as 499", async () => {
    let upstreamClosed = false;
    const v1 = await customUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("tick\n"), 5);
      res.on("close", () => {
        clearInterval(timer);
        upstreamClosed = true;
      });
    });
    const stats = observedStats();
    const { url, proxy } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url }, stats });
    await new Promise<void>((resolve, reject) => {
      const req = request(url, (response) => response.once("data", () => (response.destroy(), resolve())));
      req.on("error", reject);
      req.end();
    });
    await until(() => upstreamClosed, 5000, "the upstream response to close");
    await until(() => stats.outcomes.length === 1);
    expect(stats.outcomes[0]?.outcome.status).toBe(499);
    expect(proxy.counters.upstreamErrors).toBe(0);
  });

  it("a slow client holds the upstream back instead of making the proxy buffer the response (backpressure)", async () => {
    const total = 96 * 1024 * 1024;
    let produced = 0;
    const v1 = await customUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (produced < total) {
          produced += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const { url } = await startProxy(twoVersions(), { upstreams: { v1: v1.url, v2: v1.url } });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, resolve);
      req.on("error", reject);
      req.end();
    });
    response.pause(); // a client that reads nothing for now
    // Wait until the upstream stops producing (its writes wait for the proxy), or has produced everything.
    let last = -1;
    while (produced !== last && produced < total) {
      last = produced;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(produced).toBeLessThan(32 * 1024 * 1024); // socket buffers, not the whole 96 MiB
    let received = 0;
    response.on("data", (chunk: Buffer) => (received += chunk.length));
    response.resume();
    await new Promise((resolve) => response.on("end", resolve));
    expect(received).toBe(total);
  });

  it("answers 410 after a version's sunset and 404 for an unknown version without calling an upstream", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url } = await startProxy(retiringConfig(), { upstreams: { v1: v1.url, v2: v2.url }, clock: () => AFTER_SUNSET });
    const gone = await fetch(`${url}/api/v1/users`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({ error: "API_VERSION_SUNSET", version: "v1" });
    expect(gone.headers.get("sunset")).toBe("Sun, 01 Jun 2025 00:00:00 GMT");
    expect((await fetch(`${url}/api/v7/users`)).status).toBe(404);
    expect(v1.seen).toHaveLength(0);
    expect(v2.seen).toHaveLength(0);
    expect(await (await fetch(`${url}/api/v2/users`)).json()).toMatchObject({ upstream: "v2" });
  });

  it("rewrites paths with rewritePath", async () => {
    const v2 = await upstream("v2");
    const { url } = await startProxy(retiringConfig(), {
      upstreams: { v1: v2.url, v2: v2.url },
      rewritePath: (path) => path.replace(/^\/api\/v\d+/, ""),
    });
    await fetch(`${url}/api/v2/users?x=1`);
    expect(v2.seen[0]?.url).toBe("/users?x=1");
  });

  it("answers 502 when a rewritten path cannot be sent, for the primary and the mirror, and keeps serving", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(twoVersions({ mirror: { version: "v2", percent: 100 } }), {
      upstreams: { v1: v1.url, v2: v2.url },
      rewritePath: (path) => (path === "/bad" ? "/a path with spaces" : path),
    });
    const bad = await fetch(`${url}/bad`);
    expect(bad.status).toBe(502);
    expect(await bad.json()).toMatchObject({ error: "UPSTREAM_UNAVAILABLE" });
    expect(proxy.counters).toMatchObject({ upstreamErrors: 1, mirrorErrors: 1, mirrorInFlight: 0 });
    expect((await fetch(`${url}/good`)).status).toBe(200);
  });

  it("rejects bad options with one TurnoutConfigError listing every problem", () => {
    const router = createRouter(twoVersions());
    try {
      createProxy(router, {
        upstreams: { v1: "ftp://example.com", v3: "not a url" },
        timeouts: { response: "soon" },
        mirror: { maxInFlight: -1, methods: ["GET", 7], colour: "red" },
        agent: { maxSockets: 0 },
        pin: { header: false },
        upstreamClient: "curl",
      } as never);
      expect.unreachable();
    } catch (error) {
      expect(isTurnoutConfigError(error)).toBe(true);
      expect((error as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
        "invalid_duration timeouts.response",
        "invalid_url upstreams.v1",
        "invalid_url upstreams.v3",
        "invalid_value upstreamClient",
        "out_of_range agent.maxSockets",
        "out_of_range mirror.maxInFlight",
        "required upstreams.v2",
        "type mirror.methods",
        "unknown_field mirror.colour",
      ]);
    }
  });
});

describe("createProxy's upstreamClient", () => {
  it('"undici" without the undici package installed: one TurnoutConfigError with missing_package, never a later crash', async () => {
    // turnout's sources alone in a folder with no node_modules above it: undici cannot be found from there.
    const alone = mkdtempSync(join(tmpdir(), "turnout-no-undici-"));
    cleanups.push(() => rmSync(alone, { recursive: true, force: true }));
    cpSync(fileURLToPath(new URL("../../src", import.meta.url)), join(alone, "src"), { recursive: true });
    writeFileSync(
      join(alone, "check.ts"),
      `import { createRouter } from "./src/index.js";
import { createProxy } from "./src/integrations/node.js";
const router = createRouter({ versions: ["v1"], stable: "v1" });
try {
  createProxy(router, { upstreams: { v1: "http://127.0.0.1:1" }, upstreamClient: "undici" });
  console.log("created");
} catch (error) {
  console.log(JSON.stringify((error as { problems: unknown }).problems));
}
createProxy(router, { upstreams: { v1: "http://127.0.0.1:1" } }).close();
console.log("node client ok");
`,
    );
    const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [tsx, join(alone, "check.ts")], { cwd: alone }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout),
      );
    });
    const [problems, nodeClient] = output.trim().split("\n");
    expect(JSON.parse(problems ?? "null")).toEqual([expect.objectContaining({ code: "missing_package", path: "upstreamClient" })]);
    expect(JSON.parse(problems ?? "null")[0].message).toMatch(/npm install undici/);
    expect(nodeClient).toBe("node client ok");
  });
});

describe.each(CLIENTS)("createProxy over %s with https upstreams", (client) => {
  const startProxy = proxyOver(client);
  // A private CA and a server certificate for 127.0.0.1 it signed (valid until 2126), made with openssl; the CA's key
  // was thrown away. The server certificate has no extended key usage, so it also serves as a client certificate.
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/tls/${name}`, import.meta.url), "utf8");
  const ca = fixture("ca.crt");
  const cert = fixture("server.crt");
  const key = fixture("server.key");

  /** An https upstream with the CA-signed certificate; with `clientCa`, it demands a client certificate signed by it. */
  async function httpsUpstream(clientCa?: string) {
    const server = createHttpsServer(
      { cert, key, ...(clientCa === undefined ? {} : { ca: clientCa, requestCert: true, rejectUnauthorized: true }) },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ path: req.url, client: peer?.subject?.CN ?? null }));
      },
    );
    const running = await listen(server as unknown as Server);
    cleanups.push(() => running.close());
    return `https://127.0.0.1:${running.port}`;
  }

  it("refuses an upstream certificate from an unknown CA (502), and trusts it with tls.ca", async () => {
    const target = await httpsUpstream();
    const plain = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target } });
    const refused = await fetch(`${plain.url}/users`);
    expect(refused.status).toBe(502);
    expect(plain.proxy.counters.upstreamErrors).toBe(1);

    const trusting = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target }, tls: { ca } });
    const answer = await fetch(`${trusting.url}/users`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ path: "/users", client: null });
  });

  it("presents a client certificate for mutual TLS (and without one the upstream refuses the connection)", async () => {
    const target = await httpsUpstream(ca);
    const anonymous = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target }, tls: { ca } });
    expect((await fetch(`${anonymous.url}/pay`)).status).toBe(502);

    const mutual = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target }, tls: { ca: [ca], cert, key: Buffer.from(key) } });
    const answer = await fetch(`${mutual.url}/pay`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ path: "/pay", client: "localhost" });
  });

  it("verifies the certificate against tls.servername when the URL's host differs", async () => {
    const target = await httpsUpstream();
    const wrongName = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target }, tls: { ca, servername: "api.example.com" } });
    expect((await fetch(wrongName.url)).status).toBe(502);
    const rightName = await startProxy(twoVersions(), { upstreams: { v1: target, v2: target }, tls: { ca, servername: "localhost" } });
    expect((await fetch(rightName.url)).status).toBe(200);
  });

  it("lists every problem in tls", () => {
    const router = createRouter(twoVersions());
    try {
      createProxy(router, {
        upstreams: { v1: "https://127.0.0.1:1", v2: "https://127.0.0.1:1" },
        tls: { ca: 5, cert: [], key: ["ok", 7], servername: "", rejectUnauthorized: "no", colour: "red" },
      } as never);
      expect.unreachable();
    } catch (error) {
      expect(isTurnoutConfigError(error)).toBe(true);
      expect((error as { problems: { code: string; path: string }[] }).problems.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
        "type tls.ca",
        "type tls.cert",
        "type tls.key",
        "type tls.rejectUnauthorized",
        "type tls.servername",
        "unknown_field tls.colour",
      ]);
    }
    expect(() => createProxy(router, { upstreams: { v1: "http://127.0.0.1:1", v2: "http://127.0.0.1:1" }, tls: "yes" } as never)).toThrow(/tls/);
  });
});

describe.each(CLIENTS)("createProxy over %s: shadow traffic", (client) => {
  const startProxy = proxyOver(client);
  const mirrorAll = twoVersions({ mirror: { version: "v2", percent: 100 } });

  it("sends a copy (same method, path, body, plus x-turnout-shadow) and discards its response", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2", 500)];
    const results: MirrorResult[] = [];
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: v2.url },
      mirror: { compare: true, onResult: (result) => results.push(result) },
    });
    const response = await fetch(`${url}/orders?id=7`, { method: "PUT", body: "payload" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ upstream: "v1", body: "payload" });
    await until(() => results.length === 1, 5000, "the mirror result");
    expect(v2.seen[0]).toMatchObject({ method: "PUT", url: "/orders?id=7", body: "payload" });
    expect(v2.seen[0]?.headers["x-turnout-shadow"]).toBe("1");
    expect(v1.seen[0]?.headers["x-turnout-shadow"]).toBeUndefined();
    expect(results[0]).toMatchObject({ version: "v2", primaryVersion: "v1", status: 500, primaryStatus: 200, match: false });
    expect(proxy.counters).toMatchObject({ mirrored: 1, compared: 1, mismatches: 1, mirrorErrors: 0, mirrorDropped: 0, mirrorInFlight: 0 });
  });

  it("a hanging mirror never delays the client: responses arrive while every copy is still in flight", async () => {
    const v1 = await upstream("v1");
    const held: IncomingMessage[] = [];
    const hanging = await customUpstream((req) => void held.push(req)); // never reads the body, never answers
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: hanging.url },
      mirror: { maxInFlight: 3, timeout: "30s" },
    });
    const big = "x".repeat(512 * 1024); // more than the socket buffers: the copy must not push back on the primary
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${url}/r${i}`, { method: "POST", body: big });
      expect(response.status).toBe(200);
      expect(((await response.json()) as Seen).body.length).toBe(big.length);
    }
    expect(proxy.counters.mirrorInFlight).toBe(3); // still hanging while the client had every answer
    expect(proxy.counters.mirrored).toBe(3);
    expect(proxy.counters.mirrorDropped).toBe(3); // beyond maxInFlight
    expect(v1.seen).toHaveLength(6);
  });

  it("a hanging mirror that never reads does not stall a request body larger than the socket buffers", async () => {
    // A copy that pushed back on the request body (a plain `req.pipe(copy)`) would stop the client's upload once the
    // kernel's buffers toward the mirror are full (a few MiB on loopback): the client would never get its answer.
    // The 512 KiB bodies of the test above fit in those buffers, so they cannot tell.
    const v1 = await customUpstream((req, res) => {
      let received = 0;
      req.on("data", (chunk: Buffer) => (received += chunk.length));
      req.on("end", () => res.end(String(received)));
    });
    const held: IncomingMessage[] = [];
    const hanging = await customUpstream((req) => void held.push(req)); // never reads the body, never answers
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: hanging.url },
      mirror: { maxBodyBytes: 64 * 1024 * 1024, timeout: "60s" },
    });
    const body = Buffer.alloc(24 * 1024 * 1024, 120);
    const response = await fetch(url, { method: "POST", body });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(String(body.length));
    expect(proxy.counters).toMatchObject({ mirrored: 1, mirrorInFlight: 1, mirrorDropped: 0 }); // the copy is still held
    expect(held).toHaveLength(1);
  });

  it("a mirror that times out is counted as an error and frees its slot", async () => {
    const v1 = await upstream("v1");
    const hanging = await customUpstream(() => undefined);
    const stats = observedStats();
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: hanging.url },
      mirror: { maxInFlight: 1, timeout: "100ms", stats },
    });
    expect((await fetch(url)).status).toBe(200);
    await until(() => proxy.counters.mirrorInFlight === 0, 5000, "the mirror timeout");
    expect(proxy.counters.mirrorErrors).toBe(1);
    expect(stats.outcomes[0]).toMatchObject({ version: "v2", outcome: { error: expect.objectContaining({ name: "MirrorTimeout" }) } });
    expect(stats.stats.lifetime().versions.v2).toMatchObject({ requests: 1, errors: 1 });
    expect((await fetch(url)).status).toBe(200);
    expect(proxy.counters.mirrored).toBe(2);
  });

  it("a mirror that resets connections never changes the client's response", async () => {
    const v1 = await upstream("v1");
    const resetting = await customUpstream((req) => req.socket.destroy());
    const logger = memoryLogger();
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: resetting.url }, logger });
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${url}/${i}`, { method: "POST", body: `body ${i}` });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ upstream: "v1", body: `body ${i}` });
    }
    await until(() => proxy.counters.mirrorErrors === 5, 5000, "five mirror errors");
    expect(proxy.counters.upstreamErrors).toBe(0);
    expect(logger.entries.filter((e) => e.message.includes("mirror"))).toHaveLength(1); // throttled
  });

  it("a mirror that answers before the whole body arrived frees its connection and its slot", async () => {
    // A v2 that rejects a v1-shaped request answers at once, before the client has sent all of the body. The copy
    // used to stay open (never ended, never destroyed): its connection was lost to the mirror agent, the next copy
    // waited for one forever, and neither the mirror timeout nor anything else freed that copy's slot.
    const v1 = await upstream("v1");
    let answered = 0;
    const early = await customUpstream((_req, res) => {
      answered++;
      res.writeHead(400).end("rejected at once");
    });
    const results: MirrorResult[] = [];
    const { url, proxy } = await startProxy(mirrorAll, {
      upstreams: { v1: v1.url, v2: early.url },
      mirror: { maxInFlight: 1, timeout: "30s", onResult: (result) => results.push(result) },
    });
    for (let i = 0; i < 2; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(url, { method: "POST", headers: { "content-length": "12" } });
        req.on("error", reject);
        req.on("response", async (response) => {
          const chunks: Buffer[] = [];
          for await (const chunk of response) chunks.push(chunk as Buffer);
          resolve(Buffer.concat(chunks).toString());
        });
        req.write("first ");
        void until(() => answered === i + 1 && proxy.counters.mirrorInFlight === 0, 5000, `copy ${i + 1} answered`).then(() => req.end("second"), reject);
      });
      expect((JSON.parse(body) as Seen).body).toBe("first second");
    }
    await until(() => results.length === 2);
    expect(results.map((r) => r.status)).toEqual([400, 400]);
    expect(proxy.counters).toMatchObject({ mirrored: 2, mirrorErrors: 0, mirrorDropped: 0, mirrorInFlight: 0 });
  });

  it("drops copies whose body is larger than maxBodyBytes; the primary still gets all of it", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: v2.url }, mirror: { maxBodyBytes: 1000 } });
    const declared = await fetch(url, { method: "POST", body: "y".repeat(5000) });
    expect(((await declared.json()) as Seen).body.length).toBe(5000);
    // A chunked body of unknown length is cut (and the copy dropped) once it passes the bound.
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } });
      req.on("error", reject);
      req.on("response", async (response) => {
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        resolve(Buffer.concat(chunks).toString());
      });
      for (let i = 0; i < 10; i++) req.write("z".repeat(500));
      req.end();
    });
    expect((JSON.parse(chunked) as Seen).body.length).toBe(5000);
    await until(() => proxy.counters.mirrorInFlight === 0);
    expect(proxy.counters.mirrorDropped).toBe(2);
    expect(v2.seen).toHaveLength(0);
    const small = await fetch(url, { method: "POST", body: "small" });
    expect(small.status).toBe(200);
    await until(() => v2.seen.length === 1);
    expect(v2.seen[0]?.body).toBe("small");
  });

  it("keeps a copy whose body is exactly maxBodyBytes, declared or chunked (regression: never tested at the bound)", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: v2.url }, mirror: { maxBodyBytes: 1000 } });
    await (await fetch(url, { method: "POST", body: "x".repeat(1000) })).text();
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } });
      req.on("error", reject);
      req.on("response", (response) => {
        response.resume();
        response.on("end", () => resolve());
      });
      for (let i = 0; i < 4; i++) req.write("w".repeat(250));
      req.end();
    });
    await until(() => v2.seen.length === 2);
    expect(v2.seen.map((seen) => seen.body.length)).toEqual([1000, 1000]);
    expect(proxy.counters.mirrorDropped).toBe(0);
  });

  it("mirrors only the configured methods", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: v2.url }, mirror: { methods: ["get"] } });
    await (await fetch(url, { method: "POST", body: "charge the card" })).text();
    await (await fetch(url)).text();
    await until(() => v2.seen.length === 1);
    expect(v2.seen[0]?.method).toBe("GET");
    expect(proxy.counters.mirrored).toBe(1);
    expect(proxy.counters.mirrorDropped).toBe(0);
  });

  it("counts no mismatch when both statuses agree", async () => {
    const [v1, v2] = [await upstream("v1"), await upstream("v2")];
    const { url, proxy } = await startProxy(mirrorAll, { upstreams: { v1: v1.url, v2: v2.url }, mirror: { compare: true } });
    for (let i = 0; i < 3; i++) await (await fetch(url)).text();
    await until(() => proxy.counters.compared === 3);
    expect(proxy.counters.mismatches).toBe(0);
  });
});

export type { TurnoutProxy };

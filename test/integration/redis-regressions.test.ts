/**
 * Regressions of turnout/redis against a real redis-server, each named after what broke:
 * - with polling off, an instance stayed on the old config after a Redis restart while status() said upToDate;
 * - watchConfig then close() and the client's close left a Redis socket open (the process never exited);
 * - push() during another push resolved true while Redis kept the older snapshot;
 * - a subscriber whose connection dropped while its first SUBSCRIBE was under way reconnected but never subscribed
 *   (announcements lost for good, status() said not subscribed forever);
 * - a rollout write whose reply was lost landed while its controller lost the lease: no controller ever reported its
 *   events (through an ioredis cluster, whose failover retries carry a command past its deadline, the `promoted` of a
 *   rollout that was promoted was never reported);
 * - a controller whose own `SET NX` for the lease landed after its reply was lost took the lease for someone else's and
 *   waited for it to expire (no controller led meanwhile);
 * - a leader renewed its lease only between cycles, so a cycle waiting on a slow reply (a stats read, a failover) let
 *   the lease lapse and the leadership flip to another controller.
 */
import { type Server, type Socket, createServer, connect } from "node:net";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore } from "../../src/integrations/redis.js";
import { connectionFor } from "../../src/integrations/redis/client.js";
import { text } from "../../src/integrations/redis/link.js";
import { ROLLOUT_CAS, STATS_READ } from "../../src/integrations/redis/scripts.js";
import type { RolloutEvent } from "../../src/rollout/types.js";
import { createRouter } from "../../src/router/index.js";
import { createStats } from "../../src/stats/index.js";
import { splitConfig as config } from "./fixtures.js";
import { memoryLogger, until } from "./helpers.js";
import { CLIENTS, connectClient } from "./redis/clients.js";
import { type RedisServer, redisAvailable, startRedis } from "./redis/server.js";

const available = redisAvailable();

/** The TCP sockets this process holds open (node's own view of its event loop's resources). */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TCPWRAP" || r === "TCPConnectWrap").length;
}

/**
 * A TCP relay in front of the real server. It can reset the first connection to send a SUBSCRIBE, before the command
 * reaches Redis (what a client sees when Redis dies or restarts while its subscription is under way), and it can let
 * one command through and then go silent — its reply and everything after it lost, the socket still open — until
 * `heal()` resets the silent connections: a write that ran while its reply never came, as in a failover.
 */
async function startRelay(port: number): Promise<{
  url: string;
  dropNextSubscribe(): void;
  silenceAfter(command: string): void;
  heal(): void;
  close(): Promise<void>;
}> {
  let drop = false;
  let silenceOn: string | undefined;
  const silent = new Set<Socket>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => (sockets.delete(socket), silent.delete(downstream), downstream.destroy(), upstream.destroy()));
    }
    downstream.on("data", (chunk: Buffer) => {
      if (silent.has(downstream)) return;
      const text = chunk.toString("latin1");
      if (drop && /subscribe/i.test(text)) {
        drop = false;
        upstream.destroy();
        downstream.resetAndDestroy();
        return;
      }
      if (silenceOn !== undefined && text.includes(silenceOn)) {
        silenceOn = undefined;
        silent.add(downstream);
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!silent.has(downstream)) downstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const relayPort = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${relayPort}`,
    dropNextSubscribe: () => void (drop = true),
    silenceAfter: (command) => void (silenceOn = command),
    heal: () => {
      for (const socket of silent) socket.resetAndDestroy();
      silent.clear();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(!available)("turnout/redis regressions", () => {
  let server: RedisServer;
  let ns = 0;
  beforeAll(async () => {
    server = await startRedis({ persist: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("pollMs 0: after Redis restarts, an instance whose subscriber reconnects before its main client still catches up, and never claims to be up to date meanwhile", async () => {
    const namespace = `restart-${++ns}`;
    // The main client reconnects slowly, its duplicate (the subscriber) fast: the read after the subscriber's
    // reconnect meets a main client that is still offline.
    const main = createClient({ url: server.url, socket: { reconnectStrategy: () => 1500 } });
    main.on("error", () => undefined);
    await main.connect();
    const fast = main.duplicate({ socket: { reconnectStrategy: () => 20 } });
    const client = Object.assign(main, { duplicate: () => fast });
    const store = createRedisStore(client, { namespace, logger: memoryLogger() });
    await store.writeConfig(config(10), { expectedRevision: 0 });
    const router = createRouter(config(0));
    const sync = store.watchConfig(router, { pollMs: 0, staleAfterMs: 60_000 });
    try {
      await sync.ready;
      // Up to date once subscribed and read after subscribing (not before: an announcement could have been missed).
      await until(() => sync.status().subscribed && router.revision === 1 && sync.status().upToDate, 5000, "subscribed and up to date at revision 1");

      await server.stop("SIGKILL");
      await until(() => !sync.status().subscribed, 5000, "subscription lost");
      expect(sync.status().upToDate).toBe(false); // it cannot know what it misses while the announcements are off
      await server.start();
      const writer = createClient({ url: server.url });
      writer.on("error", () => undefined);
      await writer.connect();
      await createRedisStore(writer, { namespace }).writeConfig(config(70), { expectedRevision: 1 });
      await writer.close();

      await until(() => sync.status().subscribed, 5000, "subscriber back");
      // Until it has read the document, it does not claim to be up to date.
      if (router.revision === 1) expect(sync.status().upToDate).toBe(false);
      await until(() => router.revision === 2, 10_000, "caught up with the write made while it reconnected");
      expect(router.canaryPercent).toBe(70);
      await until(() => sync.status().upToDate, 5000, "up to date again");
      expect(sync.status()).toMatchObject({ revision: 2, storeRevision: 2, upToDate: true });
    } finally {
      await sync.close();
      await main.close().catch(() => undefined);
    }
  }, 30_000);

  it.each(CLIENTS)(
    "%s: watchConfig then close() and the client's close leave no socket open (12 runs, closing at every moment of the subscriber's connect)",
    async (kind) => {
      const before = openSockets();
      for (let run = 0; run < 12; run++) {
        const { client, close } = await connectClient(kind, { type: "single", url: server.url });
        const sync = createRedisStore(client, { namespace: `close-${++ns}`, logger: memoryLogger() }).watchConfig(createRouter(config(0)), { pollMs: 0 });
        // Close while the subscriber's connect is still in flight (every fourth run), or a little later.
        if (run % 4 !== 0) await new Promise((r) => setTimeout(r, run % 4));
        await sync.close();
        await close();
        await until(() => openSockets() <= before, 2000, `no socket left open (run ${run}: ${process.getActiveResourcesInfo().join(", ")})`);
      }
    },
    60_000,
  );

  it.each(CLIENTS)(
    "%s: a subscriber whose connection drops while its first SUBSCRIBE is under way subscribes once it reconnects, and announcements arrive",
    async (kind) => {
      const relay = await startRelay(server.port);
      const { client, close } = await connectClient(kind, { type: "single", url: relay.url });
      const namespace = `handshake-${++ns}`;
      const store = createRedisStore(client, { namespace, logger: memoryLogger() });
      await store.writeConfig(config(10), { expectedRevision: 0 });
      const router = createRouter(config(0));
      relay.dropNextSubscribe(); // the subscriber's first attempt
      const sync = store.watchConfig(router, { pollMs: 0, staleAfterMs: 60_000 });
      try {
        await sync.ready;
        await until(() => sync.status().subscribed, 5000, `${kind} subscribed after its first attempt was cut off`);
        // With polling off, only the announcement can bring this change.
        await store.writeConfig(config(40), { expectedRevision: 1 });
        await until(() => router.revision === 2, 5000, "the announced change applied");
        expect(router.canaryPercent).toBe(40);
        await until(() => sync.status().upToDate && sync.status().lastError === null, 5000, "up to date, no error left");
      } finally {
        await sync.close();
        await close();
        await relay.close();
      }
    },
    30_000,
  );

  it.each(CLIENTS)(
    "%s: a rollout write that landed while its reply was lost, its controller then losing the lease, is still reported by that controller (promoted was never reported)",
    async (kind) => {
      const relay = await startRelay(server.port);
      const lossy = await connectClient(kind, { type: "single", url: relay.url });
      const direct = await connectClient(kind, { type: "single", url: server.url });
      const namespace = `uncertain-${++ns}`;
      const plan = { steps: [{ weight: 50, pause: 300 }] };
      const reported: string[] = [];
      const report = (who: string) => (event: RolloutEvent) => void reported.push(`${who}:${event.type}`);
      const first = createRedisStore(lossy.client, { namespace, commandTimeoutMs: 300, logger: memoryLogger() });
      await first.writeConfig(config(0), { expectedRevision: 0 });
      const a = first.controlRollout(plan, { id: "a", leaseMs: 1500, renewMs: 200, onEvent: report("a") });
      await a.ready; // a leads: b joins after it
      const b = createRedisStore(direct.client, { namespace, logger: memoryLogger() }).controlRollout(plan, {
        id: "b",
        leaseMs: 1500,
        renewMs: 200,
        onEvent: report("b"),
      });
      try {
        await b.ready;
        expect([a.status().leading, b.status().leading]).toEqual([true, false]);
        expect((await a.start()).accepted).toBe(true);
        // The promotion (a's next compare-and-set) reaches Redis; its reply and all a sends after it are lost.
        relay.silenceAfter(ROLLOUT_CAS.sha);
        await until(() => b.status().leading, 10_000, "b takes the lease a can no longer renew");
        expect((await b.state())?.phase).toBe("promoted");
        relay.heal(); // a reconnects, b holds the lease: a leads no more
        await until(() => reported.some((r) => r.endsWith(":promoted")), 10_000, "the promotion reported");
        expect(reported.filter((r) => r.endsWith(":promoted"))).toEqual(["a:promoted"]);
        expect(a.status().leading).toBe(false);
      } finally {
        await a.close();
        await b.close();
        await lossy.close();
        await direct.close();
        await relay.close();
      }
    },
    30_000,
  );

  it.each(CLIENTS)(
    "%s: a controller whose own SET NX for the lease landed while its reply was lost leads at once (it waited for its own lease to expire)",
    async (kind) => {
      const relay = await startRelay(server.port);
      const lossy = await connectClient(kind, { type: "single", url: relay.url });
      const direct = await connectClient(kind, { type: "single", url: server.url });
      const namespace = `late-take-${++ns}`;
      const store = createRedisStore(lossy.client, { namespace, commandTimeoutMs: 300, logger: memoryLogger() });
      await store.writeConfig(config(0), { expectedRevision: 0 });
      const lease = `${store.prefix}rollout:default:lease`;
      relay.silenceAfter("\r\nSET\r\n"); // the controller's first SET NX reaches Redis; its reply (and all after it) is lost
      const a = store.controlRollout({ steps: [{ weight: 50, pause: 300 }] }, { id: "a", leaseMs: 60_000, renewMs: 100 });
      try {
        await a.ready;
        expect(a.status().leading).toBe(false);
        const holder = async (): Promise<string> => text(await connectionFor(direct.client, 2000)?.command(["GET", lease], lease)) ?? "";
        expect(await holder()).toMatch(/^a:/); // it holds the lease without knowing
        relay.heal();
        await until(() => a.status().leading, 5000, "a leads (its own lease, 60 s from expiry)");
        expect(await holder()).toMatch(/^a:/);
      } finally {
        await a.close();
        await lossy.close();
        await direct.close();
        await relay.close();
      }
    },
    30_000,
  );

  it("a leader whose cycle waits on a slow reply keeps its lease (renewed on its own timer): leadership never flips", async () => {
    const namespace = `slow-cycle-${++ns}`;
    const slow = createClient({ url: server.url });
    const other = createClient({ url: server.url });
    for (const c of [slow, other]) {
      c.on("error", () => undefined);
      await c.connect();
    }
    // The real client; the stats read (what a check runs first) answers after 4 s, over two lease periods.
    const delayed = new Proxy(slow, {
      get(target, name) {
        const value: unknown = Reflect.get(target, name);
        if (name !== "sendCommand") return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (args: string[]) => {
          const reply = target.sendCommand(args);
          reply.catch(() => undefined); // surfaces below, once the delay is over
          if (args[1] === STATS_READ.sha || args[1] === STATS_READ.source) await new Promise((r) => setTimeout(r, 4000));
          return reply;
        };
      },
    });
    const plan = { steps: [{ weight: 50, pause: 60_000 }], analysis: { window: "5s", interval: 100, minRequests: 1, maxErrorRate: 5 } };
    const flips: string[] = [];
    const store = createRedisStore(delayed, { namespace, commandTimeoutMs: 10_000, logger: memoryLogger() });
    await store.writeConfig(config(0), { expectedRevision: 0 });
    const a = store.controlRollout(plan, { id: "a", leaseMs: 1500, renewMs: 250, onLeadership: (l) => void flips.push(`a:${l}`) });
    await a.ready;
    const b = createRedisStore(other, { namespace, logger: memoryLogger() }).controlRollout(plan, {
      id: "b",
      leaseMs: 1500,
      renewMs: 250,
      onLeadership: (l) => void flips.push(`b:${l}`),
    });
    try {
      await b.ready;
      expect((await a.start()).accepted).toBe(true);
      await new Promise((r) => setTimeout(r, 5000)); // a slow stats read and the next, each longer than the lease
      expect(flips).toEqual(["a:true"]);
      expect([a.status().leading, b.status().leading]).toEqual([true, false]);
    } finally {
      await b.close();
      await a.close();
      await slow.close();
      await other.close();
    }
  }, 30_000);

  it("push() while another push is in flight resolves only once its own numbers are stored", async () => {
    const client = createClient({ url: server.url });
    client.on("error", () => undefined);
    await client.connect();
    try {
      const store = createRedisStore(client, { namespace: `push-${++ns}`, logger: memoryLogger() });
      const stats = createStats({ versions: ["v1", "v2"] });
      const router = createRouter(config(0));
      const publisher = store.publishStats(stats, { instance: "pod-1", intervalMs: 60_000 }); // its first push is in flight now
      for (let i = 0; i < 10; i++) stats.recordOutcome(router.decide({ key: `k${i}` }), { status: 200, durationMs: 5 });
      expect(await publisher.push()).toBe(true);
      const fleet = await store.readFleetStats();
      expect(fleet.snapshot.lifetime.totals.requests).toBe(10);
      await publisher.close({ remove: true });
    } finally {
      await client.close();
    }
  });
});

/**
 * The one interface turnout talks to Redis through, and an adapter per client library: node-redis 5 and 6
 * (`createClient`, `createCluster`) and ioredis 5 and 6 (`new Redis`, `new Cluster`, Sentinel
 * through `new Redis({ sentinels })`). No library is imported: each client is recognised by its shape, so every
 * one of them is an optional peer dependency.
 *
 * Everything turnout sends is a raw command with its first key (a cluster routes by it); pub/sub uses a second
 * connection that the adapter opens from the user's client and closes again, leaving nothing open.
 */
import type { NodeRedisClientLike, NodeRedisClusterLike, IORedisLike, RedisClientLike } from "./types.js";

/** What a subscription tells its owner. */
export interface SubscriptionEvents {
  /** An announcement on the channel. */
  message(payload: string): void;
  /** Subscribed: `again` is true after a reconnect (what was announced meanwhile is lost). */
  subscribed(again: boolean): void;
  /** The subscription connection is down or failed; `error` when there is one to report. */
  down(error?: unknown): void;
}

/** A subscription connection turnout opened; `close()` leaves no socket behind, also mid-connect. */
export interface Subscription {
  close(): Promise<void>;
}

/** The commands turnout uses, whatever the library. */
export interface Connection {
  /** Which adapter (shown in errors and docs). */
  readonly kind: "node-redis" | "node-redis-cluster" | "ioredis" | "ioredis-cluster";
  /** True while commands can be sent (nothing is sent otherwise: a client would queue it for the reconnect). */
  ready(): boolean;
  /** One command; `key` routes it on a cluster (every key of a namespace shares one slot). */
  command(args: readonly string[], key: string | undefined): Promise<unknown>;
  /** Opens a subscription to `channel` on a new connection. */
  subscribe(channel: string, events: SubscriptionEvents): Subscription;
}

const has = (value: unknown, name: string): boolean => typeof (value as Record<string, unknown> | null)?.[name] === "function";

/** ioredis (`Redis` or `Cluster`): `call` and a `status` string. */
export function isIORedis(client: unknown): client is IORedisLike {
  return (
    typeof client === "object" &&
    client !== null &&
    has(client, "call") &&
    has(client, "duplicate") &&
    typeof (client as { status?: unknown }).status === "string"
  );
}

/** A node-redis cluster: `sendCommand(firstKey, isReadonly, args)` and its shards. */
export function isNodeRedisCluster(client: unknown): client is NodeRedisClusterLike {
  return typeof client === "object" && client !== null && has(client, "sendCommand") && "masters" in client && has(client, "duplicate");
}

/** A node-redis client: `sendCommand(args)`. */
export function isNodeRedis(client: unknown): client is NodeRedisClientLike {
  return typeof client === "object" && client !== null && has(client, "sendCommand") && has(client, "duplicate") && !isIORedis(client);
}

/** Settles after `promise` settles or `ms` passed, whichever comes first; never rejects. */
function settled(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    promise.then(
      () => (clearTimeout(timer), resolve()),
      () => (clearTimeout(timer), resolve()),
    );
  });
}

/**
 * A subscription's state, whatever the library. `attempt()` subscribes unless that is done or under way; `ready()` is
 * what the connection's "ready" event calls: after a reconnect it reports the resubscription (the client
 * resubscribes by itself), and when no attempt has succeeded yet it makes one. A first SUBSCRIBE cut off by a dropped
 * connection fails while the client goes on reconnecting, so "ready" is then the only sign that it can (and must)
 * still be made.
 */
function subscriptionState(events: SubscriptionEvents, subscribe: () => Promise<unknown>) {
  let closed = false;
  let subscribedOnce = false;
  let subscribing = false;
  const attempt = (): Promise<void> => {
    if (closed || subscribedOnce || subscribing) return Promise.resolve();
    subscribing = true;
    return Promise.resolve()
      .then(subscribe)
      .then(
        () => {
          subscribing = false;
          if (closed) return;
          subscribedOnce = true;
          events.subscribed(false);
        },
        (error: unknown) => {
          subscribing = false;
          if (!closed) events.down(error);
        },
      );
  };
  return {
    attempt,
    ready(): Promise<void> {
      if (closed || !subscribedOnce) return attempt();
      events.subscribed(true);
      return Promise.resolve();
    },
    /** True once closed: nothing is reported after that. */
    isClosed: (): boolean => closed,
    /** Closes it; false when it already was. */
    close(): boolean {
      if (closed) return false;
      closed = true;
      return true;
    },
  };
}

/**
 * A node-redis cluster client refreshes its slot map when a node answers `MOVED` or `ASK` (node-redis 6 also when a
 * node keeps reconnecting; node-redis 5 only then). After a failover, a node-redis 5 client therefore keeps sending the
 * promoted replica's slots to the dead primary's connection, where the commands wait, for as long as that node is
 * down. So when a command is slow (half its deadline without a reply), one probe at a time goes out without a
 * routing key, to the next node in the client's rotation: a live node that does not hold the slot answers `MOVED`, and
 * the client rediscovers the cluster by itself. A probe is a read of one key (`EXISTS`); nothing is written.
 */
function slotMapNudge(cluster: NodeRedisClusterLike, timeoutMs: number): (key: string) => void {
  let probing = false;
  return (key) => {
    if (probing) return;
    probing = true;
    const probe = Promise.resolve().then(() => cluster.sendCommand(undefined, true, ["EXISTS", key]));
    void settled(probe, timeoutMs).then(() => {
      probing = false;
    });
  };
}

/**
 * node-redis (client or cluster). `connect()` on the duplicate must have settled before it is destroyed:
 * destroying it mid-handshake leaves the socket open and the process alive.
 */
function nodeRedis(client: NodeRedisClientLike | NodeRedisClusterLike, cluster: boolean, timeoutMs: number): Connection {
  const nudge = cluster ? slotMapNudge(client as NodeRedisClusterLike, timeoutMs) : undefined;
  return {
    kind: cluster ? "node-redis-cluster" : "node-redis",
    ready: () => (cluster ? (client as NodeRedisClusterLike).isOpen !== false : (client as NodeRedisClientLike).isReady !== false),
    command: (args, key) => {
      if (nudge === undefined) return (client as NodeRedisClientLike).sendCommand([...args]);
      const reply = (client as NodeRedisClusterLike).sendCommand(key, false, [...args]);
      if (key === undefined) return reply;
      const slow = setTimeout(() => nudge(key), Math.max(1, Math.floor(timeoutMs / 2)));
      slow.unref?.();
      const answered = (): void => clearTimeout(slow);
      reply.then(answered, answered);
      return reply;
    },
    subscribe(channel, events) {
      const sub = client.duplicate();
      const onMessage = (payload: unknown): void => {
        if (!state.isClosed()) events.message(typeof payload === "string" ? payload : String(payload));
      };
      const state = subscriptionState(events, () => sub.subscribe(channel, onMessage));
      sub.on("error", (error: unknown) => events.down(error));
      sub.on("end", () => events.down());
      // A node-redis client says "ready" after every reconnect (it resubscribes by itself); a cluster does not.
      sub.on("ready", () => {
        pending = state.ready();
      });
      const connecting = Promise.resolve().then(() => sub.connect());
      let pending: Promise<unknown> = connecting.then(state.attempt, () => undefined);
      connecting.catch((error: unknown) => {
        if (!state.isClosed()) events.down(error);
      });
      return {
        async close() {
          if (!state.close()) return;
          await settled(connecting, timeoutMs);
          await settled(pending, timeoutMs);
          try {
            sub.destroy?.();
          } catch {
            // A client that never connected (Redis down) refuses to close: nothing is open either way.
          }
        },
      };
    },
  };
}

/** ioredis (`Redis`, Sentinel-backed `Redis`, or `Cluster`). It resubscribes and says "ready" after every reconnect. */
function ioredis(client: IORedisLike): Connection {
  const cluster = has(client, "nodes");
  return {
    kind: cluster ? "ioredis-cluster" : "ioredis",
    ready: () => client.status === "ready",
    command: (args) => client.call(args[0] as string, ...args.slice(1)),
    subscribe(channel, events) {
      const sub = client.duplicate();
      const state = subscriptionState(events, () => sub.subscribe(channel));
      sub.on("error", (error: unknown) => events.down(error));
      sub.on("close", () => events.down());
      sub.on("ready", () => void state.ready());
      sub.on("message", (received: unknown, payload: unknown) => {
        if (!state.isClosed() && received === channel) events.message(String(payload));
      });
      void state.attempt();
      return {
        async close() {
          if (state.close()) sub.disconnect(); // stops reconnecting too; ioredis ends a socket that is still connecting
        },
      };
    },
  };
}

/** The adapter for `client`, or undefined when it is no client turnout knows. */
export function connectionFor(client: RedisClientLike, timeoutMs: number): Connection | undefined {
  if (isIORedis(client)) return ioredis(client);
  if (isNodeRedisCluster(client)) return nodeRedis(client, true, timeoutMs);
  if (isNodeRedis(client)) return nodeRedis(client, false, timeoutMs);
  return undefined;
}

/**
 * The Redis clients turnout supports, each connected the way its users connect it: node-redis 5 (`redis`) and 6
 * (`redis6`, an alias of redis@6), ioredis 6 (`ioredis`) and 5 (`ioredis5`), to one server, a cluster or (ioredis)
 * Sentinel. The fleet suites run once per client.
 */
import type { RedisClientLike } from "../../../src/integrations/redis.js";

export const CLIENTS = ["node-redis@5", "node-redis@6", "ioredis@6", "ioredis@5"] as const;
export type ClientKind = (typeof CLIENTS)[number];

/** Where to connect: one server, the nodes of a cluster, or the sentinels of a monitored primary. */
export type Target =
  | { readonly type: "single"; readonly url: string }
  | { readonly type: "cluster"; readonly ports: readonly number[] }
  | { readonly type: "sentinel"; readonly name: string; readonly ports: readonly number[] };

export interface Connected {
  readonly client: RedisClientLike;
  close(): Promise<void>;
}

const quiet = (): void => undefined; // outages are expected in these tests; turnout reports what matters

async function nodeRedis(client: {
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  on(event: "error", listener: () => void): unknown;
}): Promise<() => Promise<void>> {
  client.on("error", quiet);
  await client.connect();
  return async () => void (await client.close().catch(quiet));
}

/** The part of an ioredis client (5 or 6, single or cluster) that connecting and closing need. */
interface IOClient {
  readonly status: string;
  on(event: string, listener: () => void): unknown;
  once(event: string, listener: () => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

async function ioredis(client: IOClient, kind: ClientKind): Promise<() => Promise<void>> {
  client.on("error", quiet);
  await new Promise<void>((resolve, reject) => {
    if (client.status === "ready") return resolve();
    client.once("ready", () => resolve());
    setTimeout(() => reject(new Error(`${kind} did not connect`)), 15_000).unref();
  });
  return async () => {
    await client.quit().catch(quiet);
    client.disconnect();
  };
}

/** A connected client of `kind` for `target`. */
export async function connectClient(kind: ClientKind, target: Target): Promise<Connected> {
  const urls = target.type === "single" ? [] : target.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` }));
  const nodes = target.type === "single" ? [] : target.ports.map((port) => ({ host: "127.0.0.1", port }));
  if ((kind === "node-redis@5" || kind === "node-redis@6") && target.type === "sentinel") {
    throw new Error("turnout/redis does not support node-redis Sentinel clients: use ioredis");
  }
  switch (kind) {
    case "node-redis@5": {
      // Each library is loaded only when asked for: a worker process starts faster.
      const { createClient: createClient5, createCluster: createCluster5 } = await import("redis");
      if (target.type === "cluster") {
        const client = createCluster5({ rootNodes: urls });
        return { client, close: await nodeRedis(client) };
      }
      const client = createClient5({ url: target.type === "single" ? target.url : "" });
      return { client, close: await nodeRedis(client) };
    }
    case "node-redis@6": {
      const { createClient: createClient6, createCluster: createCluster6 } = await import("redis6");
      if (target.type === "cluster") {
        const client = createCluster6({ rootNodes: urls });
        return { client, close: await nodeRedis(client) };
      }
      const client = createClient6({ url: target.type === "single" ? target.url : "" });
      return { client, close: await nodeRedis(client) };
    }
    case "ioredis@6": {
      const { Redis: IORedis6, Cluster: IOCluster6 } = await import("ioredis");
      const client =
        target.type === "cluster"
          ? new IOCluster6(nodes)
          : target.type === "sentinel"
            ? new IORedis6({ name: target.name, sentinels: nodes })
            : new IORedis6(target.url);
      return { client, close: await ioredis(client, kind) };
    }
    case "ioredis@5": {
      const { Redis: IORedis5, Cluster: IOCluster5 } = await import("ioredis5");
      const client =
        target.type === "cluster"
          ? new IOCluster5(nodes)
          : target.type === "sentinel"
            ? new IORedis5({ name: target.name, sentinels: nodes })
            : new IORedis5(target.url);
      return { client, close: await ioredis(client, kind) };
    }
  }
}

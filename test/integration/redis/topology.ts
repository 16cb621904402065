/**
 * Redis topologies for the tests, started from redis-server on 127.0.0.1 with free ports and temporary directories,
 * and stopped by the tests: a cluster of three primaries with one replica each, and a primary with a replica watched
 * by three Sentinels. Failover timings are short (node timeout / down-after 1 s) so a failover takes seconds.
 *
 * A replica can only be promoted once it has synced with its primary: a replica that never linked (just created, or
 * just restarted after a failover) refuses to stand for election — its data age is unbounded — and its shard's slots
 * then stay without a primary for good. So the cluster is handed out with every replica linked, a node brought back
 * after a failover is waited for until it has linked as a replica again (`rejoin`), and `failoverReady` checks a
 * primary has a linked replica before a test kills it.
 */
import { execFileSync } from "node:child_process";
import { createConnection } from "node:net";
import { type RedisServer, freePort, startRedis } from "./server.js";

/** One command over a raw socket (RESP arrays in, the reply text out): the topology's own checks need no client. */
export async function rawCommand(port: number, args: readonly string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    let reply = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no reply from 127.0.0.1:${port} to ${args[0]}`))), timeoutMs);
    socket.once("error", (error) => (clearTimeout(timer), reject(error)));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      // Enough for the replies read here: a status/integer/error line, or one bulk string.
      const bulk = /^\$(-?\d+)\r\n/.exec(reply);
      if (
        (bulk === null && reply.endsWith("\r\n")) ||
        (bulk !== null && (Number(bulk[1]) < 0 || Buffer.byteLength(reply) >= bulk[0].length + Number(bulk[1]) + 2))
      ) {
        clearTimeout(timer);
        socket.destroy();
        resolve(bulk === null ? reply.trim() : reply.slice(bulk[0].length).trimEnd());
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** The ports of every node (what a cluster client is given as root nodes). */
  readonly ports: readonly number[];
  /** The node that is primary for `key`'s slot now. */
  primaryFor(key: string): Promise<RedisServer>;
  /** Waits until `primary` has a replica that has synced with it (what a failover needs); throws after `timeoutMs`. */
  failoverReady(primary: RedisServer, timeoutMs?: number): Promise<void>;
  /**
   * Starts a node stopped by a test again and waits until it has synced as a replica of its shard's new primary (or,
   * if none was promoted, until it is the primary again with its replica synced).
   */
  rejoin(node: RedisServer, timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/** Whether the INFO replication text of a primary lists a replica that is online (synced and streaming). */
const hasOnlineReplica = (info: string): boolean => /role:master/.test(info) && /slave\d+:[^\r\n]*state=online/.test(info);
/** Whether the INFO replication text of a replica says its link to the primary is up (synced). */
const isLinkedReplica = (info: string): boolean => /role:slave/.test(info) && /master_link_status:up/.test(info);

/** Three primaries and three replicas, formed with `redis-cli --cluster create`. */
export async function startCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      // The cluster bus port is chosen free too (the default, port + 10000, may be taken or out of range).
      const bus = await freePort();
      nodes.push(
        await startRedis({
          persist: true,
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            "--cluster-port",
            String(bus),
            "--cluster-require-full-coverage",
            "no",
            // A replica's full sync starts at once instead of after the default 5 s wait for more replicas.
            "--repl-diskless-sync-delay",
            "0",
          ],
        }),
      );
    }
    const cli = execFileSync("sh", ["-c", "command -v redis-cli"], { encoding: "utf8" }).trim();
    execFileSync(cli, ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes"], {
      stdio: "pipe",
      timeout: 60_000,
    });
    await waitFor("the cluster to be ok on every node", 30_000, async () => {
      const infos = await Promise.all(nodes.map((n) => rawCommand(n.port, ["CLUSTER", "INFO"])));
      return infos.every((info) => /cluster_state:ok/.test(info) && /cluster_known_nodes:6/.test(info));
    });
    await waitFor("every replica to sync with its primary", 30_000, async () => {
      const infos = await Promise.all(nodes.map((n) => rawCommand(n.port, ["INFO", "replication"])));
      return infos.filter(isLinkedReplica).length === 3;
    });
  } catch (error) {
    await Promise.all(nodes.map((n) => n.dispose()));
    throw error;
  }
  return {
    nodes,
    ports: nodes.map((n) => n.port),
    async primaryFor(key) {
      // Any node that answers computes the slot (the one killed by a test does not).
      const slot = Number((await Promise.any(nodes.map((n) => rawCommand(n.port, ["CLUSTER", "KEYSLOT", key])))).replace(/^:/, ""));
      for (const node of nodes) {
        const lines = (await rawCommand(node.port, ["CLUSTER", "NODES"]).catch(() => "")).split("\n");
        for (const line of lines) {
          const [, address, flags, , , , , state, ...slots] = line.split(" ");
          if (!flags?.split(",").includes("myself") || !flags.includes("master") || state !== "connected") continue;
          const owns = slots.some((range) => {
            const [from, to] = range.split("-").map(Number);
            return from !== undefined && slot >= from && slot <= (to ?? from);
          });
          if (owns && address !== undefined) return node;
        }
      }
      throw new Error(`no primary serves slot ${slot}`);
    },
    async failoverReady(primary, timeoutMs = 20_000) {
      await waitFor(`a synced replica of 127.0.0.1:${primary.port} (without one the cluster cannot fail over)`, timeoutMs, async () =>
        hasOnlineReplica(await rawCommand(primary.port, ["INFO", "replication"])),
      );
    },
    async rejoin(node, timeoutMs = 30_000) {
      await node.start();
      // A synced replica; or, when no replica was promoted while it was down, a primary again whose replica has synced.
      await waitFor(`127.0.0.1:${node.port} to sync again`, timeoutMs, async () => {
        const info = await rawCommand(node.port, ["INFO", "replication"]);
        return isLinkedReplica(info) || hasOnlineReplica(info);
      });
    },
    async dispose() {
      await Promise.all(nodes.map((n) => n.dispose()));
    },
  };
}

export interface RedisSentinelSet {
  readonly name: string;
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  readonly sentinels: readonly RedisServer[];
  /** The port Sentinel reports for the primary now. */
  primaryPort(): Promise<number>;
  dispose(): Promise<void>;
}

/** A primary, one replica, three Sentinels (quorum 2). */
export async function startSentinels(name = "turnout"): Promise<RedisSentinelSet> {
  const primary = await startRedis({ persist: true });
  const started: RedisServer[] = [primary];
  try {
    const replica = await startRedis({ persist: true, args: ["--replicaof", "127.0.0.1", String(primary.port)] });
    started.push(replica);
    await waitFor("the replica to sync", 20_000, async () => /master_link_status:up/.test(await rawCommand(replica.port, ["INFO", "replication"])));
    const config = [
      `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 4000`,
      `sentinel parallel-syncs ${name} 1`,
      "",
    ].join("\n");
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await startRedis({ sentinel: config });
      sentinels.push(s);
      started.push(s);
    }
    const set: RedisSentinelSet = {
      name,
      primary,
      replica,
      sentinels,
      async primaryPort() {
        const reply = await rawCommand(sentinels[0]!.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]);
        const port = /(\d+)$/.exec(reply)?.[1];
        return Number(port);
      },
      async dispose() {
        await Promise.all(started.map((s) => s.dispose()));
      },
    };
    await waitFor("the Sentinels to see each other and the replica", 20_000, async () => {
      const info = await rawCommand(sentinels[0]!.port, ["INFO", "sentinel"]);
      return new RegExp(`name=${name},status=ok,address=127.0.0.1:${primary.port},slaves=1,sentinels=3`).test(info);
    });
    return set;
  } catch (error) {
    await Promise.all(started.map((s) => s.dispose()));
    throw error;
  }
}

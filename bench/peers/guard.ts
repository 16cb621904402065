/**
 * A network guard for the peer benchmarks: every way an SDK could reach the network throws (or rejects) and is
 * counted, so the report can say whether a peer tried. Installed before any SDK is imported.
 *
 * Covered: `fetch`, `http(s).request/get`, `net.connect/createConnection`, `net.Socket.prototype.connect` (what
 * every Node HTTP client, undici included, ends in), `tls.connect`, `dns.lookup` and `dns.promises.lookup`.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import tls from "node:tls";

/** One blocked attempt. */
export interface NetworkAttempt {
  readonly api: string;
  readonly target: string;
}

const attempts: NetworkAttempt[] = [];

/** Every blocked attempt so far. */
export function networkAttempts(): readonly NetworkAttempt[] {
  return attempts;
}

function describe(args: readonly unknown[]): string {
  const first = args[0];
  if (typeof first === "string") return first.slice(0, 120);
  if (first instanceof URL) return first.href;
  if (typeof first === "object" && first !== null) {
    const o = first as Record<string, unknown>;
    const host = o["hostname"] ?? o["host"] ?? o["path"] ?? "";
    const port = o["port"] === undefined ? "" : `:${String(o["port"])}`;
    if (typeof o["url"] === "string") return o["url"].slice(0, 120);
    return `${String(host)}${port}`;
  }
  if (typeof first === "number") return `port ${first}`;
  return "?";
}

function blocked(api: string, args: readonly unknown[]): Error {
  attempts.push({ api, target: describe(args) });
  return new Error(`turnout bench: network access blocked (${api} ${describe(args)})`);
}

let installed = false;

/**
 * Replaces every network entry point with one that records the attempt and fails. Idempotent.
 *
 * @example
 * ```ts
 * installNetworkGuard();
 * const { GrowthBookClient } = await import("@growthbook/growthbook");
 * ```
 */
export function installNetworkGuard(): void {
  if (installed) return;
  installed = true;
  const thrower =
    (api: string) =>
    (...args: unknown[]): never => {
      throw blocked(api, args);
    };
  globalThis.fetch = (async (...args: unknown[]) => {
    throw blocked("fetch", args);
  }) as typeof fetch;
  http.request = thrower("http.request") as typeof http.request;
  http.get = thrower("http.get") as typeof http.get;
  https.request = thrower("https.request") as typeof https.request;
  https.get = thrower("https.get") as typeof https.get;
  net.connect = thrower("net.connect") as typeof net.connect;
  net.createConnection = thrower("net.createConnection") as typeof net.createConnection;
  tls.connect = thrower("tls.connect") as typeof tls.connect;
  net.Socket.prototype.connect = function connect(...args: unknown[]): never {
    throw blocked("net.Socket.connect", args);
  } as typeof net.Socket.prototype.connect;
  dns.lookup = ((...args: unknown[]) => {
    const callback = args[args.length - 1];
    const error = blocked("dns.lookup", args);
    if (typeof callback === "function") process.nextTick(() => (callback as (e: Error) => void)(error));
  }) as typeof dns.lookup;
  dns.promises.lookup = (async (...args: unknown[]) => {
    throw blocked("dns.promises.lookup", args);
  }) as typeof dns.promises.lookup;
  syncBuiltinESMExports();
  // A blocked attempt inside an SDK's background task must not end the run: it is counted and reported.
  process.on("unhandledRejection", () => {});
  process.on("uncaughtException", (error) => {
    if (!String(error?.message).startsWith("turnout bench: network access blocked")) throw error;
  });
}

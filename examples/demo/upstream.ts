/**
 * A stand-in upstream: a small node:http server on 127.0.0.1 that answers JSON after a log-normal delay, and
 * fails a given share of requests with 503. The demo starts one per version.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** How an upstream behaves. */
export interface UpstreamBehaviour {
  /** The version it serves. */
  readonly version: string;
  /** Share of requests answered 503, in percent. */
  readonly errorPercent: number;
  /** Median latency in ms (the p99 is about 1.8× that). */
  readonly latencyMs: number;
  /** Random numbers in [0, 1). */
  readonly random: () => number;
}

/** A running upstream. */
export interface Upstream {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Starts an upstream on 127.0.0.1 at an ephemeral port.
 *
 * @example
 * ```ts
 * const v2 = await startUpstream({ version: "v2", errorPercent: 8, latencyMs: 20, random: Math.random });
 * ```
 */
export async function startUpstream(behaviour: UpstreamBehaviour): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    req.resume();
    // A log-normal delay: median `latencyMs`, p99 ≈ 1.8 × median (σ = 0.25).
    const delay = behaviour.latencyMs * Math.exp(0.25 * normal(behaviour.random));
    const failed = behaviour.random() * 100 < behaviour.errorPercent;
    const timer = setTimeout(() => {
      const body = failed ? { error: "upstream failure", version: behaviour.version } : { served: behaviour.version, path: req.url };
      res.writeHead(failed ? 503 : 200, { "content-type": "application/json" }).end(JSON.stringify(body));
    }, delay);
    res.once("close", () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A load generator: keyed requests (`x-user-id` from a pool of users) at a steady rate, open loop (requests start on
 * schedule whether or not earlier ones have answered), with a cap on requests in flight. It stops by itself.
 */
import http from "node:http";

/** What the load generator saw, per answering version and status class. */
export interface LoadCounts {
  sent: number;
  answered: number;
  failed: number;
  dropped: number;
  readonly byVersion: Record<string, number>;
}

/** A running load generator. */
export interface Load {
  readonly counts: LoadCounts;
  /** Stops sending and waits (briefly) for the requests in flight. */
  stop(): Promise<void>;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** The proxy's base URL. */
  readonly target: string;
  /** Requests per second. */
  readonly rps: number;
  /** Distinct users (sticky keys). */
  readonly users: number;
  /** Random numbers in [0, 1). */
  readonly random: () => number;
  /** Requests in flight at most (more are dropped and counted). Default 128. */
  readonly maxInFlight?: number;
  /** Stop by itself after this long, in ms (a safety net). */
  readonly maxDurationMs: number;
}

/**
 * Starts sending `GET /api/orders` with `x-user-id: user-<n>` to the target.
 *
 * @example
 * ```ts
 * const load = startLoad({ target: proxyUrl, rps: 200, users: 5000, random: Math.random, maxDurationMs: 60_000 });
 * await load.stop();
 * ```
 */
export function startLoad(options: LoadOptions): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counts: LoadCounts = { sent: 0, answered: 0, failed: 0, dropped: 0, byVersion: {} };
  const maxInFlight = options.maxInFlight ?? 128;
  const started = performance.now();
  let inFlight = 0;
  let stopped = false;

  const send = (): void => {
    if (inFlight >= maxInFlight) {
      counts.dropped++;
      return;
    }
    inFlight++;
    counts.sent++;
    const user = `user-${Math.floor(options.random() * options.users)}`;
    const req = http.get(`${options.target}/api/orders`, { agent, headers: { "x-user-id": user } }, (res) => {
      const version = String(res.headers["x-api-version"] ?? "?");
      res.resume();
      res.once("end", () => {
        inFlight--;
        counts.answered++;
        counts.byVersion[version] = (counts.byVersion[version] ?? 0) + 1;
        if ((res.statusCode ?? 0) >= 500) counts.failed++;
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.once("error", () => {
      inFlight--;
      counts.failed++;
    });
  };

  // Open loop: every 10 ms, send what the schedule says should have been sent by now.
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed > options.maxDurationMs) {
      stopped = true;
      clearInterval(timer);
      return;
    }
    const due = Math.floor((elapsed / 1000) * options.rps);
    while (!stopped && counts.sent + counts.dropped < due) send();
  }, 10);

  return {
    counts,
    async stop() {
      stopped = true;
      clearInterval(timer);
      const deadline = Date.now() + 3_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      agent.destroy();
    },
  };
}

/** Test helpers: real servers on 127.0.0.1, port 0, closed by the tests. */
import { type RequestListener, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createStats } from "../../src/stats/index.js";
import type { Decision, Logger, Outcome } from "../../src/types.js";

export interface Running {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts `server` (or a server for `listener`) on 127.0.0.1 at an ephemeral port. */
export async function listen(target: Server | RequestListener): Promise<Running> {
  const server = typeof target === "function" ? createServer(target) : target;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger that remembers what it was told. */
export function memoryLogger(): Logger & { readonly entries: { level: string; message: string; details?: Record<string, unknown> }[] } {
  const entries: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  return {
    entries,
    warn: (message, details) => void entries.push({ level: "warn", message, ...(details ? { details } : {}) }),
    error: (message, details) => void entries.push({ level: "error", message, ...(details ? { details } : {}) }),
  };
}

/** Waits until `condition()` holds (polling), or fails after `timeoutMs`, with what `detail()` shows then. */
export async function until(condition: () => boolean, timeoutMs = 5000, what = "condition", detail?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail === undefined ? "" : `: ${JSON.stringify(detail())}`}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Epoch ms of an ISO date. */
export const at = (iso: string): number => Date.parse(iso);

/**
 * The real stats (`createStats`), with every outcome the integration hands them kept for the assertions: a spy
 * that records and forwards, never a stand-in.
 */
export function observedStats(versions: readonly string[] = ["v1", "v2", "v3"]) {
  const stats = createStats({ versions });
  const outcomes: { version: string; outcome: Outcome }[] = [];
  return {
    stats,
    outcomes,
    recordOutcome(decision: Pick<Decision, "version">, outcome: Outcome): boolean {
      outcomes.push({ version: decision.version, outcome });
      return stats.recordOutcome(decision, outcome);
    },
  };
}

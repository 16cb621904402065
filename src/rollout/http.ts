// The HTTP the rollout needs (Prometheus queries, webhooks): one attempt with a time limit, retried on network
// errors, time-outs and 5xx answers. Through an injectable `fetch`; no Node modules (the core runs anywhere).

import type { FetchLike } from "./types.js";

interface Globals {
  fetch?: FetchLike;
  AbortController?: new () => { readonly signal: unknown; abort(): void };
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

const g = globalThis as unknown as Globals;

/** `globalThis.fetch`, looked up without DOM types. */
export function globalFetch(): FetchLike | undefined {
  return typeof g.fetch === "function" ? g.fetch : undefined;
}

/** What one exchange ended with: an answer (any status), or no answer and why. */
export type Exchange = { readonly answered: true; readonly status: number; readonly text: string } | { readonly answered: false; readonly reason: string };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (typeof g.setTimeout === "function") g.setTimeout(resolve, ms);
    else resolve();
  });
}

async function attempt(fetch: FetchLike, url: string, init: Omit<Parameters<FetchLike>[1], "signal">, timeoutMs: number): Promise<Exchange> {
  const controller = typeof g.AbortController === "function" ? new g.AbortController() : undefined;
  let handle: unknown;
  const timer = new Promise<Exchange>((resolve) => {
    handle = g.setTimeout?.(() => {
      controller?.abort();
      resolve({ answered: false, reason: `did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const work = (async (): Promise<Exchange> => {
    try {
      const response = await fetch(url, { ...init, ...(controller ? { signal: controller.signal } : {}) });
      return { answered: true, status: response.status, text: await response.text() };
    } catch (error) {
      return { answered: false, reason: `unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
  })();
  try {
    return await Promise.race([work, timer]);
  } finally {
    g.clearTimeout?.(handle);
  }
}

/**
 * Sends a request, trying again (after 200 ms, 400 ms, 800 ms, then every 1 s) while there is no answer or the answer is a
 * 5xx, at most `retries` times. Resolves with the last exchange; never rejects.
 */
export async function exchange(
  fetch: FetchLike,
  url: string,
  init: Omit<Parameters<FetchLike>[1], "signal">,
  options: { readonly timeoutMs: number; readonly retries: number },
): Promise<Exchange> {
  let last: Exchange = { answered: false, reason: "not sent" };
  for (let i = 0; i <= options.retries; i += 1) {
    if (i > 0) await sleep(Math.min(1000, 100 * 2 ** i));
    last = await attempt(fetch, url, init, options.timeoutMs);
    if (last.answered && last.status < 500) return last;
  }
  return last;
}

/**
 * The fetch proxy's exchanges: the primary request to the decided upstream with `fetch` (bodies streamed both
 * ways, a response limit answering 504, an idle limit cutting a stalled body) and the shadow copies (bounded,
 * fire-and-forget, kept alive with `waitUntil`). Web APIs only.
 */
import { MirrorTimeout, type MirrorCounters, type MirrorSettings, mayCopy, openCopy } from "./mirror.js";
import { withoutHopByHop, type HeaderRecord } from "./headers.js";

/** The `fetch` the proxy calls: the global one, a Workers service binding's, or a test's. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Content codings the standard `fetch` decodes itself (its body is plain while the header still names them). */
const DECODED = new Set(["gzip", "x-gzip", "deflate", "br", "zstd"]);

/** What went wrong with the primary exchange: `timeout` answers 504, `unavailable` 502, `gone` the client left. */
export type ExchangeFailure = "timeout" | "unavailable" | "gone";

/**
 * Sends the primary request. Resolves with the upstream's response (its body guarded by the idle limit) or the
 * kind of failure; never rejects.
 *
 * @example
 * ```ts
 * const result = await send(fetch, "http://127.0.0.1:3002/users", { method: "GET", headers }, request.signal, 30_000);
 * ```
 */
export async function send(
  fetchFn: FetchFunction,
  url: string,
  init: RequestInit,
  client: AbortSignal,
  responseMs: number,
): Promise<{ response: Response; controller: AbortController } | { failure: ExchangeFailure; error: unknown }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`upstream response timeout after ${responseMs} ms`));
  }, responseMs);
  const onClientGone = (): void => controller.abort(client.reason);
  if (client.aborted) onClientGone();
  else client.addEventListener("abort", onClientGone, { once: true });
  try {
    const response = await fetchFn(url, { ...init, signal: controller.signal, redirect: "manual" });
    return { response, controller };
  } catch (error) {
    return { failure: client.aborted ? "gone" : timedOut ? "timeout" : "unavailable", error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The headers the client gets from an upstream response: hop-by-hop removed, and `Content-Encoding` and
 * `Content-Length` removed when `fetch` has already decoded the body.
 */
export function responseHeaders(upstream: Headers): Headers {
  const record: HeaderRecord = {};
  upstream.forEach((value, name) => {
    if (name !== "set-cookie") record[name] = value;
  });
  const kept = withoutHopByHop(record);
  const coding = kept["content-encoding"];
  if (typeof coding === "string" && coding.split(",").every((c) => DECODED.has(c.trim().toLowerCase()))) {
    delete kept["content-encoding"];
    delete kept["content-length"];
  }
  const headers = new Headers();
  for (const name of Object.keys(kept)) headers.set(name, kept[name] as string);
  for (const cookie of upstream.getSetCookie()) headers.append("set-cookie", cookie);
  return headers;
}

/**
 * `body` passed through chunk by chunk, read only as the client reads (no buffering), with `done` told once how it
 * ended: `undefined` for the whole body, `"gone"` when the client cancelled, else the failure (a stall longer than
 * `idleMs` cuts the body as a timeout).
 */
export function guardBody(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  controller: AbortController,
  done: (failure?: ExchangeFailure, error?: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let last = performance.now();
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (failure?: ExchangeFailure, error?: unknown): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(failure, error);
  };
  // One timer per body, re-armed for what is left of the limit: a chunk only writes down when it came.
  const arm = (ms: number): void => {
    timer = setTimeout(() => {
      const idle = performance.now() - last;
      if (idle < idleMs) return arm(idleMs - idle);
      const error = new Error(`upstream idle timeout after ${idleMs} ms`);
      finish("timeout", error);
      controller.abort(error);
    }, ms);
  };
  arm(idleMs);
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        try {
          const chunk = await reader.read();
          last = performance.now();
          if (chunk.done) {
            finish();
            out.close();
          } else out.enqueue(chunk.value);
        } catch (error) {
          finish("unavailable", error); // after an idle timeout this is the abort it caused: already counted
          out.error(error);
        }
      },
      cancel(reason) {
        finish("gone", reason);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The copy's body: the chunks the primary read, or `DROPPED` when it was too long or never finished. */
export const DROPPED = Symbol("dropped");
type CopyBody = readonly Uint8Array[] | typeof DROPPED;

/**
 * Taps a request body for a shadow copy: the primary reads `body`; the copy gets the chunks once the primary
 * has read them all, at most `maxBytes` of them (more drops the copy). The tap never pushes back on the primary.
 */
export function tapBody(body: ReadableStream<Uint8Array>, maxBytes: number): { body: ReadableStream<Uint8Array>; copy: Promise<CopyBody>; abandon(): void } {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let settle!: (body: CopyBody) => void;
  const copy = new Promise<CopyBody>((resolve) => (settle = resolve));
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, out) {
      if (bytes <= maxBytes) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) {
          chunks.length = 0;
          settle(DROPPED);
        } else chunks.push(chunk);
      }
      out.enqueue(chunk);
    },
    flush() {
      settle(bytes > maxBytes ? DROPPED : chunks);
    },
  });
  return { body: body.pipeThrough(tap), copy, abandon: () => settle(DROPPED) };
}

/** One shadow copy to send. */
export interface CopyRequest {
  readonly version: string;
  readonly primaryVersion: string;
  readonly method: string;
  /** The path sent (for the result). */
  readonly path: string;
  readonly url: string;
  readonly headers: Headers;
  /** The body's chunks once known; `[]` for a request without a body. */
  readonly body: Promise<CopyBody>;
  /** The request's declared `Content-Length`, `NaN` when absent. */
  readonly declared: number;
}

/**
 * Starts a shadow copy, fire-and-forget: resolves `undefined` when the copy is not sent (method not mirrored,
 * a bound reached: counted), else the handle the primary's status is told to, and the promise of the copy's end
 * (for `waitUntil`). The promise never rejects.
 */
export function startCopy(
  copy: CopyRequest,
  fetchFn: FetchFunction,
  settings: MirrorSettings,
  counters: MirrorCounters,
  warn: (message: string, details: Record<string, unknown>) => void,
): { primaryAnswered(status: number | undefined): void; done: Promise<void> } | undefined {
  if (!mayCopy(copy.method, copy.declared, settings, counters)) return undefined;
  const ledger = openCopy({ version: copy.version, primaryVersion: copy.primaryVersion, method: copy.method, path: copy.path }, settings, counters, warn);
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const failure = new MirrorTimeout(settings.timeoutMs);
    controller.abort(failure);
    ledger.settle(failure);
  }, settings.timeoutMs);
  (timer as { unref?: () => void }).unref?.();
  if (settings.header !== undefined) copy.headers.set(settings.header, "1");
  const run = async (): Promise<void> => {
    const body = await copy.body;
    if (body === DROPPED) return ledger.settle(undefined, true);
    if (ledger.ended) return;
    try {
      const init: RequestInit = { method: copy.method, headers: copy.headers, signal: controller.signal, redirect: "manual" };
      if (body.length > 0) init.body = concat(body);
      const response = await fetchFn(copy.url, init);
      ledger.answered(response.status);
      if (response.body !== null) {
        const reader = response.body.getReader(); // the mirror's answer is read and discarded
        while (!(await reader.read()).done);
      }
      ledger.settle();
    } catch (error) {
      ledger.settle(controller.signal.aborted ? controller.signal.reason : error);
    } finally {
      clearTimeout(timer);
    }
  };
  return { primaryAnswered: (status) => ledger.primaryAnswered(status), done: run().catch(() => undefined) };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

// turnout/dashboard — a live web page for a rollout, with authorised controls. Framework-neutral: a node:http
// `(req, res)` handler and a fetch-style `(Request) => Response` handler over one implementation.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RolloutPlan, Rollout, RolloutEvent, RolloutStatus } from "../rollout/types.js";
import type { Router, StatsReader } from "../types.js";
import { DASHBOARD_PAGE } from "./dashboard-page.js";

/** A fleet member as the dashboard shows it. */
export interface DashboardInstance {
  /** The instance's name, unique in the fleet, as your `fleet` function returns it (e.g. `"web-1"`). */
  readonly id: string;
  /**
   * The config revision it applies, when the fleet reports it (a Redis fleet's instances report it with their stats);
   * the page marks an instance whose revision is not the router's as behind.
   */
  readonly revision?: number;
  /** When it was last heard from (epoch ms). */
  readonly lastSeen: number;
}

/** A control call that was carried out (or refused by the rollout), and who made it. */
export interface DashboardControlEvent {
  /** When the control was received (epoch ms, by the dashboard's `clock`). */
  readonly at: number;
  /** Who acted: the token's name or what the verifier returned. */
  readonly actor: string;
  /** The control that was called: `"pause"`, `"resume"`, `"promote"`, `"abort"` or `"weight"`. */
  readonly action: DashboardAction;
  /** The canary weight asked for, in percent (0–100); present only for the `"weight"` action. */
  readonly weight?: number;
  /** Whether the rollout (or router) accepted it. */
  readonly accepted: boolean;
  /** Why it was refused, e.g. `"no rollout to control"` or the rollout's own reason; present only when `accepted` is false. */
  readonly rejection?: string;
}

/** The controls. */
export const DashboardAction = {
  /** Pauses the rollout: holds the current step (`rollout.pause()`). */
  Pause: "pause",
  /** Resumes a paused rollout (`rollout.resume()`). */
  Resume: "resume",
  /** Moves the rollout to its next step now (`rollout.promote()`). */
  Promote: "promote",
  /** Aborts the rollout back to the stable version (`rollout.abort(…)`, with the reason `"aborted from the dashboard by <actor>"`). */
  Abort: "abort",
  /** Sets the canary's weight on the router (`setCanaryPercent`) to the `weight` sent, 0–100. */
  Weight: "weight",
} as const;
/** One of the {@link DashboardAction} values. */
export type DashboardAction = (typeof DashboardAction)[keyof typeof DashboardAction];

/** A control call as a {@link DashboardSource} receives it: the action, who acted, and the weight for `"weight"`. */
export interface DashboardControlCall {
  /** The control. */
  readonly action: DashboardAction;
  /** Who acted: the token's name or what the verifier returned. */
  readonly actor: string;
  /** The canary weight asked for, in percent (0–100); present only for the `"weight"` action. */
  readonly weight?: number;
}

/**
 * Where a dashboard reads a rollout that lives elsewhere and sends its controls, asynchronously: a fleet's rollout
 * in Redis (`store.dashboardSource(plan)` from `turnout/redis`), or your own. With a `source`, the dashboard reads
 * everything it shows from it (the `rollout`, `router`, `stats` and `fleet` options are not used) and sends every
 * control to it.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { source: store.dashboardSource(plan), plan, tokens: { alice: process.env.ALICE_TOKEN! } };
 * ```
 */
export interface DashboardSource {
  /** The rollout's status now, or null when there is none. */
  status(): Promise<RolloutStatus | null>;
  /** The rollout's most recent events, oldest first (the dashboard shows the last 50). */
  timeline?(): Promise<readonly RolloutEvent[]>;
  /** The config revision and split, or null when there is no config. */
  router?(): Promise<{
    /** The stored config's revision. */
    readonly revision: number;
    /** Its split: percent per version. */
    readonly split: Readonly<Record<string, number>>;
  } | null>;
  /** The per-version figures the charts read (over the last `chartWindowMs`), or null when there are none. */
  stats?(): Promise<StatsReader | null>;
  /** The fleet's instances. */
  fleet?(): Promise<readonly DashboardInstance[]>;
  /** Carries out a control; resolves with whether it was accepted and, if not, why. Should not reject (a rejection counts as refused). */
  control(call: DashboardControlCall): Promise<{
    /** Whether the control was carried out. */
    readonly accepted: boolean;
    /** Why not, when it was refused. */
    readonly rejection?: string;
  }>;
}

/**
 * Options of {@link createDashboard}.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { rollout, router, stats, plan, tokens: { alice: process.env.ALICE_TOKEN! } };
 * ```
 */
export interface DashboardOptions {
  /** A rollout read and steered asynchronously (a fleet's, in Redis): replaces `rollout`, `router`, `stats` and `fleet`. */
  readonly source?: DashboardSource;
  /** The rollout to show and steer. */
  readonly rollout?: Rollout;
  /** Its plan, to list the steps. */
  readonly plan?: RolloutPlan;
  /** The router: split, revision, and the weight control (`setCanaryPercent`). */
  readonly router?: Router;
  /** Per-version request rate, error rate and p99 (over the last `chartWindowMs`). */
  readonly stats?: StatsReader;
  /** The fleet's instances. */
  readonly fleet?: () => readonly DashboardInstance[] | Promise<readonly DashboardInstance[]>;
  /** Bearer tokens allowed to act, by the name recorded as the actor. Without tokens or `verify`, the page is read-only. */
  readonly tokens?: Readonly<Record<string, string>>;
  /** Or a verifier: given the bearer token, the actor's name, or undefined to refuse. */
  readonly verify?: (token: string) => string | undefined | Promise<string | undefined>;
  /** Origins allowed to send controls besides the page's own (`http(s)://<Host>`). */
  readonly origins?: readonly string[];
  /** Controls per actor per minute. Default 20. */
  readonly rateLimit?: number;
  /** How often the state is pushed to open pages (ms). Default 1000. */
  readonly intervalMs?: number;
  /** The span the charts' figures are computed over (ms). Default 60 000. */
  readonly chartWindowMs?: number;
  /** Told of every control carried out. */
  readonly onControl?: (event: DashboardControlEvent) => void;
  /** Epoch ms. Default `Date.now`. */
  readonly clock?: () => number;
}

/** What a dashboard serves: `GET /` the page, `GET /state` JSON, `GET /events` Server-Sent Events, `POST /control`. */
export interface Dashboard {
  /** node:http, Express and Koa (`ctx.req`, `ctx.res`): answers every request under the mount point. */
  node(req: IncomingMessage, res: ServerResponse): void;
  /** fetch-style apps (Hono, Bun, Deno, Workers-like runtimes): `path` is the part after the mount point. */
  fetch(request: Request): Promise<Response>;
  /** The state the page shows. */
  state(): Promise<DashboardState>;
  /** Ends the open event streams and the timer. */
  close(): void;
}

/** The JSON the page receives. */
export interface DashboardState {
  /** When this state was taken (epoch ms, by the dashboard's `clock`). */
  readonly at: number;
  /** True when the dashboard has neither `tokens` nor `verify`: controls are refused with `403`. */
  readonly readOnly: boolean;
  /** The rollout's status, or `null` without a `rollout` option (or a `source` that has none). */
  readonly rollout: RolloutStatus | null;
  /** The plan's steps, in order; empty without a `plan` option. */
  readonly steps: readonly {
    /** The step's canary weight, in percent (0 when the step sets none). */
    readonly weight: number;
    /** The step's label, when it has one. */
    readonly name?: string;
  }[];
  /** The rollout's most recent events (up to 50, oldest first) since the dashboard was created. */
  readonly timeline: readonly RolloutEvent[];
  /** The router's revision and split, or `null` without a `router` option. */
  readonly router: {
    /** The router's config revision. */
    readonly revision: number;
    /** The configured relative weights by version, e.g. `{ v1: 90, v2: 10 }`; `{}` when the config has no split. */
    readonly split: Readonly<Record<string, number>>;
  } | null;
  /** Figures per version over the last `chartWindowMs`, by version name; empty without a `stats` option. */
  readonly versions: Readonly<
    Record<
      string,
      {
        /** Requests per second. */
        readonly rate: number;
        /** Failed requests / requests, from 0 to 1 (0 without requests). */
        readonly errorRate: number;
        /** 99th-percentile latency in ms, or `null` when no latency was recorded. */
        readonly p99: number | null;
        /** Requests recorded. */
        readonly requests: number;
      }
    >
  >;
  /** The fleet's instances; empty without a `fleet` option (or a `source` with a fleet). */
  readonly fleet: readonly (DashboardInstance & {
    /** Milliseconds since the instance was last heard from. */
    readonly staleMs: number;
  })[];
  /** The most recent control calls (up to 50, oldest first), accepted or refused. */
  readonly controls: readonly DashboardControlEvent[];
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const MAX_BODY = 1024;
const SKEW_MS = 60_000;

/**
 * A dashboard for a rollout: the page, its live state pushed with Server-Sent Events, and controls that need a
 * bearer token, are checked for Origin, rate limited, refused when replayed, and recorded with who acted.
 *
 * @example
 * ```ts compile-only
 * import http from "node:http";
 * import { createDashboard } from "turnout/dashboard";
 * const dashboard = createDashboard({ rollout, router, stats, plan, tokens: { alice: process.env.ALICE_TOKEN! } });
 * http.createServer((req, res) => dashboard.node(req, res)).listen(8080);
 * ```
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const clock = options.clock ?? Date.now;
  const limit = options.rateLimit ?? 20;
  const tokens = Object.entries(options.tokens ?? {});
  const readOnly = tokens.length === 0 && options.verify === undefined;
  const timeline: RolloutEvent[] = [];
  const controls: DashboardControlEvent[] = [];
  const seen = new Map<string, number>();
  const calls = new Map<string, number[]>();
  const streams = new Set<(chunk: string) => void>();
  const unsubscribe = (options.source === undefined ? options.rollout : undefined)?.subscribe((event) => {
    push(timeline, event, 50);
    void broadcast();
  });
  const timer = setInterval(() => void broadcast(), options.intervalMs ?? 1000);
  (timer as { unref?: () => void }).unref?.();

  async function state(): Promise<DashboardState> {
    const at = clock();
    const source = options.source;
    const [rollout, router, stats, instances, events] =
      source === undefined
        ? [
            options.rollout?.status() ?? null,
            options.router === undefined ? null : { revision: options.router.revision, split: options.router.config.split ?? {} },
            options.stats ?? null,
            options.fleet === undefined ? [] : await options.fleet(),
            timeline,
          ]
        : await Promise.all([
            source.status(),
            source.router?.() ?? null,
            source.stats?.() ?? null,
            source.fleet?.() ?? [],
            source.timeline === undefined ? [] : source.timeline().then((list) => list.slice(-50)),
          ]);
    const windowMs = options.chartWindowMs ?? 60_000;
    const versions: Record<string, { rate: number; errorRate: number; p99: number | null; requests: number }> = {};
    if (stats !== null) {
      const w = stats.window({ windowMs });
      const seconds = Math.max(1, (w.to - w.from) / 1000);
      for (const [name, v] of Object.entries(w.versions)) {
        versions[name] = { rate: v.requests / seconds, errorRate: v.errorRate, p99: v.latency?.p99 ?? null, requests: v.requests };
      }
    }
    const fleet = instances.map((i) => ({ ...i, staleMs: Math.max(0, at - i.lastSeen) }));
    return {
      at,
      readOnly,
      rollout,
      steps: (options.plan?.steps ?? []).map((s) => ({ weight: s.weight ?? 0, ...(s.name === undefined ? {} : { name: s.name }) })),
      timeline: [...events],
      router,
      versions,
      fleet,
      controls: [...controls],
    };
  }

  async function broadcast(): Promise<void> {
    if (streams.size === 0) return;
    let chunk: string;
    try {
      chunk = `data: ${JSON.stringify(await state())}\n\n`;
    } catch {
      return;
    }
    for (const send of streams) send(chunk);
  }

  async function actorOf(authorization: string | undefined): Promise<string | undefined> {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? "");
    if (match === null) return undefined;
    const token = match[1] as string;
    let actor: string | undefined;
    for (const [name, expected] of tokens) if (sameText(token, expected)) actor = name;
    if (actor === undefined && options.verify !== undefined) {
      try {
        actor = await options.verify(token);
      } catch {
        actor = undefined;
      }
    }
    return typeof actor === "string" && actor !== "" ? actor : undefined;
  }

  async function control(header: (name: string) => string | undefined, body: string): Promise<Answer> {
    if (readOnly) return json(403, { error: "read_only", message: "this dashboard has no tokens: it is read-only" });
    const actor = await actorOf(header("authorization"));
    if (actor === undefined) return json(401, { error: "unauthorized", message: "send Authorization: Bearer <token>" });
    const origin = header("origin");
    const host = header("host");
    const allowed = new Set([...(options.origins ?? []), ...(host === undefined ? [] : [`http://${host}`, `https://${host}`])]);
    if (origin !== undefined && !allowed.has(origin)) return json(403, { error: "forbidden_origin", message: `origin ${origin} may not send controls` });
    if (!/^application\/json\b/i.test(header("content-type") ?? "")) return json(415, { error: "unsupported_media_type", message: "send application/json" });
    const now = clock();
    const recent = (calls.get(actor) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= limit) return json(429, { error: "rate_limited", message: `at most ${limit} controls a minute` });
    recent.push(now);
    calls.set(actor, recent);
    let call: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new TypeError("not an object");
      call = parsed as Record<string, unknown>;
    } catch {
      return json(400, { error: "malformed", message: "expected a JSON object" });
    }
    const { action, weight, nonce, at } = call;
    const actions: readonly unknown[] = Object.values(DashboardAction);
    if (!actions.includes(action) || typeof nonce !== "string" || !NONCE.test(nonce) || typeof at !== "number" || !Number.isFinite(at)) {
      return json(400, { error: "malformed", message: "expected { action, nonce (16-64 URL-safe characters), at (epoch ms) }" });
    }
    if (action === DashboardAction.Weight && (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0 || weight > 100)) {
      return json(400, { error: "malformed", message: "weight: expected a number from 0 to 100" });
    }
    for (const [key, until] of seen) if (until < now) seen.delete(key);
    if (Math.abs(now - at) > SKEW_MS || seen.has(nonce))
      return json(409, { error: "replayed", message: "stale or repeated call: send a fresh nonce and the current time" });
    seen.set(nonce, now + 2 * SKEW_MS);
    const result = await act(action as DashboardAction, weight as number | undefined, actor);
    const event: DashboardControlEvent = {
      at: now,
      actor,
      action: action as DashboardAction,
      ...(action === DashboardAction.Weight ? { weight: weight as number } : {}),
      accepted: result.accepted,
      ...(result.rejection === undefined ? {} : { rejection: result.rejection }),
    };
    push(controls, event, 50);
    try {
      options.onControl?.(event);
    } catch {
      // A failing listener does not undo a control that was carried out.
    }
    void broadcast();
    return json(result.accepted ? 200 : 409, event);
  }

  async function act(action: DashboardAction, weight: number | undefined, actor: string): Promise<{ accepted: boolean; rejection?: string }> {
    try {
      if (options.source !== undefined) {
        const result = await options.source.control(action === DashboardAction.Weight ? { action, actor, weight: weight as number } : { action, actor });
        return result.accepted ? { accepted: true } : { accepted: false, rejection: result.rejection ?? "refused" };
      }
      if (action === DashboardAction.Weight) {
        if (options.router === undefined) return { accepted: false, rejection: "no router to set the weight on" };
        options.router.setCanaryPercent(weight as number);
        return { accepted: true };
      }
      const rollout = options.rollout;
      if (rollout === undefined) return { accepted: false, rejection: "no rollout to control" };
      const result = action === DashboardAction.Abort ? rollout.abort(`aborted from the dashboard by ${actor}`) : rollout[action]();
      return result.accepted ? { accepted: true } : { accepted: false, rejection: result.rejection ?? "refused" };
    } catch (error) {
      return { accepted: false, rejection: error instanceof Error ? error.message : String(error) };
    }
  }

  async function answer(method: string, path: string, header: (name: string) => string | undefined, body: () => Promise<string>): Promise<Answer | "events"> {
    const route = path.replace(/\?.*$/, "").replace(/\/+$/, "") || "/";
    if (method === "GET" && route === "/") return { status: 200, type: "text/html; charset=utf-8", body: DASHBOARD_PAGE };
    if (method === "GET" && route === "/state") return json(200, await state());
    if (method === "GET" && route === "/events") return "events";
    if (method === "POST" && route === "/control") return control(header, await body());
    return json(route === "/control" || route === "/" || route === "/state" || route === "/events" ? 405 : 404, { error: "not_found" });
  }

  return {
    state,
    close() {
      clearInterval(timer);
      unsubscribe?.();
      for (const send of streams) send("");
      streams.clear();
    },
    node(req, res) {
      const header = (name: string): string | undefined => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const body = (): Promise<string> =>
        new Promise((resolve) => {
          let text = "";
          req.setEncoding("utf8");
          req.on("data", (chunk: string) => {
            text += chunk;
            if (text.length > MAX_BODY) req.destroy();
          });
          req.on("end", () => resolve(text));
          req.on("close", () => resolve(text));
        });
      void answer(req.method ?? "GET", req.url ?? "/", header, body).then(
        async (result) => {
          if (result === "events") {
            res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
            const send = (chunk: string): void => {
              if (chunk === "") res.end();
              else res.write(chunk);
            };
            streams.add(send);
            req.on("close", () => streams.delete(send));
            res.write(`data: ${JSON.stringify(await state())}\n\n`);
            return;
          }
          res.writeHead(result.status, { "content-type": result.type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
          res.end(result.body);
        },
        () => {
          if (!res.headersSent) res.writeHead(500);
          res.end();
        },
      );
    },
    async fetch(request) {
      const url = new URL(request.url);
      const header = (name: string): string | undefined => request.headers.get(name) ?? undefined;
      const result = await answer(request.method, url.pathname + url.search, header, async () => (await request.text()).slice(0, MAX_BODY + 1));
      if (result === "events") {
        let send: ((chunk: string) => void) | undefined;
        const first = `data: ${JSON.stringify(await state())}\n\n`;
        const stream = new ReadableStream<string>({
          start(controller) {
            controller.enqueue(first);
            send = (chunk) => (chunk === "" ? controller.close() : controller.enqueue(chunk));
            streams.add(send);
          },
          cancel() {
            if (send !== undefined) streams.delete(send);
          },
        });
        return new Response(stream.pipeThrough(new TextEncoderStream()), { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
      }
      return new Response(result.body, {
        status: result.status,
        headers: { "content-type": result.type, "cache-control": "no-store", "x-content-type-options": "nosniff" },
      });
    },
  };
}

function json(status: number, value: unknown): Answer {
  return { status, type: "application/json", body: JSON.stringify(value) };
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.shift();
}

/** Compares two strings in time that depends on the expected one's length only. */
function sameText(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  return difference === 0;
}

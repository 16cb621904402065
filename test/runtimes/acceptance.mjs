// @ts-check
// The acceptance script every runtime runs (Node, Bun, Deno, workerd, Chromium): plain ESM with no imports, so each
// host loads it as it is and hands it the built core and turnout/fetch. It replays the bucketing golden cases and
// drives a small fetch app with Web-standard Request/Response objects, once on the core's decide and once on
// turnout/fetch, and answers everything it saw as one JSON text: the runtimes' texts must be identical.

/**
 * @typedef {import("../../src/index.js")} Core
 * @typedef {{ configs: import("../../src/index.js").RouterConfig[]; cases: { key: string; salt: string; seed: number; hash: number; bucket: number; config: number; version: string }[] }} Golden
 * @typedef {import("../../src/integrations/fetch.js")} Fetch
 * @typedef {(request: Request) => Promise<Response>} FetchHandler
 */

/** What the running JavaScript is and whether it compiles code from strings. Not compared between runtimes. */
export function environment() {
  const g = /** @type {Record<string, any>} */ (globalThis);
  const agent = typeof g["navigator"] === "object" && g["navigator"] !== null ? String(g["navigator"].userAgent) : "";
  const runtime =
    g["Bun"] !== undefined
      ? `bun ${g["Bun"].version}`
      : g["Deno"] !== undefined
        ? `deno ${g["Deno"].version.deno}`
        : agent === "Cloudflare-Workers"
          ? "workerd"
          : /HeadlessChrome\/([\d.]+)/.test(agent)
            ? `chromium ${/HeadlessChrome\/([\d.]+)/.exec(agent)?.[1]}`
            : g["process"]?.versions?.node !== undefined
              ? `node ${g["process"].versions.node}`
              : `unknown (${agent})`;
  // Whether a Request keeps a Cookie header it is built with (browsers drop it: a forbidden request header).
  const requestCookies = new Request("http://turnout.test/", { headers: { cookie: "a=b" } }).headers.has("cookie");
  let codegen = true;
  try {
    new Function("return 1")();
  } catch {
    codegen = false;
  }
  return { runtime, codegen, requestCookies };
}

/**
 * Replays every golden case: seed, hash and bucket from the hash functions, the version from a router with code
 * generation (the default) and from one without. Routers are built per config and salt, as a fleet would.
 *
 * @param {Core} core
 * @param {Golden} golden
 * @param {import("../../src/index.js").Logger} logger
 */
function replayGolden(core, golden, logger) {
  /** @type {Map<string, [import("../../src/index.js").Router, import("../../src/index.js").Router]>} */
  const routers = new Map();
  /** @type {string[]} */
  const mismatches = [];
  const rows = golden.cases.map((c) => {
    const seed = core.seedOf(c.salt) >>> 0;
    const hash = core.murmur3(c.key, seed);
    const bucket = core.bucketOf(c.key, seed);
    const id = `${c.config}/${c.salt}`;
    let pair = routers.get(id);
    if (pair === undefined) {
      const config = { ...golden.configs[c.config], salt: c.salt };
      pair = [core.createRouter(/** @type {any} */ (config), { logger }), core.createRouter(/** @type {any} */ (config), { logger, codegen: false })];
      routers.set(id, pair);
    }
    const version = pair[0].decide({ key: c.key }).version;
    const generic = pair[1].decide({ key: c.key }).version;
    if (seed !== c.seed || hash !== c.hash || bucket !== c.bucket || version !== c.version || generic !== c.version) {
      mismatches.push(`${JSON.stringify(c.key.slice(0, 20))}/${JSON.stringify(c.salt.slice(0, 10))}: ${seed} ${hash} ${bucket} ${version} ${generic}`);
    }
    return [seed, hash, bucket, version, generic];
  });
  return { cases: rows.length, mismatches, rows };
}

/** The fetch app's routing: sticky users, an override, explicit versions, a deprecated stable and a
 * deprecated v3 with a sunset. */
export const APP_CONFIG = Object.freeze({
  versions: ["v1", "v2", "v3"],
  stable: "v1",
  canary: "v2",
  split: { v1: 70, v2: 30 },
  salt: "runtimes",
  stickiness: /** @type {const} */ (["header:x-user-id", "cookie:uid"]),
  keyless: /** @type {const} */ ("stable"),
  overrides: [{ header: "x-canary", equals: "always", version: "v2" }],
  explicit: { path: { prefix: "/api" }, header: "x-api-version", query: "version" },
  lifecycle: {
    v1: { deprecated: "2026-01-01T00:00:00Z", successor: "v2", successorUrl: "https://api.example.com/v2/" },
    v3: { deprecated: "2026-03-01T12:00:00Z", sunset: "2030-06-30T00:00:00Z", successor: "v2" },
  },
});

/**
 * A fetch handler routed by the core's `decide` on a request it builds by hand from the Web `Request`.
 *
 * @param {import("../../src/index.js").Router} router
 * @returns {FetchHandler}
 */
function coreApp(router) {
  return async (request) => {
    const url = new URL(request.url);
    const decision = router.decide({
      headers: request.headers,
      path: url.pathname,
      query: url.searchParams,
      pin: request.headers.get("x-turnout-pin") ?? undefined,
    });
    const headers = new Headers({
      "content-type": "application/json",
      "x-turnout-version": decision.version,
      "x-turnout-reason": decision.reason,
      "x-turnout-pin": decision.pin,
    });
    const lifecycle = decision.lifecycle;
    if (lifecycle?.deprecatedAt !== undefined) headers.set("deprecation", `@${Math.floor(lifecycle.deprecatedAt / 1000)}`);
    if (lifecycle?.sunsetAt !== undefined) headers.set("sunset", new Date(lifecycle.sunsetAt).toUTCString());
    return new Response(JSON.stringify({ served: decision.version, path: url.pathname, decision }), { status: 200, headers });
  };
}

/**
 * Sends the scenario's requests through `app` and records each answer: status, every header, the body.
 *
 * @param {FetchHandler} app
 * @param {import("../../src/index.js").Router} router the app's router, whose weights the scenario changes
 * @param {Core} core
 */
async function exchange(app, router, core) {
  /** @type {unknown[]} */
  const log = [];
  const send = sender(app, log);
  const users = Array.from({ length: 12 }, (_, i) => `user-${i * 37}`);

  // Sticky keys: the same user, asked twice, from the header and from the cookie, lands on one version. Browsers
  // drop a Cookie header from a Request they construct (a forbidden request header), so the cookie goes to the
  // app's router in a Headers object of its own, which every runtime keeps.
  for (const user of users) {
    await send(`sticky header ${user}`, "/orders", { "x-user-id": user });
    await send(`sticky header again ${user}`, "/orders", { "x-user-id": user });
    const decision = router.decide({ headers: new Headers({ cookie: `theme=dark; uid=${user}` }), path: "/orders" });
    log.push({ label: `sticky cookie ${user}`, status: 200, headers: [], body: JSON.stringify({ served: decision.version, path: "/orders", decision }) });
  }
  await send("no key: the stable", "/orders");
  // An override beats the weights.
  await send("override", "/orders", { "x-user-id": users[0] ?? "", "x-canary": "always" });
  // Explicit versions from the path, the query and a header, and one that is not live.
  await send("explicit path", "/api/v3/orders", { "x-user-id": users[1] ?? "" });
  await send("explicit query", "/orders?version=2");
  await send("explicit header", "/orders", { "x-api-version": "v3" });
  await send("explicit unknown", "/orders", { "x-api-version": "9" });

  // A pin carried across a weight change: a canary user keeps v2 with its pin after the canary shrinks to 1 %,
  // and without the pin follows the new weights.
  const canaryUser = users.find((user) => router.decide({ headers: { "x-user-id": user } }).version === "v2" && bucketAtLeast(core, user, 100));
  if (canaryUser === undefined) throw new Error("no user of the scenario is on the canary");
  const first = await send("pin: first request", "/checkout", { "x-user-id": canaryUser });
  const pin = first.headers.find(([name]) => name === "x-turnout-pin")?.[1] ?? "";
  router.setCanaryPercent(1);
  await send("pin: after the weight change, with the pin", "/checkout", { "x-user-id": canaryUser, "x-turnout-pin": pin });
  await send("pin: after the weight change, without the pin", "/checkout", { "x-user-id": canaryUser });
  await send("pin: garbled", "/checkout", { "x-user-id": canaryUser, "x-turnout-pin": `${pin}x` });
  return log;
}

/**
 * A function that sends one request through `app` and appends the answer to `log`: status, every header, the body.
 *
 * @param {FetchHandler} app
 * @param {unknown[]} log
 */
function sender(app, log) {
  /** @param {string} label @param {string} path @param {Record<string, string>} [headers] @param {RequestInit} [init] */
  return async (label, path, headers = {}, init = {}) => {
    const response = await app(new Request(`http://turnout.test${path}`, { ...init, headers }));
    const record = { label, status: response.status, headers: [...response.headers], body: await response.text() };
    log.push(record);
    return record;
  };
}

/** The instant the `turnout/fetch` apps live at: before the v3 sunset, and after it. */
const BEFORE_SUNSET = Date.parse("2029-01-01T00:00:00Z");
const AFTER_SUNSET = Date.parse("2031-01-01T00:00:00Z");

/**
 * The same app on `turnout/fetch`: per-version handlers, turnout's headers on every response (one with immutable
 * headers, as `fetch` gives them), a validated body for v2, and turnout's own 404 and 410 answers.
 *
 * @param {Fetch} fetchModule
 * @param {import("../../src/index.js").Router} router
 * @param {number} now
 * @param {import("../../src/index.js").Logger} logger
 * @returns {FetchHandler}
 */
function turnoutApp(fetchModule, router, now, logger) {
  const { turnout, versioned, decisionOf } = fetchModule;
  /** @param {string} version */
  const handler = (version) => async (/** @type {Request} */ request) => {
    const url = new URL(request.url);
    // Response.redirect's headers are immutable, as those of a response from fetch are.
    if (url.pathname.endsWith("/moved")) return Response.redirect(`https://${version}.example.com/elsewhere`, 302);
    // Not Response.json: Bun's adds "; charset=utf-8" to its content type, the other runtimes do not.
    const body = { served: version, path: url.pathname, body: request.body === null ? null : await request.text(), decision: decisionOf(request) ?? null };
    return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  };
  /** v2 takes a body with a string `name`, or none. */
  const named = (/** @type {unknown} */ body) =>
    body === undefined || (typeof body === "object" && body !== null && typeof (/** @type {Record<string, unknown>} */ (body)["name"]) === "string")
      ? true
      : [{ path: "name", message: "a string is required" }];
  const validate = { v2: named };
  return turnout(router, versioned({ v1: handler("v1"), v2: handler("v2"), v3: handler("v3") }, { validate }), { clock: () => now, logger });
}

/**
 * What only `turnout/fetch` answers: immutable headers, validation, unknown versions, a sunset version.
 *
 * @param {Fetch} fetchModule
 * @param {Core} core
 * @param {import("../../src/index.js").Logger} logger
 */
async function turnoutAnswers(fetchModule, core, logger) {
  /** @type {unknown[]} */
  const log = [];
  const send = sender(turnoutApp(fetchModule, core.createRouter(/** @type {any} */ (APP_CONFIG), { logger }), BEFORE_SUNSET, logger), log);
  await send("immutable headers", "/api/v3/moved");
  await send("valid body", "/api/v2/users", { "content-type": "application/json" }, { method: "POST", body: JSON.stringify({ name: "Ada" }) });
  await send("invalid body", "/api/v2/users", { "content-type": "application/json" }, { method: "POST", body: JSON.stringify({ name: 42 }) });
  await send("body for a version without a validator", "/api/v3/users", { "content-type": "application/json" }, { method: "POST", body: "{}" });
  await send("unknown version", "/api/v9/users");
  const late = sender(turnoutApp(fetchModule, core.createRouter(/** @type {any} */ (APP_CONFIG), { logger }), AFTER_SUNSET, logger), log);
  await late("after the sunset: gone", "/api/v3/users");
  await late("after the sunset: the others still served", "/api/v2/users");
  return log;
}

/** True when `user`'s bucket under the app's salt is at or above `floor` (so a 1 % canary no longer takes it). */
function bucketAtLeast(/** @type {Core} */ core, /** @type {string} */ user, /** @type {number} */ floor) {
  return core.bucketOf(user, core.seedOf(APP_CONFIG.salt)) >= floor;
}

/**
 * Everything the runtime computed, as one JSON text (one value a line, so a difference reads as a line diff).
 *
 * @param {{ core: Core; golden: Golden; fetch: Fetch }} input the built core, the golden cases, `turnout/fetch`
 * @returns {Promise<string>}
 */
export async function acceptance({ core, golden, fetch }) {
  // Every fault a router reports (a code generation failure included) lands here, and must not happen anywhere.
  /** @type {string[]} */
  const faults = [];
  const note = (/** @type {unknown[]} */ ...args) => void faults.push(args.map(String).join(" "));
  const logger = { warn: note, error: note };
  const router = core.createRouter(/** @type {any} */ (APP_CONFIG), { logger });
  const generic = core.createRouter(/** @type {any} */ (APP_CONFIG), { logger, codegen: false });
  const fetchRouter = core.createRouter(/** @type {any} */ (APP_CONFIG), { logger });
  const result = {
    golden: replayGolden(core, golden, logger),
    app: await exchange(coreApp(router), router, core),
    generic: await exchange(coreApp(generic), generic, core),
    turnoutFetch: await exchange(turnoutApp(fetch, fetchRouter, BEFORE_SUNSET, logger), fetchRouter, core),
    turnoutFetchOnly: await turnoutAnswers(fetch, core, logger),
    faults,
  };
  return JSON.stringify(result, null, 1);
}

/**
 * The `turnout/fetch` app a runtime's own HTTP server serves (Bun.serve, Deno.serve, a Worker), so that turnout
 * meets the `Request` objects the runtime builds from the wire. `GET /__faults` answers what the routers logged.
 *
 * @param {Core} core
 * @param {Fetch} fetchModule
 * @returns {FetchHandler}
 */
export function servedApp(core, fetchModule) {
  /** @type {string[]} */
  const faults = [];
  const note = (/** @type {unknown[]} */ ...args) => void faults.push(args.map(String).join(" "));
  const logger = { warn: note, error: note };
  const app = turnoutApp(fetchModule, core.createRouter(/** @type {any} */ (APP_CONFIG), { logger }), BEFORE_SUNSET, logger);
  return async (request) => (new URL(request.url).pathname === "/__faults" ? new Response(JSON.stringify(faults)) : app(request));
}

/** @typedef {{ label: string; path: string; method?: string; headers?: Record<string, string>; body?: string }} HttpRequest */

/** The requests sent to a served app, over HTTP, and to the same app in Node's own process. */
export const HTTP_SCENARIO = /** @type {readonly HttpRequest[]} */ ([
  ...["user-0", "user-37", "user-74", "user-111"].map((user) => ({ label: `sticky ${user}`, path: "/orders", headers: { "x-user-id": user } })),
  { label: "sticky cookie", path: "/orders", headers: { cookie: "theme=dark; uid=user-37" } },
  { label: "override", path: "/orders", headers: { "x-user-id": "user-0", "x-canary": "always" } },
  { label: "explicit path", path: "/api/v3/orders" },
  { label: "explicit query", path: "/orders?version=2&page=1" },
  { label: "unknown version", path: "/orders", headers: { "x-api-version": "9" } },
  { label: "immutable headers", path: "/api/v3/moved" },
  { label: "valid body", path: "/api/v2/users", method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' },
  { label: "invalid body", path: "/api/v2/users", method: "POST", headers: { "content-type": "application/json" }, body: '{"name":42}' },
  { label: "pin", path: "/checkout", headers: { "x-user-id": "user-0", "x-turnout-pin": "v2~1~0b562b113107e43b" } },
]);
Object.freeze(HTTP_SCENARIO);

/** Headers a server adds on its own, different in every runtime: left out of the comparison. */
const TRANSPORT_HEADERS = new Set(["date", "content-length", "connection", "keep-alive", "transfer-encoding", "server"]);

/**
 * A response as the comparison sees it: status, the headers turnout and the app set, the body.
 *
 * @param {string} label
 * @param {Response} response
 */
export async function recordResponse(label, response) {
  return { label, status: response.status, headers: [...response.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)), body: await response.text() };
}

/**
 * `createFetchProxy` in front of the upstreams, reached under `/proxied/…`, with the turnout/fetch app elsewhere.
 *
 * @param {Core} core
 * @param {Fetch} fetchModule
 * @param {Record<string, string>} upstreams the version → origin map of the upstream servers
 * @returns {FetchHandler}
 */
export function servedProxy(core, fetchModule, upstreams) {
  const app = servedApp(core, fetchModule);
  const proxy = fetchModule.createFetchProxy(core.createRouter(/** @type {any} */ (APP_CONFIG)), { upstreams, clock: () => BEFORE_SUNSET });
  return async (request) => (new URL(request.url).pathname.startsWith("/proxied/") ? proxy(request) : app(request));
}

/** The requests sent through the proxy. */
export const PROXY_SCENARIO = /** @type {readonly HttpRequest[]} */ ([
  { label: "proxied sticky", path: "/proxied/orders", headers: { "x-user-id": "user-37" } },
  { label: "proxied override", path: "/proxied/orders?page=2", headers: { "x-user-id": "user-0", "x-canary": "always" } },
  { label: "proxied explicit", path: "/proxied/orders", headers: { "x-api-version": "v3" } },
  {
    label: "proxied body",
    path: "/proxied/users",
    method: "POST",
    headers: { "content-type": "application/json", "x-api-version": "2" },
    body: '{"name":"Ada"}',
  },
  { label: "proxied unknown version", path: "/proxied/orders", headers: { "x-api-version": "9" } },
]);
Object.freeze(PROXY_SCENARIO);

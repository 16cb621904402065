/**
 * `decide` against its floor, the bare hash of the same keys, in the same process.
 *
 *   npm run bench            (all suites)   ·   tsx bench/decide.ts [--only=keyed-short,setup] [--quick]
 *
 * Each scenario runs in its own process with one router, as an application has: the JIT sees one config, and
 * nothing measured in one scenario can make `decide` polymorphic in another. Requests are built once per key
 * (a header object shaped like Node's), as an HTTP server hands them over; the floor hashes the same keys.
 *
 * Targets: keyed `decide` ≤ 1.5× the floor and 0 bytes per call; `createRouter`/`update` of 100 rules
 * under 1 ms.
 */
import { nodePinSigner } from "../src/integrations/pin-signer.js";
import { createRouter } from "../src/router/index.js";
import type { Decision, RouteRequest, Router, RouterConfig } from "../src/types.js";
import { floorBucket } from "./lib/floor.js";
import { type BenchCase, type BenchGroup, runSuite, type ScenarioPlan } from "./lib/harness.js";
import { cycle, KEY_SETS, type KeySetName, shortKeys, splitmix32 } from "./lib/keys.js";

/** Headers as Node's parser gives them (lower-case names, one hidden class for all requests). */
function headersFor(key: string | undefined, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    host: "api.example.com",
    "user-agent": "turnout-bench/1.0",
    accept: "application/json",
    "accept-encoding": "gzip, deflate, br",
    connection: "keep-alive",
    "x-request-id": "5d0a1c6e-bench",
  };
  for (const [name, value] of Object.entries(extra)) headers[name] = value;
  if (key !== undefined) headers["x-user-id"] = key;
  return headers;
}

/** The issue's workload: 2 versions, 2 header overrides that do not match, the key from a header. */
const BASE: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-user-id"],
  overrides: [
    { header: "x-canary", equals: "true", version: "v2" },
    { header: "x-force-version", values: ["v1", "stable"], version: "v1" },
  ],
};

/** Share of each version over `requests`: proves decide really routes (and by the split), not a constant. */
function distribution(router: Router, requests: readonly RouteRequest[]): string {
  const counts = new Map<string, number>();
  const reasons = new Set<string>();
  for (const r of requests) {
    const d = router.decide(r);
    counts.set(d.version, (counts.get(d.version) ?? 0) + 1);
    reasons.add(d.reason);
  }
  const parts = [...counts].sort().map(([v, n]) => `${v} ${((100 * n) / requests.length).toFixed(1)} %`);
  return `${parts.join(" / ")} over ${requests.length} keys (reason: ${[...reasons].join(", ")})`;
}

function floorCase(keys: readonly string[]): BenchCase {
  const next = cycle(keys);
  return {
    name: "floor: murmur3 of the key",
    baseline: true,
    fn: () => floorBucket(next(), 0),
    note: "bench/lib/floor.ts on the same keys: the least any keyed assignment can cost",
  };
}

function decideCase(name: string, router: Router, requests: readonly RouteRequest[], note?: string): BenchCase {
  const next = cycle(requests);
  return { name, fn: () => router.decide(next()), ...(note === undefined ? {} : { note }) };
}

/**
 * What `decide` would cost if it were written by hand for BASE alone: the same header reads with constant names,
 * the same hash, table and interned decisions. Not turnout's code: a reference that tells how much of decide's cost
 * is the work itself and how much is being generic.
 */
function handWritten(router: Router): (request: RouteRequest) => Decision {
  const canary = router.decide({ headers: { "x-canary": "true" } });
  const forced = router.decide({ headers: { "x-force-version": "v1" } });
  const keyless = router.decide({});
  const v1 = router.decide({ headers: { "x-user-id": "user-5" } });
  const v2 = router.decide({ headers: { "x-user-id": "user-0" } });
  const table = new Uint8Array(10_000).fill(0, 0, 9_000).fill(1, 9_000);
  const slots = v1.version === "v1" ? [v1, v2] : [v2, v1];
  return (request) => {
    const headers = request.headers as Record<string, string | undefined>;
    if (headers["x-canary"] === "true") return canary;
    const force = headers["x-force-version"];
    if (force === "v1" || force === "stable") return forced;
    const key = headers["x-user-id"];
    if (typeof key !== "string" || key === "") return keyless;
    return slots[table[floorBucket(key, 0)]!]!;
  };
}

/** 16 header objects of different shapes (names, order), as a server sees from different clients. */
function variedHeadersFor(key: string, i: number): Record<string, string> {
  const names = ["host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "x-request-id", "cookie", "referer", "x-forwarded-for"];
  const headers: Record<string, string> = {};
  const rotate = i % 16;
  for (let j = 0; j < names.length - (rotate % 4); j++) headers[names[(j + rotate) % names.length]!] = `value-${j}`;
  headers["x-user-id"] = key;
  return headers;
}

function keyed(set: KeySetName): ScenarioPlan {
  const keys = KEY_SETS[set]();
  const router = createRouter(BASE);
  const requests = keys.map((k) => ({ headers: headersFor(k) }));
  const shares = distribution(router, requests);
  const byHand = handWritten(createRouter(BASE));
  const handRequests = cycle(keys.map((k) => ({ headers: headersFor(k) })));
  return {
    groups: [
      {
        name: `decide · keyed, ${set === "short" ? "short keys" : "UUIDs"} (2 versions, 2 overrides not matching, key from x-user-id)`,
        cases: [
          floorCase(keys),
          decideCase("decide", router, requests),
          {
            name: "turnout bucketOf alone",
            fn: (() => {
              const next = cycle(keys);
              return () => bucketOfOf(next());
            })(),
            note: "src/router/hash.ts on the same keys: what decide's own hash costs",
          },
          {
            name: "reference: decide by hand",
            fn: () => byHand(handRequests()),
            note: "the same work written by hand for this one config (constant header names, the floor's hash): not turnout, a yardstick",
          },
        ],
      },
    ],
    finish: () => [`keyed ${set}: ${shares}`],
  };
}

function keyedVariedHeaders(): ScenarioPlan {
  const keys = shortKeys();
  const router = createRouter(BASE);
  const requests = keys.map((k, i) => ({ headers: variedHeadersFor(k, i) }));
  const byHand = handWritten(createRouter(BASE));
  const handRequests = cycle(keys.map((k, i) => ({ headers: variedHeadersFor(k, i) })));
  return {
    groups: [
      {
        name: "decide · keyed, short keys, 16 header-object shapes (as from many different clients)",
        cases: [floorCase(keys), decideCase("decide", router, requests), { name: "reference: decide by hand", fn: () => byHand(handRequests()) }],
      },
    ],
    finish: () => [`keyed, varied headers: ${distribution(router, requests)}`],
  };
}

// bucketOf is imported lazily through the router barrel so that its feedback is the router's own.
import { bucketOf } from "../src/router/index.js";
const bucketOfOf = (key: string) => bucketOf(key, 0);

/**
 * 50,000 requests whose key has characters ≥ U+0100 first (possible from application code, never from Node's HTTP
 * parser, which gives latin-1 strings), then the ASCII keys. `flat`: the keys are flat strings (as JSON.parse makes
 * them); otherwise they are cons-strings, built by concatenation as code like `tenant + ":" + name` makes them.
 */
function keyedAfterTwoByte(flat: boolean): ScenarioPlan {
  const router = createRouter(BASE);
  const keys = shortKeys();
  const requests = keys.map((k) => ({ headers: headersFor(k) }));
  const next = splitmix32(0xfeed);
  let acc = 0;
  for (let t = 0; t < 50_000; t++) {
    let s = "";
    const length = 1 + (next() % 30);
    for (let j = 0; j < length; j++) s += String.fromCharCode(next() % 3 === 0 ? 0x20 + (next() % 0x5f) : 0x100 + (next() % 0xfe00));
    if (flat) s = JSON.parse(JSON.stringify(s)) as string;
    acc += router.decide({ headers: headersFor(s) }).version.length;
  }
  return {
    groups: [
      {
        name: `decide · keyed, short keys, after 50,000 ${flat ? "flat" : "concatenated (cons-string)"} keys with characters ≥ U+0100`,
        note: `the router first decided 50,000 requests with such keys (checksum ${acc}), then the ASCII keys`,
        cases: [floorCase(keys), decideCase("decide", router, requests)],
      },
    ],
    finish: () => [`after ${flat ? "flat" : "cons"} two-byte keys: ${distribution(router, requests)}`],
  };
}

function keyless(): ScenarioPlan {
  const keys = shortKeys();
  const requests = keys.map(() => ({ headers: headersFor(undefined) }));
  const random = createRouter({ ...BASE, keyless: "random" });
  const roundRobin = createRouter({ ...BASE, keyless: "round-robin" });
  const stable = createRouter({ ...BASE, keyless: "stable" });
  return {
    groups: [
      {
        name: "decide · keyless (no x-user-id header)",
        cases: [
          floorCase(keys),
          decideCase("decide, keyless random", random, requests, "Math.random, the default rng"),
          decideCase("decide, keyless round-robin", roundRobin, requests),
          decideCase("decide, keyless stable", stable, requests),
        ],
      },
    ],
    finish: () => [`keyless random: ${distribution(random, requests)}`, `keyless round-robin: ${distribution(roundRobin, requests)}`],
  };
}

function experiment(): ScenarioPlan {
  const keys = shortKeys();
  const config: RouterConfig = {
    ...BASE,
    experiments: [
      {
        name: "checkout-flow-v2",
        salt: "checkout-v2-2024",
        paths: ["/api/v1/checkout", "/api/v1/cart"],
        include: [{ header: "x-user-plan", values: ["pro", "enterprise"] }],
        exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
        variants: [
          { name: "control", weight: 50, version: "v1" },
          { name: "treatment", weight: 50, version: "v2" },
        ],
      },
    ],
  };
  const router = createRouter(config);
  const requests = keys.map((k) => ({ headers: headersFor(k, { "x-user-plan": "pro" }), path: "/api/v1/checkout/start" }));
  const untargeted = createRouter({
    ...BASE,
    experiments: [
      {
        name: "ab",
        variants: [
          { name: "A", weight: 50, version: "v1" },
          { name: "B", weight: 50, version: "v2" },
        ],
      },
    ],
  });
  const plain = keys.map((k) => ({ headers: headersFor(k) }));
  return {
    groups: [
      {
        name: "decide · with an experiment (sticky, salted A/B, key from x-user-id)",
        cases: [
          floorCase(keys),
          decideCase("decide, experiment", untargeted, plain, "one 50/50 experiment on every path, no targeting"),
          decideCase(
            "decide, targeted experiment",
            router,
            requests,
            "paths [/api/v1/checkout, /api/v1/cart], include x-user-plan in [pro, enterprise], exclude x-user-country",
          ),
        ],
      },
    ],
    finish: () => [`experiment: ${distribution(untargeted, plain)}`, `targeted experiment: ${distribution(router, requests)}`],
  };
}

function pinned(): ScenarioPlan {
  const keys = shortKeys();
  const now = Date.UTC(2026, 0, 1);
  const router = createRouter(BASE, { pinSecret: "bench-secret-0123456789" });
  const first = keys.map((k) => router.decide({ headers: headersFor(k) }));
  const current = keys.map((k, i) => ({ headers: headersFor(k), pin: (first[i] as Decision).pin }));
  // Pins as the HTTP integrations issue them: with an expiry, judged at the request's `now`.
  const issued = keys.map((k, i) => ({ headers: headersFor(k), pin: router.issuePin((first[i] as Decision).version, now + 900_000), now }));
  // The same pins judged by the router's own clock (no `request.now`), as code calling `decide` directly may do.
  const later = Date.now() + 3_600_000;
  const clocked = keys.map((k, i) => ({ headers: headersFor(k), pin: router.issuePin((first[i] as Decision).version, later) }));
  // Pins from an earlier revision: valid, but not made by the current revision, so the first use of each is verified.
  const old = createRouter(BASE, { revision: 1, pinSecret: "bench-secret-0123456789" });
  const oldPins = keys.map((k) => old.decide({ headers: headersFor(k) }).pin);
  // 8,192 distinct earlier-revision pins (twice the router's memory of verified pins): every use is a first use.
  const coldFor = (r: Router): RouteRequest[] =>
    Array.from({ length: 8192 }, (_, i) => ({
      headers: headersFor(keys[i % keys.length]),
      pin: r.issuePin(i % 10 === 0 ? "v2" : "v1", now + 1000 * (i + 1)),
      now,
    }));
  const cold = coldFor(old);
  const nodeOld = createRouter(BASE, { revision: 1, pinSecret: "bench-secret-0123456789", pinSigner: nodePinSigner });
  const nodeCold = coldFor(nodeOld);
  old.update({ ...BASE, split: { v1: 50, v2: 50 } });
  nodeOld.update({ ...BASE, split: { v1: 50, v2: 50 } });
  const earlier = keys.map((k, i) => ({ headers: headersFor(k), pin: oldPins[i] as string }));
  return {
    groups: [
      {
        name: "decide · with a pin (the next step of a transaction)",
        cases: [
          floorCase(keys),
          decideCase("decide, pin of this revision", router, current),
          decideCase("decide, expiring pin of this revision", router, issued, "as the HTTP integrations issue them (router.issuePin), request.now set"),
          decideCase("decide, expiring pin, router's clock", router, clocked, "the same pins without request.now: judged by the router's clock"),
          decideCase("decide, pin of an earlier revision", old, earlier, "verified once (HMAC), then remembered: a lookup"),
          decideCase("decide, earlier pin, first use", old, cold, "8,192 distinct pins cycled: every call parses and verifies an HMAC (default signer)"),
          decideCase("decide, earlier pin, first use, node:crypto", nodeOld, nodeCold, "the same with pinSigner: nodePinSigner (turnout/node)"),
        ],
      },
    ],
    finish: () => [
      `pin: ${distribution(router, current)}`,
      `expiring pin: ${distribution(router, issued)}`,
      `earlier pin: ${distribution(old, earlier)}`,
      `earlier pin, first use: ${distribution(old, cold)}`,
    ],
  };
}

/** 100 rules: 40 overrides, 40 segments (include + exclude conditions), 20 experiments. */
function hundredRules(variant: number): RouterConfig {
  return {
    versions: ["v1", "v2", "v3"],
    stable: "v1",
    canary: "v2",
    split: { v1: 80, v2: 15 + variant, v3: 5 - variant },
    salt: `salt-${variant}`,
    stickiness: ["header:x-transaction-id", "header:x-user-id", "cookie:uid", "attr:userId", "key"],
    overrides: Array.from({ length: 40 }, (_, i) => ({ header: `x-override-${i}`, equals: `on-${variant}`, version: i % 2 === 0 ? "v2" : "v3" })),
    segments: Array.from({ length: 40 }, (_, i) => ({
      name: `segment-${i}`,
      version: i % 3 === 0 ? "v3" : "v2",
      include: [
        { header: "x-user-plan", values: ["pro", "enterprise", `plan-${i}`] },
        { attr: "region", matches: `^eu-(west|north)-${i}$` },
      ],
      exclude: [{ header: "x-user-country", values: ["CN", "RU"] }],
    })),
    experiments: Array.from({ length: 20 }, (_, i) => ({
      name: `experiment-${i}`,
      salt: `experiment-${i}-${variant}`,
      paths: [`/api/v1/feature-${i}`],
      include: [{ header: "x-beta", equals: "1" }],
      variants: [
        { name: "control", weight: 50, version: "v1" },
        { name: "treatment", weight: 50, version: "v2" },
      ],
    })),
  };
}

function setup(): ScenarioPlan {
  const configs = [hundredRules(0), hundredRules(1)];
  const router = createRouter(configs[0]!);
  let flip = 0;
  const keys = shortKeys();
  const nextKey = cycle(keys);
  const explainRouter = createRouter(BASE);
  const groups: BenchGroup[] = [
    {
      name: "setup · createRouter / update with 100 rules (40 overrides, 40 segments, 20 experiments)",
      cases: [
        { name: "createRouter(100 rules)", baseline: true, fn: () => createRouter(configs[(flip ^= 1)]!) },
        { name: "router.update(100 rules)", fn: () => router.update(configs[(flip ^= 1)]!) },
        {
          name: "explain (2 overrides, keyed)",
          fn: () => explainRouter.explain({ headers: headersFor(nextKey()) }),
          note: "for debugging, not the hot path: it builds every step's text",
        },
      ],
    },
  ];
  return {
    groups,
    finish: () => [
      `setup: the 100-rule router decides ${distribution(
        router,
        keys.map((k) => ({ headers: headersFor(k) })),
      )}`,
    ],
  };
}

await runSuite({
  name: "decide",
  title: "turnout · decide() against its floor (the bare hash of the same keys)",
  scenarios: {
    "keyed-short": () => keyed("short"),
    "keyed-uuid": () => keyed("uuid"),
    "keyed-varied-headers": keyedVariedHeaders,
    keyless,
    experiment,
    pin: pinned,
    setup,
    "keyed-short-after-two-byte-cons": () => keyedAfterTwoByte(false),
    "keyed-short-after-two-byte-flat": () => keyedAfterTwoByte(true),
  },
  notes: [
    "Targets: keyed decide ≤ 1.5× the floor, 0 B/call; createRouter/update of 100 rules < 1 ms.",
    "Keys: 1,024 deterministic keys per set (bench/lib/keys.ts); one pre-built request per key with 7 headers, cycled.",
  ],
});

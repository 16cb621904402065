/**
 * `turnout node`, driven as the seed tasks' harness drives it: the built binary (dist/cli.js) as a child process,
 * JSON on stdin, one reply line per message on stdout. Every sample case of seeds 000 and 002 is replayed verbatim.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketOf, createRouter, seedOf } from "../../src/index.js";
import { fixtures, session, turnout } from "./fixtures/cli/run.js";

interface Sample {
  readonly seed: string;
  readonly name: string;
  readonly timeoutMs: number;
  readonly input: string;
  readonly expected: string;
}
const samples = (JSON.parse(readFileSync(join(fixtures, "seeds", "samples.json"), "utf8")) as { cases: Sample[] }).cases;

/** The seeds' expected line: exact text, where ".*" stands for anything. */
function matchesExpected(line: string, expected: string): boolean {
  if (!expected.includes(".*")) return line === expected;
  const pattern = expected
    .split(".*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(line);
}

const parse = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;

describe("turnout node: the seeds' sample cases, verbatim", () => {
  it("has the four sample cases of seeds 000 and 002", () => {
    expect(samples.map((s) => `${s.seed} ${s.name}`)).toEqual([
      "000 Canary deployment routing",
      "000 Traffic splitting",
      "002 Weighted traffic split",
      "002 Header-based routing",
    ]);
  });

  for (const sample of samples) {
    it(`${sample.seed} ${sample.name}: pretty-printed as the seed shows it, in a fresh process, five times`, async () => {
      for (let run = 0; run < 5; run++) {
        const started = Date.now();
        const { code, lines, stderr } = await turnout(["node"], `${sample.input}\n`);
        expect(stderr).toBe("");
        expect(code).toBe(0);
        expect(lines).toHaveLength(1);
        expect(matchesExpected(lines[0] as string, sample.expected), `${lines[0]} vs ${sample.expected}`).toBe(true);
        // The seed harness's own limit for the case (a functional requirement of the task, not a benchmark).
        expect(Date.now() - started).toBeLessThan(sample.timeoutMs);
      }
    });

    it(`${sample.seed} ${sample.name}: on one line, with CRLF, without a final newline`, async () => {
      const compact = JSON.stringify(JSON.parse(sample.input));
      for (const input of [`${compact}\n`, `${compact}\r\n`, compact, sample.input.replaceAll("\n", "\r\n")]) {
        const { lines } = await turnout(["node"], input);
        expect(lines).toHaveLength(1);
        expect(matchesExpected(lines[0] as string, sample.expected), `${lines[0]} vs ${sample.expected}`).toBe(true);
      }
    });
  }

  it("the wildcard case (000 Traffic splitting) answers a real version, v1 or v2", async () => {
    const sample = samples.find((s) => s.name === "Traffic splitting") as Sample;
    const { lines } = await turnout(["node"], `${sample.input}\n`);
    expect(["v1", "v2"]).toContain(parse(lines[0] as string).version);
  });
});

describe("turnout node: the seeds' worked examples", () => {
  it("answers seed 000's and 002's examples in the seeds' field order", async () => {
    const input = [
      '{"type": "update_canary", "msg_id": 3, "service": "api", "percentage": 50}',
      '{"type": "assign_variant", "msg_id": 4, "user_id": "user-123"}',
      '{"type": "gradual_rollout", "msg_id": 4, "steps": [{"percentage":10,"duration_minutes":60}, {"percentage":50,"duration_minutes":240}]}',
    ].join("\n");
    const { lines } = await turnout(["node"], `${input}\n`);
    expect(lines).toEqual([
      '{"type": "canary_updated", "in_reply_to": 3, "service": "api", "v1": 50, "v2": 50}',
      '{"type": "variant_assigned", "in_reply_to": 4, "user_id": "user-123", "variant": "A"}',
      '{"type": "rollout_complete", "in_reply_to": 4, "final_percentage": 50, "health_checks_passed": true}',
    ]);
  });

  it("flushes every reply before the next message is read", async () => {
    const node = await session();
    try {
      expect(await node.ask('{"body": {"type": "route", "msg_id": 1}, "traffic_split": {"v1": 80, "v2": 20}}')).toBe(
        '{"type": "routed", "in_reply_to": 1, "version": "v1", "reason": "weighted_routing"}',
      );
      expect(parse(await node.ask('{"type": "route", "msg_id": 2}')).in_reply_to).toBe(2);
      expect(await node.ask('{"type": "route", "msg_id": 3, "headers": {"X-Beta": "true"}}')).toBe(
        '{"type": "routed", "in_reply_to": 3, "version": "v2", "reason": "header_match"}',
      );
    } finally {
      expect(await node.close()).toBe(0);
    }
  });
});

describe("turnout node: get_users", () => {
  it("routes a user by the hash of user_id: the canary owns the first canary_percentage of the buckets", async () => {
    const users = Array.from({ length: 400 }, (_, i) => `user${i * 7 + 3}`);
    const input = users.map((user_id, i) => JSON.stringify({ body: { type: "get_users", msg_id: i, user_id }, canary_percentage: 10 })).join("\n");
    const { lines } = await turnout(["node"], input);
    const reference = createRouter({ versions: ["v1", "v2"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } });
    lines.forEach((line, i) => {
      const reply = parse(line);
      const user = users[i] as string;
      const canary = bucketOf(user, seedOf("")) < 1000;
      expect(reply).toEqual({ type: "users_response", in_reply_to: i, version: canary ? "v2" : "v1", canary });
      expect(reply.version).toBe(reference.decide({ key: user }).version);
    });
  });

  it("a user never leaves the canary when its percentage rises (monotone ramp)", async () => {
    const user = (i: number): string => `u-${i}`;
    const lines: string[] = [];
    for (const percent of [1, 5, 25, 50, 100]) {
      const input = Array.from({ length: 300 }, (_, i) =>
        JSON.stringify({ body: { type: "get_users", msg_id: i, user_id: user(i) }, canary_percentage: percent }),
      ).join("\n");
      lines.push(...(await turnout(["node"], input)).lines);
    }
    for (let i = 0; i < 300; i++) {
      const versions = [0, 1, 2, 3, 4].map((k) => parse(lines[k * 300 + i] as string).version);
      const first = versions.indexOf("v2");
      if (first >= 0) expect(versions.slice(first).every((v) => v === "v2")).toBe(true);
      expect(versions[4]).toBe("v2");
    }
  });

  it("keyless traffic follows traffic_split exactly (round-robin) and carries no canary field", async () => {
    const input = Array.from({ length: 100 }, (_, i) => JSON.stringify({ body: { type: "get_users", msg_id: i }, traffic_split: { v1: 70, v2: 30 } })).join(
      "\n",
    );
    const { lines } = await turnout(["node"], input);
    const replies = lines.map(parse);
    expect(replies.every((r) => Object.keys(r).join() === "type,in_reply_to,version")).toBe(true);
    expect(replies.filter((r) => r.version === "v2")).toHaveLength(30);
  });

  it("accepts numeric user ids, and settings inside a bare body", async () => {
    const { lines } = await turnout(["node"], '{"type": "get_users", "msg_id": 7, "user_id": 123, "canary_percentage": 100}\n');
    expect(lines).toEqual(['{"type": "users_response", "in_reply_to": 7, "version": "v2", "canary": true}']);
  });
});

describe("turnout node: route", () => {
  it("a keyless 80/20 split answers v1 first and exactly 80/20 over every 100 requests", async () => {
    const input = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ src: "c1", dest: "proxy", body: { type: "route", msg_id: i + 1 }, traffic_split: { v1: 80, v2: 20 } }),
    ).join("\n");
    const { lines } = await turnout(["node"], input);
    const versions = lines.map((line) => parse(line).version);
    expect(versions[0]).toBe("v1");
    expect(versions.slice(0, 100).filter((v) => v === "v2")).toHaveLength(20);
    expect(versions.slice(100).filter((v) => v === "v2")).toHaveLength(20);
    expect(lines.every((line) => parse(line).reason === "weighted_routing")).toBe(true);
  });

  it("header rules beat the weights; other headers do not", async () => {
    const ask = (headers: Record<string, string>, split = { v1: 100, v2: 0 }) =>
      JSON.stringify({ body: { type: "route", msg_id: 1, headers }, traffic_split: split });
    const input = [
      ask({ "x-beta": "true" }),
      ask({ "X-Canary": "1" }),
      ask({ "x-api-version": "v1" }, { v1: 0, v2: 100 }),
      ask({ "x-api-version": "2" }),
      ask({ "x-beta": "false" }),
      ask({ "x-other": "true" }),
    ].join("\n");
    const replies = (await turnout(["node"], input)).lines.map(parse);
    expect(replies.map((r) => [r.version, r.reason])).toEqual([
      ["v2", "header_match"],
      ["v2", "header_match"],
      ["v1", "header_match"],
      ["v2", "header_match"],
      ["v1", "weighted_routing"],
      ["v1", "weighted_routing"],
    ]);
  });

  it("a user_id makes the route sticky", async () => {
    const input = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ body: { type: "route", msg_id: i, user_id: "alice" }, traffic_split: { v1: 50, v2: 50 } }),
    ).join("\n");
    const versions = new Set((await turnout(["node"], input)).lines.map((line) => parse(line).version));
    expect(versions.size).toBe(1);
  });
});

describe("turnout node: update_canary, services, assign_variant", () => {
  it("keeps v1 + v2 = 100 and refuses what is out of range, then goes on serving", async () => {
    const input = [
      '{"type": "update_canary", "msg_id": 1, "service": "api", "percentage": 0}',
      '{"type": "update_canary", "msg_id": 2, "service": "api", "percentage": 12.5}',
      '{"type": "update_canary", "msg_id": 3, "service": "api", "percentage": 100}',
      '{"type": "update_canary", "msg_id": 4, "service": "api", "percentage": 101}',
      '{"type": "update_canary", "msg_id": 5, "service": "api", "percentage": -1}',
      '{"type": "update_canary", "msg_id": 6, "service": "api", "percentage": "50"}',
      '{"type": "update_canary", "msg_id": 7, "service": "api"}',
      '{"type": "update_canary", "msg_id": 8, "service": 5, "percentage": 5}',
      '{"type": "route", "msg_id": 9}',
    ].join("\n");
    const replies = (await turnout(["node"], input)).lines.map(parse);
    expect(replies.slice(0, 3)).toEqual([
      { type: "canary_updated", in_reply_to: 1, service: "api", v1: 100, v2: 0 },
      { type: "canary_updated", in_reply_to: 2, service: "api", v1: 87.5, v2: 12.5 },
      { type: "canary_updated", in_reply_to: 3, service: "api", v1: 0, v2: 100 },
    ]);
    expect(replies.slice(3, 8).map((r) => [r.type, r.in_reply_to, r.code, (r.problems as { path: string; code: string }[])[0]])).toEqual([
      ["error", 4, 12, { code: "out_of_range", path: "percentage" }],
      ["error", 5, 12, { code: "out_of_range", path: "percentage" }],
      ["error", 6, 12, { code: "type", path: "percentage" }],
      ["error", 7, 12, { code: "required", path: "percentage" }],
      ["error", 8, 12, { code: "type", path: "service" }],
    ]);
    expect(replies[8]).toEqual({ type: "routed", in_reply_to: 9, version: "v2", reason: "weighted_routing" });
  });

  it("each service has its own split", async () => {
    const input = [
      '{"type": "update_canary", "msg_id": 1, "service": "payments", "percentage": 100}',
      '{"type": "route", "msg_id": 2, "service": "payments"}',
      '{"type": "route", "msg_id": 3}',
      '{"type": "get_users", "msg_id": 4, "service": "payments", "user_id": "bob"}',
    ].join("\n");
    const replies = (await turnout(["node"], input)).lines.map(parse);
    expect(replies.map((r) => r.version)).toEqual([undefined, "v2", "v1", "v2"]);
  });

  it("assigns a stable A/B variant per user, about half each", async () => {
    const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const input = users.map((user_id, i) => JSON.stringify({ type: "assign_variant", msg_id: i, user_id })).join("\n");
    const first = (await turnout(["node"], input)).lines.map(parse);
    const again = (await turnout(["node"], [...input.split("\n")].reverse().join("\n"))).lines.map(parse).reverse();
    expect(first.map((r) => r.variant)).toEqual(again.map((r) => r.variant));
    const a = first.filter((r) => r.variant === "A").length;
    expect(a).toBeGreaterThan(900);
    expect(a).toBeLessThan(1100);
    expect(first[0]).toEqual({ type: "variant_assigned", in_reply_to: 0, user_id: "user-0", variant: first[0]?.variant });
  });

  it("assign_variant without a user, or for an unknown experiment, is an error", async () => {
    const input = ['{"type": "assign_variant", "msg_id": 1}', '{"type": "assign_variant", "msg_id": 2, "user_id": "u", "experiment": "nope"}'].join("\n");
    const replies = (await turnout(["node"], input)).lines.map(parse);
    expect(replies.map((r) => [r.code, (r.problems as { path: string; code: string }[])[0]])).toEqual([
      [12, { code: "required", path: "user_id" }],
      [12, { code: "unknown_experiment", path: "experiment" }],
    ]);
  });
});

describe("turnout node: get_migration_stats", () => {
  it("counts the node's own routed traffic: distinct clients, largest-remainder percentages", async () => {
    const messages: string[] = [];
    for (let i = 0; i < 300; i++) messages.push(JSON.stringify({ body: { type: "get_users", msg_id: i, user_id: `user-${i % 150}` }, canary_percentage: 30 }));
    for (let i = 0; i < 50; i++) messages.push(JSON.stringify({ src: "c7", dest: "api", body: { type: "route", msg_id: 1000 + i } }));
    messages.push('{"type": "get_migration_stats", "msg_id": 9999}');
    const replies = (await turnout(["node"], messages.join("\n"))).lines.map(parse);
    const routed = replies.slice(0, 350);
    const v2 = routed.filter((r) => r.version === "v2").length;
    const stats = replies[350] as Record<string, unknown>;
    expect(Object.keys(stats)).toEqual(["type", "in_reply_to", "total_clients", "version_percentages", "migration_complete"]);
    expect(stats.total_clients).toBe(151); // 150 users and the envelope's src "c7"
    const { v1: p1 = Number.NaN, v2: p2 = Number.NaN } = stats.version_percentages as Record<string, number>;
    expect(p1 + p2).toBe(100);
    expect(Math.abs(p2 - (v2 / 350) * 100)).toBeLessThan(1);
    expect(stats.migration_complete).toBe(false);
  });

  it("a migration is complete once a whole window passed with enough traffic and none of it on v1", async () => {
    const node = await session(["--window", "1s", "--resolution", "250ms", "--min-requests", "5"]);
    try {
      expect(parse(await node.ask('{"type": "route", "msg_id": 0}')).version).toBe("v1");
      await node.ask('{"type": "update_canary", "msg_id": 1, "service": "api", "percentage": 100}');
      let complete = false;
      const deadline = Date.now() + 15_000;
      for (let i = 2; !complete && Date.now() < deadline; i++) {
        expect(parse(await node.ask(`{"type": "get_users", "msg_id": ${i}, "user_id": "u${i}"}`)).version).toBe("v2");
        const stats = parse(await node.ask(`{"type": "get_migration_stats", "msg_id": ${i}}`));
        complete = stats.migration_complete === true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(complete).toBe(true);
    } finally {
      await node.close();
    }
  });
});

describe("turnout node: gradual_rollout", () => {
  it("a degrading canary is rolled back: final_percentage 0, health_checks_passed false", async () => {
    const { lines } = await turnout(
      ["node"],
      '{"type": "gradual_rollout", "msg_id": 4, "steps": [{"percentage": 10, "duration_minutes": 60}, {"percentage": 50, "duration_minutes": 240}], "traffic": {"canary": {"errorPercent": 5}}}\n{"type": "route", "msg_id": 5, "user_id": "x"}\n',
    );
    const reply = parse(lines[0] as string);
    expect(reply).toMatchObject({ type: "rollout_complete", in_reply_to: 4, final_percentage: 0, health_checks_passed: false, outcome: "aborted" });
    expect(reply.text).toMatch(/error rate/);
    expect(parse(lines[1] as string).version).toBe("v1"); // the rollback applies to the service
  });

  it("leaves the service at the final percentage, and handles a plan of hundreds of hours", async () => {
    const steps = [1, 5, 10, 25, 50, 100].map((percentage) => ({ percentage, duration_minutes: 6000 }));
    const { lines } = await turnout(["node"], `${JSON.stringify({ type: "gradual_rollout", msg_id: 1, steps })}\n{"type": "route", "msg_id": 2}\n`);
    expect(lines.map(parse)).toEqual([
      { type: "rollout_complete", in_reply_to: 1, final_percentage: 100, health_checks_passed: true },
      { type: "routed", in_reply_to: 2, version: "v2", reason: "weighted_routing" },
    ]);
  });

  it("reports every bad step with the message's own field names", async () => {
    const bad = [
      { type: "gradual_rollout", msg_id: 1 },
      { type: "gradual_rollout", msg_id: 2, steps: "fast" },
      {
        type: "gradual_rollout",
        msg_id: 3,
        steps: [
          { percentage: 150, duration_minutes: 5 },
          { percentage: 10, duration_minutes: -1 },
          { percentage: 20, minutes: 3 },
        ],
      },
      {
        type: "gradual_rollout",
        msg_id: 4,
        steps: [
          { percentage: 50, duration_minutes: 5 },
          { percentage: 10, duration_minutes: 5 },
        ],
      },
      { type: "gradual_rollout", msg_id: 5, steps: [] },
      { type: "gradual_rollout", msg_id: 6, steps: [{ percentage: 10, duration_minutes: 5 }], traffic: { canary: { errorPercent: 500 } } },
    ];
    const replies = (await turnout(["node"], bad.map((m) => JSON.stringify(m)).join("\n"))).lines.map(parse);
    const paths = replies.map((r) => (r.problems as { code: string; path: string }[]).map((p) => `${p.code} ${p.path}`));
    expect(replies.every((r) => r.type === "error" && r.code === 12)).toBe(true);
    expect(paths[0]).toEqual(["required steps"]);
    expect(paths[1]).toEqual(["type steps"]);
    expect(paths[2]).toEqual(["out_of_range steps[1].duration_minutes", "unknown_field steps[2].minutes", "required steps[2].duration_minutes"]);
    expect(paths[3]?.[0]).toMatch(/^\w+ steps\[1\]\.percentage$/);
    expect(paths[4]?.[0]).toMatch(/^\w+ steps$/);
    expect(paths[5]).toEqual(["out_of_range traffic.canary.errorPercent"]);
  });
});

describe("turnout node: bad input gets an error reply and the node keeps serving", () => {
  it("junk, truncated and wrongly typed messages", async () => {
    const input = [
      "not json at all",
      '{"type": "route", "msg_id": 1', // truncated: the next line starts a new message
      '{"type": "route", "msg_id": 2}',
      "[1, 2, 3]",
      "42",
      '{"msg_id": 3}',
      '{"type": 7, "msg_id": 4}',
      '{"type": "constructor", "msg_id": 5}',
      '{"type": "route", "msg_id": 6, "headers": "x-beta"}',
      '{"body": {"type": "route", "msg_id": 7}, "traffic_split": {"__proto__": 50, "v1": 50}}',
      '{"body": {"type": "route", "msg_id": 8}, "traffic_split": {"v1": -5, "v2": 20}}',
      '{"body": {"type": "route", "msg_id": 9}, "traffic_split": {"v1": 0, "v2": 0}}',
      '{"body": {"type": "route", "msg_id": "m-10"}, "canary_percentage": "lots"}',
      "",
      "   ",
      '{"type": "route", "msg_id": 11}',
    ].join("\n");
    const { lines, code } = await turnout(["node"], input);
    expect(code).toBe(0);
    const replies = lines.map(parse);
    expect(replies).toHaveLength(14);
    const summary = replies.map((r) => [r.type, r.in_reply_to, r.code ?? r.version, (r.problems as { code: string; path: string }[] | undefined)?.[0]]);
    expect(summary).toEqual([
      ["error", null, 12, { code: "malformed_json", path: "" }],
      ["error", 1, 12, { code: "malformed_json", path: "" }],
      ["routed", 2, "v1", undefined],
      ["error", null, 12, { code: "type", path: "(message)" }],
      ["error", null, 12, { code: "type", path: "(message)" }],
      ["error", 3, 12, { code: "required", path: "type" }],
      ["error", 4, 12, { code: "type", path: "type" }],
      ["error", 5, 10, undefined],
      ["error", 6, 12, { code: "type", path: "headers" }],
      ["error", 7, 12, { code: "forbidden_key", path: "traffic_split.__proto__" }],
      ["error", 8, 12, { code: "negative", path: "traffic_split.v1" }],
      ["error", 9, 12, { code: "zero_total", path: "traffic_split" }],
      ["error", "m-10", 12, { code: "type", path: "canary_percentage" }],
      ["routed", 11, "v1", undefined],
    ]);
    for (const r of replies.filter((r) => r.type === "error")) expect(typeof r.text).toBe("string");
  });

  it("a line longer than a message may be is answered once and skipped", async () => {
    const huge = `{"type": "route", "msg_id": 1, "pad": "${"x".repeat(1_200_000)}"}`;
    const { lines } = await turnout(["node"], `${huge}\n{"type": "route", "msg_id": 2}\n`);
    expect(lines.map(parse).map((r) => [r.type, r.in_reply_to])).toEqual([
      ["error", null],
      ["routed", 2],
    ]);
  });

  it("any JSON value gets exactly one reply, never an internal fault", async () => {
    const values = fc.sample(
      fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            type: fc.constantFrom("get_users", "route", "update_canary", "assign_variant", "get_migration_stats", "gradual_rollout", "init"),
            msg_id: fc.jsonValue(),
          },
          { requiredKeys: ["type"] },
        ),
        fc.record({
          body: fc.record({
            type: fc.constantFrom("get_users", "route", "update_canary", "assign_variant"),
            msg_id: fc.integer(),
            user_id: fc.jsonValue(),
            headers: fc.jsonValue(),
            percentage: fc.jsonValue(),
            service: fc.jsonValue(),
          }),
          traffic_split: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
          canary_percentage: fc.jsonValue(),
        }),
      ),
      { numRuns: 400, seed: 20_240_601 },
    );
    const { lines, code } = await turnout(["node"], values.map((v) => JSON.stringify(v)).join("\n"));
    expect(code).toBe(0);
    expect(lines).toHaveLength(values.length);
    for (const line of lines) {
      const reply = parse(line);
      expect(typeof reply.type).toBe("string");
      expect(reply.code).not.toBe(13);
    }
  });
});

describe("turnout node: options", () => {
  it("--envelope wraps replies as {src, dest, body} with src and dest swapped", async () => {
    const sample = samples[0] as Sample;
    const { lines } = await turnout(["node", "--envelope"], sample.input);
    expect(lines).toEqual(['{"src": "api", "dest": "client", "body": {"type": "users_response", "in_reply_to": 1, "version": "v1", "canary": false}}']);
  });

  it("answers Maelstrom's init and uses the node id as src", async () => {
    const { lines } = await turnout(
      ["node", "--envelope"],
      '{"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}}\n{"type": "route", "msg_id": 2}\n',
    );
    expect(lines).toEqual([
      '{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}}',
      '{"src": "n1", "body": {"type": "routed", "in_reply_to": 2, "version": "v1", "reason": "weighted_routing"}}',
    ]);
  });

  it("--config takes a router configuration; a bad one fails at start with exit code 2", async () => {
    const good = await turnout(["node", "--config", join(fixtures, "router.json")], '{"type": "route", "msg_id": 1, "headers": {"x-user-id": "alice"}}\n');
    expect(good.code).toBe(0);
    expect(parse(good.lines[0] as string)).toMatchObject({ type: "routed", reason: "weighted_routing" });
    const bad = await turnout(["node", "--config", join(fixtures, "router-invalid.json")], "");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown_version/);
  });

  it("--help, and usage errors exit 2", async () => {
    const help = await turnout(["node", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: turnout node/);
    const bad = await turnout(["node", "--frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--frobnicate/);
    expect((await turnout(["node", "--keyless", "sometimes"])).code).toBe(2);
  });
});

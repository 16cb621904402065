/**
 * The CLI's parts in process: the node's line framing and reply layout (properties over any JSON), colour
 * decisions, the progress bar, and the terminal charts' geometry.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chartOfSimulation } from "../../src/cli/charts/series.js";
import { bar, barChart, sparkline, timelineChart } from "../../src/cli/charts/terminal.js";
import { type Frame, FrameReader, formatLine } from "../../src/cli/node/wire.js";
import { plain, wantsColor } from "../../src/cli/output.js";
import { progressBar } from "../../src/cli/progress.js";
import { compilePlan, simulateRollout } from "../../src/index.js";

function frames(chunks: readonly string[]): Frame[] {
  const out: Frame[] = [];
  const reader = new FrameReader((frame) => out.push(frame));
  for (const chunk of chunks) reader.feed(chunk);
  reader.end();
  return out;
}

/** Cuts `text` at the given positions. */
function cut(text: string, at: readonly number[]): string[] {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let last = 0;
  for (const p of points) {
    chunks.push(text.slice(last, p));
    last = p;
  }
  chunks.push(text.slice(last));
  return chunks;
}

describe("the node's framing", () => {
  it("any JSON values, one per line or pretty-printed, in any chunks, come out whole and in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.jsonValue(), fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom("\n", "\r\n"),
        (values, cuts, eol) => {
          const text = values.map(([value, pretty]) => (pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)).replaceAll("\n", eol)).join(eol) + eol;
          const out = frames(cut(text, cuts));
          expect(out.map((f) => (f.kind === "value" ? JSON.stringify(f.value) : `malformed ${f.reason}`))).toEqual(
            values.map(([value]) => JSON.stringify(value)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a truncated message is reported and the next message, starting in the first column, still comes through", () => {
    const out = frames(['{"type": "route",\n  "msg_id": 1\n{"type": "route", "msg_id": 2}\n']);
    expect(out.map((f) => f.kind)).toEqual(["malformed", "value"]);
    expect(out[1]).toEqual({ kind: "value", value: { type: "route", msg_id: 2 } });
  });

  it("unbalanced closing brackets and text after a value are malformed at once", () => {
    expect(frames(["}\n", '{"a": 1}}\n', '{"a": 1} {"b": 2}\n']).map((f) => f.kind)).toEqual(["malformed", "malformed", "malformed"]);
  });

  it("a byte-order mark before the first message is skipped", () => {
    expect(frames(['\ufeff{"a": 1}\n{"b": 2}\n'])).toEqual([
      { kind: "value", value: { a: 1 } },
      { kind: "value", value: { b: 2 } },
    ]);
  });

  it("an input that ends inside a message reports it", () => {
    expect(frames(['{"type": "route",\n  "msg_id": 1']).map((f) => f.kind)).toEqual(["malformed"]);
  });

  it("an overlong line is answered once, however it is chunked", () => {
    const out: Frame[] = [];
    const reader = new FrameReader((frame) => out.push(frame), 100);
    for (let i = 0; i < 50; i++) reader.feed("x".repeat(10));
    reader.feed('\n{"ok": true}\n');
    reader.end();
    expect(out.map((f) => f.kind)).toEqual(["malformed", "value"]);
  });
});

describe("the reply layout", () => {
  it("is Python's json.dumps: ', ' and ': ' separators, ASCII only, and parses back to the same value", () => {
    expect(formatLine({ type: "users_response", in_reply_to: 1, version: "v1", canary: false })).toBe(
      '{"type": "users_response", "in_reply_to": 1, "version": "v1", "canary": false}',
    );
    expect(formatLine({ a: [1, { b: null }], c: "é\u2013\n", d: undefined, e: Number.NaN })).toBe(
      '{"a": [1, {"b": null}], "c": "\\u00e9\\u2013\\n", "e": null}',
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const line = formatLine(value);
        expect(line).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.stringify(JSON.parse(line))).toBe(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });
});

describe("colour and progress", () => {
  it("colours only a TTY without NO_COLOR and TERM=dumb, unless forced", () => {
    const tty = { write: () => true, isTTY: true };
    const pipe = { write: () => true, isTTY: false };
    expect(wantsColor(tty, {}, undefined)).toBe(true);
    expect(wantsColor(pipe, {}, undefined)).toBe(false);
    expect(wantsColor(tty, { NO_COLOR: "1" }, undefined)).toBe(false);
    expect(wantsColor(tty, { NO_COLOR: "" }, undefined)).toBe(true);
    expect(wantsColor(tty, { TERM: "dumb" }, undefined)).toBe(false);
    expect(wantsColor(pipe, {}, true)).toBe(true);
    expect(wantsColor(tty, {}, false)).toBe(false);
  });

  it("draws a progress bar on a TTY only, once per percent, and clears it", () => {
    const written: string[] = [];
    const progress = progressBar({ write: (text: string) => written.push(text), isTTY: true }, "simulating");
    for (let i = 0; i <= 1000; i++) progress.update(i / 1000);
    progress.done();
    expect(written).toHaveLength(102);
    expect(written[50]).toMatch(/^\rsimulating ▕█{15}\s+▏ {2}50 %$/);
    expect(written.at(-1)).toBe("\r\u001b[2K");
    const silent: string[] = [];
    const none = progressBar({ write: (text: string) => silent.push(text), isTTY: false }, "simulating");
    none.update(0.5);
    none.done();
    expect(silent).toEqual([]);
  });
});

describe("terminal charts", () => {
  it("bars have eighth-of-a-cell resolution; sparklines scale to the maximum", () => {
    expect(bar(0, 10)).toBe("");
    expect(bar(1, 10)).toBe("█".repeat(10));
    expect(bar(0.55, 10)).toBe("█████▌");
    expect(sparkline([0, 1, 2, 4, 8, null], 8)).toBe("▁▂▃▅█ ");
    const lines = barChart(
      [
        { label: "v1", fraction: 0.9, value: "90 %", mark: 0.9 },
        { label: "v2", fraction: 0.05, value: "5 %", mark: 0.1 },
      ],
      60,
      false,
    );
    expect(lines.every((line) => [...line].length <= 60)).toBe(true);
    expect(lines[1]).toContain("┊");
  });

  it("the timeline fits the width it is given and shows every step and the outcome", () => {
    const plan = compilePlan({
      steps: [
        { weight: 5, pause: "10m" },
        { weight: 50, pause: "20m" },
      ],
      analysis: { maxErrorRateIncrease: 1 },
    });
    const result = simulateRollout(plan, { requestsPerSecond: 200, canary: { errorPercent: 4 } }, { sampleEvery: "30s" });
    const chart = chartOfSimulation(result, plan, { title: "t", subtitle: "", stable: "v1", canary: "v2" });
    for (const width of [60, 100, 160]) {
      const lines = timelineChart(chart, width, true);
      for (const line of lines) expect([...plain(line)].length).toBeLessThanOrEqual(width);
      const events = plain(lines.find((line) => line.startsWith("\u001b[1mevents") || plain(line).startsWith("events")) ?? "");
      expect(events).toMatch(/1.*✖/);
    }
  });
});

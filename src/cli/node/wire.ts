/**
 * The wire format of `turnout node`: JSON values framed by lines on the way in, one line per reply on the way out.
 *
 * In: one JSON message per line is the rule, but a harness that pastes a pretty-printed message (the seeds show
 * their inputs that way) sends it over several lines. The reader accepts both: a line that is a whole JSON value
 * is a message; a line that opens an object or array and does not close it starts a multi-line message that
 * ends when the brackets balance. A line that starts with `{` in the first column while a multi-line message is
 * still open is taken as the start of a new message (nested lines of pretty-printed JSON are indented), so one
 * truncated message never swallows the ones after it.
 *
 * Out: Python's `json.dumps` layout (`", "` and `": "` separators, non-ASCII escaped as `\uXXXX`), because the
 * the expected outputs of many test harnesses are written that way and some compare lines as text.
 */

/** One framed input: a parsed JSON value, or text that is not JSON. */
export type Frame = { readonly kind: "value"; readonly value: unknown } | { readonly kind: "malformed"; readonly text: string; readonly reason: string };

/** Longest message accepted, in UTF-16 code units (~1 MiB of ASCII). */
export const MAX_MESSAGE_CHARS = 1_048_576;

interface Scan {
  depth: number;
  inString: boolean;
  escaped: boolean;
  /** A closing bracket with nothing open: the text can never become valid by adding lines. */
  broken: boolean;
}

function scan(state: Scan, text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (state.inString) {
      if (state.escaped) state.escaped = false;
      else if (c === 92 /* \ */) state.escaped = true;
      else if (c === 34 /* " */) state.inString = false;
    } else if (c === 34) state.inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) state.depth++;
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      state.depth--;
      if (state.depth < 0) state.broken = true;
    }
  }
}

function parse(text: string): Frame {
  try {
    return { kind: "value", value: JSON.parse(text) as unknown };
  } catch (error) {
    return { kind: "malformed", text, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Turns a stream of text chunks into frames. Feed it chunks as they arrive; call `end()` at the end of input.
 *
 * @example
 * ```ts
 * const reader = new FrameReader((frame) => handle(frame));
 * process.stdin.on("data", (chunk) => reader.feed(chunk));
 * process.stdin.on("end", () => reader.end());
 * ```
 */
export class FrameReader {
  private partial = "";
  private dropping = false;
  private pending: string[] = [];
  private pendingChars = 0;
  private state: Scan = { depth: 0, inString: false, escaped: false, broken: false };

  constructor(
    private readonly emit: (frame: Frame) => void,
    private readonly maxChars: number = MAX_MESSAGE_CHARS,
  ) {}

  private started = false;

  /** Adds a chunk of input. */
  feed(chunk: string): void {
    let start = 0;
    if (!this.started && chunk !== "") {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1; // a byte-order mark is not part of the first message
    }
    for (;;) {
      const newline = chunk.indexOf("\n", start);
      if (newline < 0) break;
      const piece = chunk.slice(start, newline);
      start = newline + 1;
      if (this.dropping) {
        this.dropping = false;
        this.partial = "";
        continue;
      }
      const line = this.partial + piece;
      this.partial = "";
      this.line(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
    if (this.dropping) return;
    this.partial += chunk.slice(start);
    if (this.partial.length + this.pendingChars > this.maxChars) {
      // A line longer than any message may be: answer once, skip the rest of it.
      this.partial = "";
      this.dropping = true;
      this.reset();
      this.emit({ kind: "malformed", text: "", reason: `message longer than ${this.maxChars} characters` });
    }
  }

  /** The input ended: whatever is left is a message (or a malformed one). */
  end(): void {
    if (!this.dropping && this.partial !== "") {
      const line = this.partial;
      this.partial = "";
      this.line(line);
    }
    this.dropping = false;
    if (this.pending.length > 0) this.flushPending("the input ended inside a message");
  }

  private line(line: string): void {
    if (this.pending.length > 0) {
      if (line.startsWith("{")) {
        // Nested lines of pretty-printed JSON are indented: a brace in the first column starts a new message.
        this.flushPending("a new message began before this one was complete");
      } else {
        this.pending.push(line);
        this.pendingChars += line.length + 1;
        scan(this.state, line);
        if (this.state.broken) this.flushPending("unbalanced brackets");
        else if (this.state.depth === 0 && !this.state.inString) {
          const text = this.pending.join("\n");
          this.reset();
          this.emit(parse(text));
        } else if (this.pendingChars > this.maxChars) {
          this.flushPending(`message longer than ${this.maxChars} characters`);
        }
        return;
      }
    }
    const trimmed = line.trim();
    if (trimmed === "") return;
    const frame = parse(trimmed);
    if (frame.kind === "value") {
      this.emit(frame);
      return;
    }
    const first = trimmed.charCodeAt(0);
    if (first === 123 || first === 91) {
      const state: Scan = { depth: 0, inString: false, escaped: false, broken: false };
      scan(state, trimmed);
      if (!state.broken && state.depth > 0) {
        this.state = state;
        this.pending = [trimmed];
        this.pendingChars = trimmed.length;
        return;
      }
    }
    this.emit(frame);
  }

  private flushPending(reason: string): void {
    const text = this.pending.join("\n");
    this.reset();
    this.emit({ kind: "malformed", text, reason });
  }

  private reset(): void {
    this.pending = [];
    this.pendingChars = 0;
    this.state = { depth: 0, inString: false, escaped: false, broken: false };
  }
}

/**
 * Serialises a JSON value on one line in Python's `json.dumps` layout: `{"type": "routed", "in_reply_to": 1}`.
 * Non-ASCII characters are escaped (`"\u00e9"`), so the output is plain ASCII whatever the terminal's encoding.
 * `undefined` fields are left out; non-finite numbers become `null` (as `JSON.stringify` does).
 *
 * @example
 * ```ts
 * formatLine({ type: "users_response", in_reply_to: 1, version: "v1", canary: false });
 * // '{"type": "users_response", "in_reply_to": 1, "version": "v1", "canary": false}'
 * ```
 */
export function formatLine(value: unknown): string {
  return write(value) ?? "null";
}

function write(value: unknown): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? "null").join(", ")}]`;
      const parts: string[] = [];
      for (const key of Object.keys(value)) {
        const field = write((value as Record<string, unknown>)[key]);
        if (field !== undefined) parts.push(`${quote(key)}: ${field}`);
      }
      return `{${parts.join(", ")}}`;
    }
    default:
      return undefined;
  }
}

const NON_ASCII = /[\u0080-\uffff]/g;

function quote(text: string): string {
  return JSON.stringify(text).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

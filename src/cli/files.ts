/**
 * Reading the JSON files the commands take (router configs, rollout plans, traffic models), with errors that point
 * at the line and column.
 */
import { readFileSync, statSync } from "node:fs";
import { UsageError } from "./args.js";

/** Larger files are refused: a config is a few kilobytes. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** A JSON syntax error with its position (1-based line and column). */
export interface JsonSyntaxError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A file's parsed content, or its syntax error. */
export type JsonFile = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: JsonSyntaxError };

/**
 * Reads and parses a JSON file. A missing or unreadable file is a {@link UsageError} (exit 2); a syntax error is
 * returned with its line and column, so that `validate` can list it as a problem of the file.
 *
 * @example
 * ```ts
 * const file = readJson("router.json", "validate");
 * if (!file.ok) console.error(`router.json:${file.error.line}:${file.error.column}: ${file.error.message}`);
 * ```
 */
export function readJson(path: string, command: string): JsonFile {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) throw new UsageError(`${path}: the file has ${size} bytes; at most ${MAX_FILE_BYTES} are read`, command);
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: unknown }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : String(error);
    throw new UsageError(`${path}: ${why}`, command);
  }
  return parseJsonText(text);
}

/**
 * Parses JSON text; on a syntax error, finds where it is.
 *
 * @example
 * ```ts
 * parseJsonText('{"a": }'); // { ok: false, error: { line: 1, column: 7, message: "expected a value" } }
 * ```
 */
export function parseJsonText(text: string): JsonFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    const found = locate(body);
    const at = found?.at ?? body.length;
    const before = body.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    return { ok: false, error: { line, column, message: found?.message ?? (error instanceof Error ? error.message : String(error)) } };
  }
}

/** A small JSON recogniser that reports the first error's offset and what was expected there. */
function locate(text: string): { at: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw { at: i, message };
  };
  const space = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail("expected a value (an object, array, string, number, true, false or null)");
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail("the string is not closed");
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) fail("a control character (such as a line break) inside a string must be escaped");
      if (c === 92) {
        const next = text[i + 1];
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("\\u must be followed by four hex digits");
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else fail("unknown escape sequence");
      } else i++;
    }
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null) fail("expected a value (an object, array, string, number, true, false or null)");
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail("nested too deeply");
    space();
    const c = text[i];
    if (c === "{") {
      i++;
      space();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(text[i] === "}" ? "a trailing comma is not allowed in JSON" : "expected a property name in double quotes");
        string();
        space();
        if (text[i] !== ":") fail("expected ':' after the property name");
        i++;
        value(depth + 1);
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail("expected ',' or '}' after a property value");
      }
    } else if (c === "[") {
      i++;
      space();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] === "]") fail("a trailing comma is not allowed in JSON");
        value(depth + 1);
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail("expected ',' or ']' after an array element");
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === undefined) fail("unexpected end of the file: expected a value");
    else number();
  };
  try {
    value(0);
    space();
    if (i < text.length) fail("unexpected text after the JSON value");
    return undefined;
  } catch (error) {
    if (typeof error === "object" && error !== null && "at" in error) return error as { at: number; message: string };
    return undefined;
  }
}

/**
 * The decision procedure. One implementation serves `decide` (no trace: the hot path) and `explain` (a trace that
 * records every rule considered), so the two can never disagree.
 *
 * Precedence: explicit version (or unknown version) → header override → pin → experiment with a version → segment
 * → split (keyed), keyless (random / round-robin) or fallback. An experiment whose variant names no version only
 * annotates the decision. Mirroring is decided last, for the version chosen.
 */
import { type Decision, type ExplainStep, PinIgnored, type StickinessSource } from "../types.js";
import { BUCKETS, bucketOf } from "./hash.js";
import {
  type Compiled,
  type CompiledCompat,
  type CompiledCondition,
  type CompiledExperiment,
  EXPLICIT_RULES,
  ExplicitChannel,
  KNOWN_PINS_LIMIT,
  MatchKind,
  type KeySource,
  type PinNote,
  type Slot,
  matches,
  ownPins,
} from "./compile.js";
import { readPin } from "./pin.js";
import { type BagGetter, FieldSource, type LooseRequest, bagOf, getterOf, pathHasPrefix, pathOf, readBagWith, readField, readKeyHeader } from "./request.js";

/** What `explain` collects besides the decision. */
export interface Trace {
  readonly steps: ExplainStep[];
  key?: { source: StickinessSource; value: string };
  bucket?: number;
}

/** What decide sees when the request is not an object. */
export const EMPTY: LooseRequest = Object.freeze({});
const MAX_TOKEN = 64;

/**
 * Runs the rules. `rng` serves keyless traffic; a trace turns on explanation (and freezes round-robin state).
 * The header bag is read and classified (record or `get` method) once per decision, and only if a rule reads it.
 */
export function decideWith(c: Compiled, input: unknown, rng: () => number, trace: Trace | undefined): Decision {
  const request: LooseRequest = typeof input === "object" && input !== null ? (input as LooseRequest) : EMPTY;
  const headers = c.readsHeaders ? bagOf(request.headers) : undefined;
  return decideRequest(c, request, headers, getterOf(headers), rng, trace);
}

/** `decideWith` once the request is an object and its header bag has been read and classified. */
export function decideRequest(
  c: Compiled,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  rng: () => number,
  trace: Trace | undefined,
): Decision {
  // 1. The client asked for a version.
  if (c.explicit !== undefined) {
    const explicit = explicitChoice(c, request, headers, get, rng, trace);
    if (explicit !== undefined) return explicit;
  }

  // 2. Header overrides.
  const overrides = c.overrides;
  for (let i = 0; i < overrides.length; i++) {
    const override = overrides[i]!;
    const value = readBagWith(headers, get, override.condition.name);
    const hit = matches(override.condition, value);
    if (trace !== undefined) {
      // A value compared with the override secret is never repeated: on a match it is the secret.
      const shown = override.condition.kind === MatchKind.Secret ? (value === undefined ? "absent" : "a value (not shown)") : describe(value);
      step(trace, override.rule, "override", hit, `${override.condition.label}: ${shown}`);
    }
    if (hit) return finish(c, override.slot, request, null, rng, 0, trace, headers, get);
  }
  return afterOverrides(c, request, headers, get, rng, trace);
}

/** Steps 3–6: the pin, then (if it does not decide) experiments, segments and the split. */
export function afterOverrides(
  c: Compiled,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  rng: () => number,
  trace: Trace | undefined,
): Decision {
  // 3. A pin from an earlier step of the same transaction.
  let pinNote: PinNote = 0;
  const pin = request.pin;
  if (typeof pin === "string" && pin !== "") {
    // Fast path: a pin this revision made or already verified (a lookup and, for an expiring pin, a clock read).
    const known = c.knownPins.get(pin);
    if (known !== undefined) {
      // The instant is read only for an expiring pin, and compared in each branch: a double merged with another value
      // (`typeof now === "number" ? now : clock()`, or `request.now` read where requests without it pass too) is
      // boxed, a 16-byte allocation per call.
      const expiresAt = known.expiresAt;
      if (expiresAt === Number.POSITIVE_INFINITY || unexpired(c, request, expiresAt)) {
        if (trace !== undefined) step(trace, "pin", "pin", true, `pin for ${c.versions[known.version]} (authentic, not expired)`);
        return finish(c, c.pinned[known.version]!, request, null, rng, 0, trace, headers, get);
      }
      pinNote = 3;
      if (trace !== undefined) step(trace, "pin", "pin", false, "expired pin: ignored");
    } else {
      const reading = readPin(pin, c.pinKeys, nowOf(c, request));
      const live = reading.ok ? c.index.get(reading.version) : undefined;
      if (live !== undefined && reading.ok) {
        remember(c, pin, live, reading.expiresAt);
        if (trace !== undefined) step(trace, "pin", "pin", true, `pin for ${reading.version} from revision ${reading.revision}`);
        return finish(c, c.pinned[live]!, request, null, rng, 0, trace, headers, get);
      }
      pinNote = reading.ok ? 1 : reading.ignored === PinIgnored.Expired ? 3 : 2;
      if (trace !== undefined) {
        step(trace, "pin", "pin", false, reading.ok ? `pin names ${reading.version}, which is no longer live: ignored` : `${reading.ignored} pin: ignored`);
      }
    }
  } else if (trace !== undefined) {
    step(trace, "pin", "pin", false, "no pin");
  }
  return afterPin(c, request, headers, get, rng, pinNote, trace);
}

/** Whether a pin expiring at `expiresAt` is still good at the request's `now`, or the router's clock's. */
function unexpired(c: Compiled, request: LooseRequest, expiresAt: number): boolean {
  const now = request.now;
  return typeof now === "number" ? expiresAt > now : expiresAt > c.pinKeys.clock();
}

/** The instant a request is judged at: its own `now`, or the router's clock. */
function nowOf(c: Compiled, request: LooseRequest): number {
  const now = request.now;
  return typeof now === "number" ? now : c.pinKeys.clock();
}

/** Remembers a verified pin, so that its next use is a lookup; starts again from the revision's own pins when full. */
function remember(c: Compiled, pin: string, version: number, expiresAt: number): void {
  if (c.knownPins.size >= KNOWN_PINS_LIMIT) {
    c.knownPins.clear();
    ownPins(c);
  }
  c.knownPins.set(pin, { version, expiresAt });
}

/** Steps 4–6: experiments, segments, and the split (keyed or keyless). `pinNote` says why a pin was ignored. */
export function afterPin(
  c: Compiled,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  rng: () => number,
  pinNote: PinNote,
  trace: Trace | undefined,
): Decision {
  // 4. Experiments: the first one the request is eligible for applies.
  let key: string | undefined | null = null; // null: not read yet
  let annotated: CompiledExperiment | undefined;
  let variantIndex = 0;
  const experiments = c.experiments;
  for (let i = 0; i < experiments.length; i++) {
    const experiment = experiments[i]!;
    if (!eligible(experiment, request, headers, get, trace)) continue;
    let experimentKey: string | undefined;
    if (experiment.keySources === undefined) {
      if (key === null) key = readKey(c.keySources, request, headers, get, trace);
      experimentKey = key;
    } else {
      experimentKey = readKey(experiment.keySources, request, headers, get, undefined);
    }
    if (experimentKey === undefined) {
      if (trace !== undefined) step(trace, experiment.rule, "experiment", false, `${experiment.name}: no sticky key, not enrolled`);
      continue;
    }
    if (experiment.chooser === undefined) {
      variantIndex = experiment.table[bucketOf(experimentKey, experiment.seed)]!;
    } else {
      const chosen = experiment.chooser.choose(experimentKey);
      if (chosen < 0) {
        if (trace !== undefined)
          step(trace, experiment.rule, "experiment", false, `${experiment.name}: not enrolled under ${experiment.chooser.scheme} bucketing`);
        continue;
      }
      variantIndex = chosen;
    }
    const variant = experiment.variants[variantIndex]!;
    if (trace !== undefined) step(trace, experiment.rule, "experiment", true, `${experiment.name}: variant ${variant.name}`);
    if (variant.slot !== undefined) return finish(c, variant.slot, request, key, rng, pinNote, trace, headers, get);
    annotated = experiment;
    break;
  }

  // 5. Segments.
  const segments = c.segments;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (allMatch(segment.include, request, headers, get) && !anyMatch(segment.exclude, request, headers, get)) {
      if (trace !== undefined) step(trace, segment.rule, "segment", true, `${segment.name ?? "segment"} → ${segment.slot.base.version}`);
      return finish(c, annotate(segment.slot, annotated, variantIndex), request, key, rng, pinNote, trace, headers, get);
    }
    if (trace !== undefined)
      step(trace, segment.rule, "segment", false, `${segment.name ?? "segment"}: ${conditionsDetail(segment.include, segment.exclude, request, headers, get)}`);
  }

  // 6. The split: by the key's bucket, or keyless.
  if (key === null) key = readKey(c.keySources, request, headers, get, trace);
  let slot: Slot;
  const compat = c.compat;
  if (compat !== undefined && (key !== undefined || compat.chooser.sdkKeyless)) {
    const entry = key !== undefined ? compat.chooser.choose(key) : compat.chooser.keyless(rng);
    const version = entry < 0 ? c.stable : compat.entries[entry]!;
    slot = key !== undefined ? c.weighted[version]! : c.keylessSlots[version]!;
    if (trace !== undefined) traceCompat(trace, compat, key, entry, c.versions[version]!);
  } else if (key !== undefined) {
    const bucket = bucketOf(key, c.seed);
    slot = c.weighted[c.table[bucket]!]!;
    if (trace !== undefined) {
      trace.bucket = bucket;
      step(trace, "split", "split", true, `bucket ${bucket} of ${BUCKETS} → ${slot.base.version}`);
    }
  } else if (c.keyless === "stable") {
    slot = c.fallback;
    if (trace !== undefined) step(trace, "keyless", "keyless", true, `no sticky key → stable ${slot.base.version}`);
  } else if (c.keyless === "round-robin") {
    slot = c.keylessSlots[nextRoundRobin(c, trace !== undefined)]!;
    if (trace !== undefined) step(trace, "keyless", "keyless", true, `no sticky key → round-robin ${slot.base.version}`);
  } else {
    slot = randomSlot(c, rng);
    if (trace !== undefined) step(trace, "keyless", "keyless", true, `no sticky key → random ${slot.base.version}`);
  }
  return finish(c, annotate(slot, annotated, variantIndex), request, key, rng, pinNote, trace, headers, get);
}

/** Keyless `random`: the slot for one draw of `rng` (a draw outside [0, 1) is a fault: it throws). */
export function randomSlot(c: Compiled, rng: () => number): Slot {
  const r = rng();
  if (!(r >= 0 && r < 1)) throw new RangeError(`rng returned ${String(r)}, expected a number in [0, 1)`);
  return c.keylessSlots[c.table[Math.floor(r * BUCKETS)]!]!;
}

/**
 * Adds the mirror and the pin note, and picks the interned decision. `key` is `null` when it has not been read yet
 * (the mirror then reads it with `headers`/`get`, the classified header bag).
 */
export function finish(
  c: Compiled,
  slot: Slot,
  request: LooseRequest,
  key: string | undefined | null,
  rng: () => number,
  pinNote: PinNote,
  trace: Trace | undefined,
  headers: object | undefined,
  get: BagGetter | undefined,
): Decision {
  const mirror = c.mirror;
  let mirrored = false;
  if (mirror !== undefined && mirror.from[slot.versionIndex] === true && mirror.threshold > 0) {
    if (key === null) key = readKey(c.keySources, request, headers, get, undefined);
    if (key !== undefined) mirrored = bucketOf(key, mirror.seed) < mirror.threshold;
    else {
      const r = rng();
      mirrored = r >= 0 && r < 1 && Math.floor(r * BUCKETS) < mirror.threshold;
    }
    if (trace !== undefined) step(trace, "mirror", "mirror", mirrored, mirrored ? `copy to ${mirror.version}` : `not sampled (${mirror.threshold / 100} %)`);
  }
  return slot.decision(mirrored, pinNote);
}

/** Explains a split decided by a compatibility scheme. */
function traceCompat(trace: Trace, compat: CompiledCompat, key: string | undefined, entry: number, version: string): void {
  const scheme = compat.chooser.scheme;
  if (key === undefined) {
    step(trace, "keyless", "keyless", true, `no sticky key → ${entry < 0 ? "not enrolled under" : "as"} ${scheme} → ${version}`);
    return;
  }
  const position = compat.chooser.position(key);
  trace.bucket = Math.min(BUCKETS - 1, Math.floor(position * BUCKETS));
  const where = `${scheme} position ${+position.toFixed(6)}`;
  step(trace, "split", "split", true, entry < 0 ? `${where}: not enrolled → stable ${version}` : `${where} → entry ${entry} of bucketing order → ${version}`);
}

function annotate(slot: Slot, experiment: CompiledExperiment | undefined, variantIndex: number): Slot {
  if (experiment === undefined) return slot;
  return slot.withExperiment(experiment.codeBase + variantIndex, experiment.variants[variantIndex]!.experiment);
}

/** The first present sticky key, or `undefined`. Empty strings count as absent. */
export function readKey(
  sources: readonly KeySource[],
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  trace: Trace | undefined,
): string | undefined {
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]!;
    const value =
      source.source === FieldSource.Header ? readKeyHeader(headers, get, source.name) : readField(request, source.source, source.name, headers, get);
    if (value !== undefined && value !== "") {
      if (trace !== undefined) trace.key = { source: source.label, value };
      return value;
    }
  }
  return undefined;
}

function allMatch(conditions: readonly CompiledCondition[], request: LooseRequest, headers: object | undefined, get: BagGetter | undefined): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i]!;
    if (!matches(condition, readField(request, condition.source, condition.name, headers, get))) return false;
  }
  return true;
}

function anyMatch(conditions: readonly CompiledCondition[], request: LooseRequest, headers: object | undefined, get: BagGetter | undefined): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i]!;
    if (matches(condition, readField(request, condition.source, condition.name, headers, get))) return true;
  }
  return false;
}

function eligible(
  experiment: CompiledExperiment,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  trace: Trace | undefined,
): boolean {
  const paths = experiment.paths;
  if (paths !== undefined) {
    const path = pathOf(request);
    let inPaths = false; // a loop, not .some(): a closure would be allocated on every call
    for (let i = 0; i < paths.length && !inPaths; i++) inPaths = pathHasPrefix(path, paths[i]!);
    if (!inPaths) {
      if (trace !== undefined) step(trace, experiment.rule, "experiment", false, `${experiment.name}: path ${describe(path)} not in [${paths.join(", ")}]`);
      return false;
    }
  }
  if (allMatch(experiment.include, request, headers, get) && !anyMatch(experiment.exclude, request, headers, get)) return true;
  if (trace !== undefined) {
    step(
      trace,
      experiment.rule,
      "experiment",
      false,
      `${experiment.name}: targeting ${conditionsDetail(experiment.include, experiment.exclude, request, headers, get)}`,
    );
  }
  return false;
}

/** Smooth weighted round-robin (as in nginx): exact proportions in every run of Σweights requests. */
export function nextRoundRobin(c: Compiled, peek: boolean): number {
  const { weights, current, total } = c.roundRobin;
  let best = -1;
  let bestValue = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w === 0) continue;
    const value = current[i]! + w;
    if (best < 0 || value > bestValue) {
      best = i;
      bestValue = value;
    }
  }
  if (!peek) {
    for (let i = 0; i < weights.length; i++) current[i]! += weights[i]!;
    current[best]! -= total;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Explicit versions
// ---------------------------------------------------------------------------------------------------------------

/** Step 1: the version the client asked for (path, header, Accept, query), if any. */
export function explicitChoice(
  c: Compiled,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  rng: () => number,
  trace: Trace | undefined,
): Decision | undefined {
  const explicit = c.explicit!;
  if (explicit.pathPrefix !== undefined) {
    const token = pathToken(request, explicit.pathPrefix);
    if (token !== undefined && (explicit.tokens.has(token) || explicit.pathPattern.test(token))) {
      return resolveToken(c, ExplicitChannel.Path, token, request, headers, get, rng, trace);
    }
    if (trace !== undefined)
      step(
        trace,
        EXPLICIT_RULES[ExplicitChannel.Path],
        "explicit",
        false,
        token === undefined ? "no version segment in the path" : `path segment ${describe(token)} is not a version`,
      );
  }
  if (explicit.header !== undefined) {
    const token = readBagWith(headers, get, explicit.header)?.trim();
    if (token) return resolveToken(c, ExplicitChannel.Header, token, request, headers, get, rng, trace);
    if (trace !== undefined) step(trace, EXPLICIT_RULES[ExplicitChannel.Header], "explicit", false, `header ${explicit.header} is missing`);
  }
  if (explicit.acceptNeedle !== undefined) {
    const token = acceptToken(readBagWith(headers, get, "accept"), explicit.acceptNeedle);
    if (token) return resolveToken(c, ExplicitChannel.Accept, token, request, headers, get, rng, trace);
    if (trace !== undefined)
      step(trace, EXPLICIT_RULES[ExplicitChannel.Accept], "explicit", false, `no application/${explicit.acceptNeedle}… media type in Accept`);
  }
  if (explicit.query !== undefined) {
    const token = readField(request, FieldSource.Query, explicit.query, headers, get)?.trim();
    if (token) return resolveToken(c, ExplicitChannel.Query, token, request, headers, get, rng, trace);
    if (trace !== undefined) step(trace, EXPLICIT_RULES[ExplicitChannel.Query], "explicit", false, `query parameter ${explicit.query} is missing`);
  }
  return undefined;
}

function resolveToken(
  c: Compiled,
  channel: ExplicitChannel,
  token: string,
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
  rng: () => number,
  trace: Trace | undefined,
): Decision {
  const rule = EXPLICIT_RULES[channel];
  const version = c.explicit!.tokens.get(token);
  if (version !== undefined) {
    if (trace !== undefined) step(trace, rule, "explicit", true, `${describe(token)} → ${c.versions[version]}`);
    return finish(c, c.explicit!.slots[channel]![version]!, request, null, rng, 0, trace, headers, get);
  }
  if (trace !== undefined) step(trace, rule, "explicit", true, `${describe(token)} names no live version → unknown_version`);
  const stable = c.error.base;
  return Object.freeze({
    version: stable.version,
    reason: "unknown_version",
    canary: stable.canary,
    rule,
    ...(stable.lifecycle === undefined ? {} : { lifecycle: stable.lifecycle }),
    pin: stable.pin,
    revision: c.revision,
    requested: requestedName(c, token),
  });
}

/**
 * What an `unknown_version` decision reports as `requested`: the version name the client asked for, in the
 * config's naming. Tokens resolve by `"v" + token` first (`2` reaches `v2`), so when versions are named `v…` an
 * unknown token starting with a digit is reported with its `v` (`9`, from `X-API-Version: 9` or `?version=9`, is
 * `v9`, as `/api/v9/` is); any other token is reported as sent. At most 64 characters.
 */
function requestedName(c: Compiled, token: string): string {
  const code = token.charCodeAt(0);
  const name = c.explicit!.vNamed && code >= 48 /* 0 */ && code <= 57 /* 9 */ ? `v${token}` : token;
  return name.length > MAX_TOKEN ? name.slice(0, MAX_TOKEN) : name;
}

/** The path segment right after the prefix (`/api/` + `v2` + `/users`), if any. */
function pathToken(request: LooseRequest, prefix: string): string | undefined {
  const path = request.path;
  if (typeof path !== "string" || !path.startsWith(prefix)) return undefined;
  let end = prefix.length;
  while (end < path.length) {
    const code = path.charCodeAt(end);
    if (code === 47 /* / */ || code === 63 /* ? */ || code === 35 /* # */) break;
    end++;
  }
  return end > prefix.length && end - prefix.length <= MAX_TOKEN ? path.slice(prefix.length, end) : undefined;
}

/** The version token of a vendor media type in an Accept header: `application/vnd.api.v2+json` → `v2`. */
function acceptToken(accept: string | undefined, needle: string): string | undefined {
  if (accept === undefined) return undefined;
  const at = accept.toLowerCase().indexOf(needle);
  if (at < 0) return undefined;
  const start = at + needle.length;
  let end = start;
  while (end < accept.length && end - start <= MAX_TOKEN) {
    const ch = accept[end]!;
    if (ch === "+" || ch === ";" || ch === "," || ch === " ") break;
    end++;
  }
  return end > start ? accept.slice(start, end) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Explanation helpers (never on the hot path: every call is behind `trace !== undefined`)
// ---------------------------------------------------------------------------------------------------------------

function step(trace: Trace, rule: string, kind: string, matched: boolean, detail: string): void {
  trace.steps.push(Object.freeze({ rule, kind, matched, detail }));
}

function describe(value: string | undefined): string {
  if (value === undefined) return "missing";
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function conditionsDetail(
  include: readonly CompiledCondition[],
  exclude: readonly CompiledCondition[],
  request: LooseRequest,
  headers: object | undefined,
  get: BagGetter | undefined,
): string {
  const read = (condition: CompiledCondition) => readField(request, condition.source, condition.name, headers, get);
  const failed = include.find((condition) => !matches(condition, read(condition)));
  if (failed !== undefined) return `include ${failed.label} does not hold (${describe(read(failed))})`;
  const hit = exclude.find((condition) => matches(condition, read(condition)));
  if (hit !== undefined) return `excluded by ${hit.label}`;
  return "matches";
}

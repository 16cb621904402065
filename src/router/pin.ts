/**
 * Pins: `<version>~<revision base 36>~<mac>`, or with an expiry `<version>~<revision base 36>~<expiry>~<mac>` (the
 * expiry in epoch seconds, base 36). The mac is HMAC-SHA-256 of `turnout-pin:` and the parts before it, keyed by the
 * pin secret, its first 64 bits in hex. Pins of the current revision are known to the router (computed when the
 * revision is compiled, or when issued or first verified) and recognised by one map lookup; only other pins cost an
 * HMAC.
 */
import { PinIgnored, type PinSigner, type PreviousPinSecret } from "../types.js";
import { VERSION_NAME } from "./validate.js";

/** Pins longer than this are refused without parsing. */
export const MAX_PIN_LENGTH = 128;

/** Hex characters of the MAC kept in a pin: 64 bits. */
const MAC_HEX = 16;
const DOMAIN = "turnout-pin:";

/** The keys pins are signed and verified with, made once per router. */
export interface PinKeys {
  /** MAC of a pin body with the current secret (first 64 bits, hex). */
  readonly sign: (body: string) => string;
  /** Previous secrets, accepted until `until` (epoch ms; `Infinity` while listed). */
  readonly previous: readonly { readonly sign: (body: string) => string; readonly until: number }[];
  readonly clock: () => number;
}

/** Makes the keys from the router's options (already validated). */
export function pinKeys(signer: PinSigner, secret: string, previous: readonly (string | PreviousPinSecret)[], clock: () => number): PinKeys {
  const keyed = (key: string): ((body: string) => string) => {
    const mac = signer(key);
    return (body) => mac(DOMAIN + body).slice(0, MAC_HEX);
  };
  return {
    sign: keyed(secret),
    previous: previous.map((entry) =>
      typeof entry === "string" ? { sign: keyed(entry), until: Number.POSITIVE_INFINITY } : { sign: keyed(entry.secret), until: instant(entry.until) },
    ),
    clock,
  };
}

/** Epoch ms of a number or an ISO 8601 date (NaN when neither). */
export function instant(value: number | string): number {
  return typeof value === "number" ? value : Date.parse(value);
}

/** The pin for `version` at `revision`, with an expiry (epoch seconds) or without. */
export function encodePin(version: string, revision: number, keys: PinKeys, expiresAtSeconds?: number): string {
  const body = expiresAtSeconds === undefined ? `${version}~${revision.toString(36)}` : `${version}~${revision.toString(36)}~${expiresAtSeconds.toString(36)}`;
  return `${body}~${keys.sign(body)}`;
}

/** The outcome of reading a pin that the router did not already know. */
export type PinReading =
  | { readonly ok: true; readonly version: string; readonly revision: number; readonly expiresAt: number }
  | { readonly ok: false; readonly ignored: PinIgnored };

const INVALID: PinReading = Object.freeze({ ok: false, ignored: PinIgnored.Invalid });
const EXPIRED: PinReading = Object.freeze({ ok: false, ignored: PinIgnored.Expired });
const BASE36 = /^[0-9a-z]{1,11}$/;
const MAC = /^[0-9a-f]{16}$/;

/**
 * Parses and verifies a pin: its format, its MAC (current secret, then previous ones still accepted) and its expiry
 * against `now`. Says nothing about whether the version is live; that is the caller's question. Never throws.
 */
export function readPin(pin: string, keys: PinKeys, now: number): PinReading {
  if (pin.length > MAX_PIN_LENGTH) return INVALID;
  const parts = pin.split("~");
  if (parts.length !== 3 && parts.length !== 4) return INVALID;
  const [version, revisionText] = parts as [string, string];
  const expiryText = parts.length === 4 ? (parts[2] as string) : undefined;
  const mac = parts[parts.length - 1] as string;
  if (!VERSION_NAME.test(version) || !BASE36.test(revisionText) || !MAC.test(mac)) return INVALID;
  if (expiryText !== undefined && !BASE36.test(expiryText)) return INVALID;
  const body = pin.slice(0, pin.length - MAC_HEX - 1);
  if (!signedBy(keys, body, mac, now)) return INVALID;
  const expiresAt = expiryText === undefined ? Number.POSITIVE_INFINITY : Number.parseInt(expiryText, 36) * 1000;
  if (!(expiresAt > now)) return EXPIRED;
  return { ok: true, version, revision: Number.parseInt(revisionText, 36), expiresAt };
}

function signedBy(keys: PinKeys, body: string, mac: string, now: number): boolean {
  if (equalHex(keys.sign(body), mac)) return true;
  for (const previous of keys.previous) {
    if (previous.until > now && equalHex(previous.sign(body), mac)) return true;
  }
  return false;
}

/** Compares two strings of equal length without stopping at the first difference. */
export function equalHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

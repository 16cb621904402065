/**
 * Pins: `<version>~<revision base 36>~<mac>`, or with an expiry `<version>~<revision base 36>~<expiry>~<mac>` (the
 * expiry in epoch seconds, base 36). The mac is HMAC-SHA-256 of `turnout-pin:` and the parts before it, keyed by the
 * pin secret, its first 64 bits in hex. Pins of the current revision are known to the router (computed when the
 * revision is compiled, or when issued or first verified) and recognised by one map lookup; only other pins cost an
 * HMAC.
 */
import { PinIgnored, type PinSigner, type PreviousPinSecret } from "../types.js";
import { hmacSha256, hmacSha256Into } from "./hmac.js";
import { VERSION_NAME } from "./validate.js";

/** Pins longer than this are refused without parsing. */
export const MAX_PIN_LENGTH = 128;

/** Hex characters of the MAC kept in a pin: 64 bits. */
const MAC_HEX = 16;
const DOMAIN = "turnout-pin:";

/** One secret's MAC of pin bodies. */
interface PinKey {
  /** MAC of a pin body (first 64 bits, hex). */
  readonly sign: (body: string) => string;
  /** Whether the pin's MAC (its last 16 characters, lower-case hex) is that of its first `bodyEnd` characters. */
  readonly verify: (pin: string, bodyEnd: number) => boolean;
}

/** The keys pins are signed and verified with, made once per router. */
export interface PinKeys extends PinKey {
  /** Previous secrets, accepted until `until` (epoch ms; `Infinity` while listed). */
  readonly previous: readonly (PinKey & { readonly until: number })[];
  readonly clock: () => number;
}

/** The value of a lower-case hex digit (already checked). */
function hexDigit(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/**
 * A key for `signer`. With turnout's own HMAC, verifying hashes the pin's characters where they are and compares
 * words: no string is built and nothing is allocated. Another signer is called with the body as a string.
 */
function keyed(signer: PinSigner, secret: string): PinKey {
  if (signer === hmacSha256) {
    const mac = hmacSha256Into(secret);
    const words = new Int32Array(8);
    const sign = (body: string): string => {
      mac(DOMAIN, body, body.length, words);
      return ((words[0] as number) >>> 0).toString(16).padStart(8, "0") + ((words[1] as number) >>> 0).toString(16).padStart(8, "0");
    };
    const verify = (pin: string, bodyEnd: number): boolean => {
      mac(DOMAIN, pin, bodyEnd, words);
      let high = 0;
      let low = 0;
      const at = bodyEnd + 1;
      for (let i = 0; i < 8; i++) {
        high = (high << 4) | hexDigit(pin.charCodeAt(at + i));
        low = (low << 4) | hexDigit(pin.charCodeAt(at + 8 + i));
      }
      return (((words[0] as number) ^ high) | ((words[1] as number) ^ low)) === 0;
    };
    return { sign, verify };
  }
  const mac = signer(secret);
  const sign = (body: string): string => mac(DOMAIN + body).slice(0, MAC_HEX);
  return { sign, verify: (pin, bodyEnd) => equalHex(sign(pin.slice(0, bodyEnd)), pin.slice(bodyEnd + 1)) };
}

/** Makes the keys from the router's options (already validated). */
export function pinKeys(signer: PinSigner, secret: string, previous: readonly (string | PreviousPinSecret)[], clock: () => number): PinKeys {
  return {
    ...keyed(signer, secret),
    previous: previous.map((entry) =>
      typeof entry === "string"
        ? { ...keyed(signer, entry), until: Number.POSITIVE_INFINITY }
        : { ...keyed(signer, entry.secret), until: instant(entry.until) },
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
  if (!signedBy(keys, pin, pin.length - MAC_HEX - 1, now)) return INVALID;
  const expiresAt = expiryText === undefined ? Number.POSITIVE_INFINITY : Number.parseInt(expiryText, 36) * 1000;
  if (!(expiresAt > now)) return EXPIRED;
  return { ok: true, version, revision: Number.parseInt(revisionText, 36), expiresAt };
}

function signedBy(keys: PinKeys, pin: string, bodyEnd: number, now: number): boolean {
  if (keys.verify(pin, bodyEnd)) return true;
  for (const previous of keys.previous) {
    if (previous.until > now && previous.verify(pin, bodyEnd)) return true;
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

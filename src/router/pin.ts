/**
 * Pins: `<version>~<revision base 36>~<checksum base 36>`. The checksum is MurmurHash3 of the first two parts
 * seeded by the pin secret, so garbled pins are recognised; it is not a cryptographic MAC (a pin only ever leads to a
 * version that is live anyway).
 */
import { PinIgnored } from "../types.js";
import { murmur3Signed } from "./hash.js";
import { VERSION_NAME } from "./validate.js";

/** Pins longer than this are refused without parsing. */
export const MAX_PIN_LENGTH = 128;

/** Encodes the pin for `version` at `revision`. */
export function encodePin(version: string, revision: number, pinSeed: number): string {
  const body = `${version}~${revision.toString(36)}`;
  return `${body}~${(murmur3Signed(body, pinSeed) >>> 0).toString(36)}`;
}

/** The outcome of reading a pin that is not one of the current revision's. */
export type PinReading =
  | { readonly ok: true; readonly version: string; readonly revision: number }
  | { readonly ok: false; readonly ignored: PinIgnored; readonly version?: string };

/** Parses and verifies a pin. Says whether the version is well-formed; liveness is the caller's question. */
export function readPin(pin: string, pinSeed: number): PinReading {
  if (pin.length > MAX_PIN_LENGTH) return { ok: false, ignored: PinIgnored.Invalid };
  const first = pin.indexOf("~");
  const second = first < 0 ? -1 : pin.indexOf("~", first + 1);
  if (first < 1 || second < 0 || pin.indexOf("~", second + 1) >= 0) return { ok: false, ignored: PinIgnored.Invalid };
  const version = pin.slice(0, first);
  const revisionText = pin.slice(first + 1, second);
  const check = pin.slice(second + 1);
  if (!VERSION_NAME.test(version) || !/^[0-9a-z]{1,11}$/.test(revisionText) || !/^[0-9a-z]{1,7}$/.test(check)) {
    return { ok: false, ignored: PinIgnored.Invalid };
  }
  const body = pin.slice(0, second);
  if ((murmur3Signed(body, pinSeed) >>> 0).toString(36) !== check) return { ok: false, ignored: PinIgnored.Invalid };
  return { ok: true, version, revision: Number.parseInt(revisionText, 36) };
}

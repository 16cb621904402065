import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TurnoutConfigError, createRouter } from "../../../src/index.js";
import { murmur3Signed, seedOf } from "../../../src/router/hash.js";
import { hmacSha256, hmacSha256Into } from "../../../src/router/hmac.js";
import type { PinSigner, RouterConfig } from "../../../src/types.js";

const config: RouterConfig = { versions: ["v1", "v2", "preview"], stable: "v1", canary: "v2", split: { v1: 90, v2: 10 } };
const SECRET = "a-long-random-pin-secret-0123456789";
const nodeSigner: PinSigner = (secret) => (data) => createHmac("sha256", secret).update(data).digest("hex");

/** A router whose clock is `t.now`. */
function routerAt(t: { now: number }, options: Parameters<typeof createRouter>[1] = {}) {
  return createRouter(config, { pinSecret: SECRET, clock: () => t.now, ...options });
}

describe("HMAC-SHA-256 (the default pin signer)", () => {
  it("gives RFC 4231's results", () => {
    expect(hmacSha256("Jefe")("what do ya want for nothing?")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("equals node:crypto for any secret and data (multi-block, non-ASCII, long keys)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 150, unit: "grapheme" }), fc.string({ maxLength: 300, unit: "grapheme" }), (secret, data) => {
        expect(hmacSha256(secret)(data)).toBe(nodeSigner(secret)(data));
      }),
      { numRuns: 300 },
    );
  });

  it("equals node:crypto for text with lone surrogates (each one U+FFFD, as UTF-8 encodes it) beside pairs and other characters", () => {
    const pieces = ["a", "é", "€", "😀", "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"];
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 24 }).map((parts) => parts.join(""));
    const words = new Int32Array(8);
    const hex = (out: Int32Array): string => Array.from(out, (w) => (w >>> 0).toString(16).padStart(8, "0")).join("");
    fc.assert(
      // The prefix is ASCII, as the router's is ("turnout-pin:"): a pair split between prefix and text would be two U+FFFD.
      fc.property(fc.string({ maxLength: 12 }), text, fc.nat(), (prefix, data, cut) => {
        // The secret goes through the same encoder as the data; hmacSha256Into (how pins are verified) has its own.
        expect(hmacSha256(`k${data}`)(data)).toBe(nodeSigner(`k${data}`)(data));
        const end = cut % (data.length + 1);
        hmacSha256Into("k")(prefix, data, end, words);
        expect(hex(words)).toBe(nodeSigner("k")(prefix + data.slice(0, end)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("HMAC-SHA-256 over reused buffers (how pins are verified)", () => {
  const hex = (words: Int32Array): string => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, "0")).join("");

  it("gives RFC 4231's results and node:crypto's for a key longer than a block, call after call on the same buffers", () => {
    const words = new Int32Array(8);
    const long = hmacSha256Into("k".repeat(131));
    const jefe = hmacSha256Into("Jefe");
    for (let round = 0; round < 3; round++) {
      long("", "Test Using Larger Than Block-Size Key - Hash Key First", 54, words);
      expect(hex(words)).toBe(nodeSigner("k".repeat(131))("Test Using Larger Than Block-Size Key - Hash Key First"));
      jefe("what do ya ", "want for nothing?!!!", 17, words); // a prefix, then the first 17 characters of the text
      expect(hex(words)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
  });

  it("equals node:crypto for any secret, prefix and text cut, in any order of lengths", () => {
    const words = new Int32Array(8);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 150, unit: "grapheme" }),
        fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 300, unit: "grapheme" }), fc.nat()), { minLength: 1, maxLength: 6 }),
        (secret, calls) => {
          const mac = hmacSha256Into(secret);
          for (const [prefix, text, cut] of calls) {
            const end = text.length === 0 ? 0 : cut % (text.length + 1);
            mac(prefix, text, end, words);
            expect(hex(words)).toBe(nodeSigner(secret)(prefix + text.slice(0, end)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("an earlier revision's pins signed with node:crypto are verified alike (the first use), a flipped MAC digit refused", () => {
    const names = ["v1", "v2", "a".repeat(64), "B-9.x_" + "z".repeat(40)];
    const wide: RouterConfig = { versions: names, stable: "v1" };
    for (const name of names) {
      const signer = createRouter({ versions: names, stable: name }, { revision: 7, pinSecret: SECRET, pinSigner: nodeSigner });
      for (const expiry of [undefined, 4e12]) {
        const pin = expiry === undefined ? signer.decide({}).pin : signer.issuePin(name, expiry);
        expect(pin).toBeDefined();
        const flipped = `${pin!.slice(0, -1)}${pin!.endsWith("0") ? "1" : "0"}`;
        const verifier = createRouter(wide, { revision: 8, pinSecret: SECRET, clock: () => 1e12 });
        expect(verifier.decide({ pin: flipped })).toMatchObject({ pinIgnored: "invalid" });
        expect(verifier.decide({ pin })).toMatchObject({ version: name, reason: "pinned" });
      }
    }
  });
});

describe("pins cannot be forged", () => {
  const t = { now: Date.UTC(2026, 0, 1) };
  const router = routerAt(t);
  const v1 = router.decide({ key: "user-1", headers: {} });
  const issued = router.issuePin("v1", t.now + 60_000);

  it("a genuine pin, with and without expiry, is honoured", () => {
    expect(v1.pin).toMatch(/^v1~1~[0-9a-f]{16}$/);
    expect(router.decide({ key: "x", pin: v1.pin }).reason).toBe("pinned");
    expect(issued).toMatch(/^v1~1~[0-9a-z]+~[0-9a-f]{16}$/);
    expect(router.decide({ key: "x", pin: issued })).toMatchObject({ reason: "pinned", version: "v1" });
  });

  it("a flipped version (v1 → preview, v1 → v2) is refused as invalid, and routing goes on as if there were no pin", () => {
    for (const target of ["preview", "v2"]) {
      for (const pin of [v1.pin.replace(/^v1/, target), issued.replace(/^v1/, target)]) {
        const decision = router.decide({ key: "user-1", pin });
        expect(decision).toMatchObject({ reason: "weighted_routing", pinIgnored: "invalid", version: v1.version });
      }
    }
  });

  it("the old scheme's attack (the 32-bit seed recovered offline from one pin) mints nothing that is accepted", () => {
    // What an attacker with the recovered seed could mint under the old scheme: MurmurHash3 checksums.
    const seed = seedOf(SECRET);
    const mint = (body: string): string => `${body}~${(murmur3Signed(body, seed) >>> 0).toString(36)}`;
    for (const pin of [mint("preview~1"), mint("v2~1"), mint("preview~2")]) {
      expect(router.decide({ key: "user-1", pin })).toMatchObject({ reason: "weighted_routing", pinIgnored: "invalid" });
    }
    // Nor a checksum of the new shape computed with the old hash.
    const fake = `preview~1~${(murmur3Signed("preview~1", seed) >>> 0).toString(16).padStart(16, "0")}`;
    expect(router.decide({ key: "user-1", pin: fake }).pinIgnored).toBe("invalid");
  });

  it("truncated, extended or garbled pins are refused, never a throw", () => {
    const garbled = [
      v1.pin.slice(0, -1),
      `${v1.pin}0`,
      v1.pin.toUpperCase(),
      `${v1.pin}~`,
      `~${v1.pin}`,
      v1.pin.replace(/~1~/, "~2~"),
      issued.replace(/~([0-9a-z]+)~([0-9a-f]{16})$/, (_, e: string, mac: string) => `~${(Number.parseInt(e, 36) + 1).toString(36)}~${mac}`),
      "v1~1",
      "~~~",
      "v1~1~zzzzzzzzzzzzzzzz",
      "x".repeat(10_000),
      "v1~1~0000000000000000",
    ];
    for (const pin of garbled) expect(router.decide({ key: "user-1", pin }).pinIgnored, pin).toBe("invalid");
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (pin) => {
        const decision = router.decide({ key: "user-1", pin });
        expect(decision.reason === "pinned" ? pin === v1.pin || pin === issued : true).toBe(true);
      }),
    );
  });

  it("a pin signed with another secret (or none) is refused", () => {
    const other = createRouter(config, { pinSecret: "some-other-secret" });
    const unsigned = createRouter(config);
    for (const r of [other, unsigned]) {
      expect(router.decide({ key: "user-1", pin: r.decide({ key: "a" }).pin }).pinIgnored).toBe("invalid");
      expect(router.decide({ key: "user-1", pin: r.issuePin("preview", t.now + 60_000) }).pinIgnored).toBe("invalid");
    }
  });

  it("a pin of an earlier revision is honoured while its version is live (the HMAC is checked once, then remembered)", () => {
    const r = routerAt(t);
    const old = r.decide({ key: "user-2" }).pin;
    const oldIssued = r.issuePin("v2", t.now + 60_000);
    r.update({ ...config, split: { v1: 50, v2: 50 } });
    expect(r.decide({ key: "x", pin: old })).toMatchObject({ reason: "pinned", revision: 2 });
    expect(r.decide({ key: "x", pin: oldIssued })).toMatchObject({ reason: "pinned", version: "v2" });
    r.update({ versions: ["v1", "v2"], stable: "v1" });
    expect(r.decide({ key: "x", pin: r.issuePin("v2", t.now + 60_000) }).reason).toBe("pinned");
  });
});

describe("pins expire", () => {
  it("an issued pin is honoured until its expiry, then refused as expired (a fresh decision)", () => {
    const t = { now: Date.UTC(2026, 0, 1) };
    const router = routerAt(t);
    const pin = router.issuePin("preview", t.now + 15 * 60_000);
    expect(router.decide({ key: "user-1", pin }).version).toBe("preview");
    t.now += 15 * 60_000 - 1000;
    expect(router.decide({ key: "user-1", pin }).version).toBe("preview");
    t.now += 1000;
    expect(router.decide({ key: "user-1", pin })).toMatchObject({ reason: "weighted_routing", pinIgnored: "expired" });
    // The request's own `now` wins over the clock.
    expect(router.decide({ key: "user-1", pin, now: t.now - 5000 }).version).toBe("preview");
  });

  it("a pin this router did not issue (another instance issued it) is refused as expired from the exact instant of its expiry", () => {
    const t = { now: Date.UTC(2026, 0, 1) };
    const pin = routerAt(t).issuePin("preview", t.now + 60_000);
    t.now += 60_000 - 1;
    expect(routerAt(t).decide({ key: "user-1", pin }).version).toBe("preview");
    t.now += 1;
    expect(routerAt(t).decide({ key: "user-1", pin })).toMatchObject({ reason: "weighted_routing", pinIgnored: "expired" });
  });

  it("a pin seen before (verified once, then remembered) is refused from the exact instant of its expiry, by the request's now or the clock", () => {
    const t = { now: Date.UTC(2026, 0, 1) };
    const expiry = t.now + 60_000;
    const pin = routerAt(t).issuePin("preview", expiry);
    const router = routerAt(t);
    expect(router.decide({ key: "user-1", pin }).version).toBe("preview"); // verified, now remembered
    expect(router.decide({ key: "user-1", pin, now: expiry - 1 }).version).toBe("preview");
    expect(router.decide({ key: "user-1", pin, now: expiry })).toMatchObject({ reason: "weighted_routing", pinIgnored: "expired" });
    t.now = expiry - 1;
    expect(router.decide({ key: "user-1", pin }).version).toBe("preview");
    t.now = expiry;
    expect(router.decide({ key: "user-1", pin })).toMatchObject({ reason: "weighted_routing", pinIgnored: "expired" });
  });

  it("an expired pin of an earlier revision is refused too (checked after the MAC)", () => {
    const t = { now: Date.UTC(2026, 0, 1) };
    const router = routerAt(t);
    const pin = router.issuePin("v2", t.now + 1000);
    router.update(config);
    t.now += 2000;
    expect(router.decide({ key: "user-1", pin }).pinIgnored).toBe("expired");
  });

  it("issuePin: same second, same pin (cached); an unknown version or a bad instant gives no pin", () => {
    const router = routerAt({ now: 0 });
    expect(router.issuePin("v1", 61_000)).toBe(router.issuePin("v1", 60_500));
    expect(router.issuePin("v1", 61_000)).not.toBe(router.issuePin("v1", 62_000));
    expect(router.issuePin("v9", 61_000)).toBe("");
    expect(router.issuePin("v1", Number.NaN)).toBe("");
  });
});

describe("rotation", () => {
  it("a previous secret is accepted while listed or until its `until`, then refused", () => {
    const t = { now: Date.UTC(2026, 0, 1) };
    const before = createRouter(config, { pinSecret: "old-secret-old-secret" });
    const oldPin = before.decide({ key: "a" }).pin;
    const oldIssued = before.issuePin("preview", t.now + 3_600_000);

    const listed = routerAt(t, { previousPinSecrets: ["old-secret-old-secret"] });
    expect(listed.decide({ key: "a", pin: oldPin }).reason).toBe("pinned");

    const until = routerAt(t, { previousPinSecrets: [{ secret: "old-secret-old-secret", until: new Date(t.now + 60_000).toISOString() }] });
    expect(until.decide({ key: "a", pin: oldIssued }).version).toBe("preview");
    // New pins are signed with the new secret only.
    expect(before.decide({ key: "a", pin: until.issuePin("v2", t.now + 60_000) }).pinIgnored).toBe("invalid");
    t.now += 60_000;
    const after = routerAt(t, { previousPinSecrets: [{ secret: "old-secret-old-secret", until: t.now }] });
    expect(after.decide({ key: "a", pin: oldIssued })).toMatchObject({ reason: "weighted_routing", pinIgnored: "invalid" });

    const dropped = routerAt(t);
    expect(dropped.decide({ key: "a", pin: oldPin }).pinIgnored).toBe("invalid");
  });
});

describe("signer option", () => {
  it("node:crypto's HMAC signs the same pins as the default", () => {
    const a = createRouter(config, { pinSecret: SECRET, pinSigner: nodeSigner });
    const b = createRouter(config, { pinSecret: SECRET });
    expect(a.decide({ key: "k" }).pin).toBe(b.decide({ key: "k" }).pin);
    expect(a.issuePin("v2", 1e12)).toBe(b.issuePin("v2", 1e12));
  });

  it("a signer that is not HMAC-SHA-256, and bad secrets and clocks, are refused with codes and paths", () => {
    try {
      createRouter(config, {
        pinSigner: () => () => "0".repeat(64),
        previousPinSecrets: ["", { secret: "x", until: "not a date" }] as never,
        clock: 5 as never,
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TurnoutConfigError);
      expect((error as TurnoutConfigError).problems.map((p) => `${p.code} ${p.path}`)).toEqual(
        expect.arrayContaining([
          "type options.previousPinSecrets[0].secret",
          "invalid_value options.previousPinSecrets[1].until",
          "type options.clock",
          "invalid_value options.pinSigner",
        ]),
      );
    }
  });
});

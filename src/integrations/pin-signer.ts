/**
 * `nodePinSigner`: HMAC-SHA-256 for pins from `node:crypto`, for `createRouter(config, { pinSigner })`.
 */
import { createHmac } from "node:crypto";
import type { PinSigner } from "../types.js";

/**
 * HMAC-SHA-256 from `node:crypto`, as a {@link PinSigner}. turnout's default signer (plain JavaScript, every runtime)
 * gives the same pins; this one uses OpenSSL. Measure both on your machine (`tsx bench/decide.ts --only=pin`).
 *
 * @example
 * ```ts
 * import { createRouter } from "turnout";
 * import { nodePinSigner } from "turnout/node";
 *
 * const router = createRouter({ versions: ["v1", "v2"], stable: "v1" }, { pinSecret: "0123456789abcdef0123", pinSigner: nodePinSigner });
 * console.log(router.issuePin("v1", Date.now() + 60_000));
 * ```
 */
export const nodePinSigner: PinSigner = (secret: string) => (data: string) => createHmac("sha256", secret).update(data).digest("hex");

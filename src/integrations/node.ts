// turnout/node — Node-only integrations: the reverse proxy with shadow traffic, and config-file hot reload.

/**
 * Node-only integrations: the reverse proxy with shadow traffic ({@link createProxy}) and config-file hot reload
 * ({@link watchConfig}).
 *
 * @module turnout/node
 */

export { createProxy } from "./node-proxy.js";
export type { ProxyCounters, TurnoutProxy } from "./node-proxy.js";
export type { PemInput, ProxyOptions, UpstreamClient, UpstreamTls } from "./http/proxy-options.js";
export type { MirrorResult } from "./http/mirror.js";
export { watchConfig } from "./config-file.js";
export { nodePinSigner } from "./pin-signer.js";
export type { ConfigReload, ConfigReloadFailure, ConfigWatcher, WatchConfigOptions } from "./config-file.js";
export type { HttpCounters, PinCookieOptions, ResponseHeaderNames, TurnoutHttpOptions } from "./http/types.js";

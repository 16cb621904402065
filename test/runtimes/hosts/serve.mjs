// Serves the turnout/fetch app of the acceptance script with the runtime's own HTTP server (Bun.serve, Deno.serve) on
// 127.0.0.1, port 0, and prints {"port": N} once it listens. It runs until it is killed.
import { servedApp, servedProxy } from "../acceptance.mjs";

const core = await import(new URL("../../../dist/index.js", import.meta.url).href);
const turnoutFetch = await import(new URL("../../../dist/fetch.js", import.meta.url).href);
const runtime = /** @type {Record<string, any>} */ (globalThis);
// An argument, when given, is the JSON of the proxy's upstreams: then /proxied/… goes through createFetchProxy.
const [upstreams] = runtime["Deno"] !== undefined ? runtime["Deno"].args : runtime["process"].argv.slice(2);
const app = upstreams === undefined ? servedApp(core, turnoutFetch) : servedProxy(core, turnoutFetch, JSON.parse(upstreams));

if (runtime["Bun"] !== undefined) {
  const server = runtime["Bun"].serve({ hostname: "127.0.0.1", port: 0, fetch: app });
  console.log(JSON.stringify({ port: server.port }));
} else if (runtime["Deno"] !== undefined) {
  runtime["Deno"].serve({ hostname: "127.0.0.1", port: 0, onListen: (/** @type {{ port: number }} */ { port }) => console.log(JSON.stringify({ port })) }, app);
} else {
  throw new Error("hosts/serve.mjs runs in Bun or Deno");
}

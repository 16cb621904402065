/**
 * turnout as a small reverse proxy in front of two upstreams: 20 % of users go to v2, and a shadow copy of the v1
 * traffic goes to v2 too (its answers are discarded, compared, and never delay the client). The config file is
 * watched: edit the split in it and the proxy follows without a restart.
 * Run: npm run example:proxy (add -- --smoke to exit after a few requests).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type RouterConfig, createRouter, createStats } from "turnout";
import { createProxy, watchConfig } from "turnout/node";
import { port, probe, smoke } from "./lib/smoke.js";

// Two stand-in upstreams; in real life these are your v1 and v2 deployments.
const upstream = (name: string) =>
  http.createServer((req, res) => void res.setHeader("content-type", "application/json").end(JSON.stringify({ served: name, path: req.url })));
const [v1, v2] = [upstream("v1").listen(0, "127.0.0.1"), upstream("v2").listen(0, "127.0.0.1")];
await Promise.all([v1, v2].map((s) => new Promise((resolve) => s.once("listening", resolve))));
const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const configFile = join(mkdtempSync(join(tmpdir(), "turnout-example-proxy-")), "turnout.json");
const config: RouterConfig = {
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 80, v2: 20 },
  stickiness: ["header:x-user-id"],
  mirror: { version: "v2", percent: 100 },
};
writeFileSync(configFile, JSON.stringify(config, null, 2));

const router = createRouter(config);
const stats = createStats({ versions: ["v1", "v2"] });
const watcher = watchConfig(configFile, router, {
  onReload: ({ revision }) => console.log(`config revision ${revision}: canary at ${router.canaryPercent} %`),
  onError: (error, { stage }) => console.error(`config rejected (${stage}):`, error),
});
const proxy = createProxy(router, {
  upstreams: { v1: url(v1), v2: url(v2) },
  stats,
  key: (req) => req.headers["x-user-id"] as string | undefined,
  timeouts: { connect: "2s", response: "10s" },
  mirror: { compare: true, maxInFlight: 32 },
});
const server = http.createServer(proxy).listen(port, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const base = url(server);
console.log(`proxy on ${base}; edit ${configFile} to change the split`);

if (smoke) {
  await probe(base, [
    { path: "/users", headers: { "x-user-id": "alice" } },
    { path: "/users", headers: { "x-user-id": "erin" } },
  ]);
  writeFileSync(configFile, JSON.stringify({ ...config, split: { v1: 0, v2: 100 } })); // raise the rate, no restart
  await watcher.reload();
  await probe(base, [{ path: "/users", headers: { "x-user-id": "alice" } }]);
  console.log("counters", JSON.stringify(proxy.counters));
  await watcher.close();
  await new Promise((resolve) => server.close(resolve));
  proxy.close();
  for (const s of [v1, v2]) s.close();
  rmSync(dirname(configFile), { recursive: true, force: true });
}

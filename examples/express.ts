/**
 * turnout in an Express app: v2 of the users API takes 10 % of the traffic, sticky per user; clients may ask for a
 * version (`/api/v2/users`, `X-API-Version: 2`); QA forces v2 with `X-Canary: true`; v1 is deprecated; each version
 * validates its own request body. Run: npm run example:express (add -- --smoke to exit after a few requests).
 */
import type { AddressInfo } from "node:net";
import express from "express";
import { createRouter, createStats } from "turnout";
import { turnout, versioned } from "turnout/express";
import { z } from "zod";
import { port, probe, smoke } from "./lib/smoke.js";

const router = createRouter({
  versions: ["v1", "v2"],
  stable: "v1",
  canary: "v2",
  split: { v1: 90, v2: 10 },
  stickiness: ["header:x-user-id", "cookie:uid"],
  overrides: [{ header: "x-canary", equals: "true", version: "v2" }],
  explicit: { path: { prefix: "/api" }, header: "x-api-version" },
  lifecycle: {
    v1: { deprecated: "2026-01-01T00:00:00Z", successor: "v2", successorUrl: "https://api.example.com/api/v2/", policy: "https://example.com/deprecation" },
  },
});
const stats = createStats({ versions: ["v1", "v2"] });

const app = express();
app.use(express.json());
app.use(turnout(router, { stats, key: (req) => req.get("x-user-id"), pin: { cookie: true } }));

const users = [{ id: 1, first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" }];
app.get(
  ["/api/users", "/api/:version/users"],
  versioned({
    v1: (_req, res) => void res.json(users.map((u) => ({ id: u.id, name: `${u.first_name} ${u.last_name}`, email: u.email }))),
    v2: (_req, res) => void res.json({ data: users, next: null }),
  }),
);
app.post(
  ["/api/users", "/api/:version/users"],
  versioned(
    { v1: (req, res) => void res.status(201).json(req.body), v2: (req, res) => void res.status(201).json({ data: req.body }) },
    {
      validate: {
        v1: z.object({ name: z.string().min(1), email: z.email() }),
        v2: z.object({ first_name: z.string().min(1), last_name: z.string().min(1), email: z.email() }),
      },
    },
  ),
);
app.get("/stats", (_req, res) => void res.json(stats.lifetime()));

const server = app.listen(port, "127.0.0.1", async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(`listening on ${base}`);
  if (!smoke) return;
  await probe(base, [
    { path: "/api/users", headers: { "x-user-id": "alice" } },
    { path: "/api/users", headers: { "x-canary": "true" } },
    { path: "/api/v1/users" },
    { method: "POST", path: "/api/users", headers: { "x-api-version": "2" }, body: { name: "Grace", email: "grace@example.com" } },
    { path: "/api/v9/users" },
  ]);
  server.close();
});

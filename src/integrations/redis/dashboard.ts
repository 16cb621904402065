/**
 * A fleet's rollout as a dashboard source: the state and history read from Redis, the fleet's merged stats and its
 * instances with the config revision each reported, the config document's revision and split; controls stored by the
 * same compare-and-set commands a controller sends, so the controller that leads (in another process) acts on them.
 */
import { initialState, statusOf } from "../../rollout/machine.js";
import { compilePlan, isCompiledPlan } from "../../rollout/plan.js";
import type { CompiledPlan, ControlResult, RolloutEvent, RolloutPlan } from "../../rollout/types.js";
import type { StatsReader } from "../../types.js";
import type { DashboardControlCall, DashboardInstance, DashboardSource } from "../dashboard.js";
import { type StoreContext, readConfig, updateConfig } from "./config.js";
import { list, message, text, validName } from "./link.js";
import { controlRollout, withWeight } from "./rollout.js";
import { readFleetStats } from "./stats.js";
import type { FleetRollout, FleetStats, RedisDashboardSourceOptions } from "./types.js";

/** How long one read of the fleet stats serves both the charts and the fleet table of a state. */
const FLEET_MEMO_MS = 250;

/** The events of the last `count` stream entries, oldest first. */
async function readEvents(ctx: StoreContext, key: string, count: number): Promise<RolloutEvent[]> {
  const entries = list(await ctx.link.send(["XREVRANGE", key, "+", "-", "COUNT", String(count)]), "XREVRANGE rollout events");
  const events: RolloutEvent[] = [];
  for (const entry of entries.reverse()) {
    const fields = Array.isArray(entry) && Array.isArray(entry[1]) ? (entry[1] as unknown[]) : [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (text(fields[i]) !== "entry") continue;
      try {
        const parsed = JSON.parse(text(fields[i + 1]) ?? "null") as { events?: unknown };
        if (Array.isArray(parsed.events)) events.push(...(parsed.events as RolloutEvent[]));
      } catch {
        // an entry that is not JSON shows nothing rather than hiding the others
      }
    }
  }
  return events;
}

/** The id a control is stored under (the event stream's `writer`): the actor's name, without whitespace. */
function writerOf(actor: string): string {
  const name = `dashboard:${actor.replace(/\s+/g, "_")}`.slice(0, 200);
  return validName(name) ? name : "dashboard";
}

/** A dashboard source over a fleet's rollout in Redis (`store.dashboardSource`). */
export function dashboardSource(ctx: StoreContext, plan: RolloutPlan | CompiledPlan, options: RedisDashboardSourceOptions = {}): DashboardSource {
  const compiled = isCompiledPlan(plan) ? plan : compilePlan(plan);
  const name = options.name ?? "default";
  const freshness = options.stats ?? {};
  const keys = ctx.keys.rollout(name);
  // One follower controller per actor (it never leads, never ticks): its commands go through the same compare-and-set
  // script as the leader's, and the event stream records the actor as their writer.
  const controllers = new Map<string, FleetRollout>();
  const controllerOf = (actor: string): FleetRollout => {
    const id = writerOf(actor);
    let controller = controllers.get(id);
    if (controller === undefined) {
      controller = controlRollout(ctx, compiled, { name, id, lead: false, stats: freshness, onError: () => undefined });
      controllers.set(id, controller);
    }
    return controller;
  };
  const reader = controlRollout(ctx, compiled, { name, id: "dashboard", lead: false, onError: () => undefined });
  let fleetRead: { at: number; stats: Promise<FleetStats> } | null = null;
  const fleet = (): Promise<FleetStats> => {
    const now = ctx.clock();
    if (fleetRead === null || now - fleetRead.at > FLEET_MEMO_MS || now < fleetRead.at) fleetRead = { at: now, stats: readFleetStats(ctx, freshness) };
    return fleetRead.stats;
  };

  return {
    async status() {
      const [state, config] = await Promise.all([reader.state(), readConfig(ctx).catch(() => null)]);
      const versions = {
        stable: config?.config.stable ?? compiled.source.stable ?? "",
        canary: config?.config.canary ?? compiled.source.canary ?? "",
      };
      return statusOf(compiled, state ?? initialState(compiled), ctx.clock(), versions);
    },
    timeline: () => readEvents(ctx, keys.events, 50),
    async router() {
      const config = await readConfig(ctx);
      return config === null ? null : { revision: config.revision, split: config.config.split ?? {} };
    },
    async stats(): Promise<StatsReader | null> {
      return (await fleet()).reader;
    },
    async fleet(): Promise<readonly DashboardInstance[]> {
      const stats = await fleet();
      return stats.instances.map((i) =>
        i.revision === undefined ? { id: i.instance, lastSeen: i.pushedAt } : { id: i.instance, revision: i.revision, lastSeen: i.pushedAt },
      );
    },
    async control(call: DashboardControlCall) {
      try {
        if (call.action === "weight") {
          const current = await readConfig(ctx);
          if (current === null) return { accepted: false, rejection: "no configuration document in Redis to set the weight on" };
          const result = await updateConfig(ctx, (config) => withWeight(config ?? current.config, call.weight ?? 0), { writer: writerOf(call.actor) });
          return result.written ? { accepted: true } : { accepted: false, rejection: "the configuration kept changing: try again" };
        }
        const controller = controllerOf(call.actor);
        const result: ControlResult =
          call.action === "abort" ? await controller.abort(`aborted from the dashboard by ${call.actor}`) : await controller[call.action]();
        return result.accepted ? { accepted: true } : { accepted: false, rejection: result.rejection ?? "refused" };
      } catch (error) {
        return { accepted: false, rejection: message(error) };
      }
    },
  };
}

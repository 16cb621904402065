// Webhook gates and notifications: which gates a transition needs, asking them, and telling the notifications.
// Over an injectable `fetch`; no Node modules.

import { exchange } from "./http.js";
import {
  type CompiledPlan,
  type FetchLike,
  type ResolvedWebhook,
  type RolloutCommand,
  type RolloutEvent,
  RolloutEventType,
  RolloutPhase,
  type RolloutState,
  type TransitionResult,
  type WebhookPayload,
  WebhookType,
} from "./types.js";

/** The gates a transition must pass: a start asks `confirmRollout`, entering a step `preStep`, a promotion `confirmPromotion`. */
export function gatesFor(plan: CompiledPlan, command: RolloutCommand, result: TransitionResult): readonly ResolvedWebhook[] {
  if (plan.webhooks.length === 0) return [];
  // Operators decide for themselves: only the start and the schedule's own moves are gated.
  if (command.type !== "start" && command.type !== "retry" && command.type !== "tick") return [];
  const types = new Set<string>();
  if (command.type !== "tick") types.add(WebhookType.ConfirmRollout);
  for (const event of result.events) {
    if (event.type === RolloutEventType.Step) types.add(WebhookType.PreStep);
    if (event.type === RolloutEventType.Promoted) types.add(WebhookType.ConfirmPromotion);
  }
  return plan.webhooks.filter((w) => types.has(w.type));
}

/** The notifications an applied transition's events call; a rollback is told once, when it begins. */
export function notificationsFor(
  plan: CompiledPlan,
  previous: RolloutState,
  events: readonly RolloutEvent[],
): { webhook: ResolvedWebhook; event: RolloutEvent }[] {
  const out: { webhook: ResolvedWebhook; event: RolloutEvent }[] = [];
  const rollbackBegins = previous.phase !== RolloutPhase.RollingBack;
  for (const event of events) {
    for (const webhook of plan.webhooks) {
      const wanted =
        webhook.type === WebhookType.Event ||
        (webhook.type === WebhookType.PostRollout && (event.type === RolloutEventType.Promoted || event.type === RolloutEventType.Completed)) ||
        (webhook.type === WebhookType.Rollback && rollbackBegins && (event.type === RolloutEventType.Aborted || event.type === RolloutEventType.RollbackStep));
      if (wanted) out.push({ webhook, event });
    }
  }
  return out;
}

/** The JSON a webhook gets. */
export function payloadOf(
  plan: CompiledPlan,
  webhook: ResolvedWebhook,
  state: RolloutState,
  versions: { readonly stable: string; readonly canary: string },
  at: number,
  extra: { readonly next?: RolloutState; readonly event?: RolloutEvent },
): WebhookPayload {
  return {
    rollout: plan.source.name ?? null,
    webhook: webhook.name,
    type: webhook.type,
    phase: state.phase,
    step: state.stepIndex,
    stepCount: plan.steps.length,
    weight: state.weight,
    stable: versions.stable,
    canary: versions.canary,
    ...(extra.next === undefined ? {} : { next: { phase: extra.next.phase, step: extra.next.stepIndex, weight: extra.next.weight } }),
    ...(extra.event === undefined ? {} : { event: extra.event }),
    lastVerdict: state.lastHealth?.verdict ?? null,
    lastMessage: state.lastHealth?.message ?? null,
    at,
    metadata: webhook.metadata,
  };
}

/** A gate's answer: yes on a 2xx; otherwise no, with why. */
export type GateAnswer = { readonly yes: true } | { readonly yes: false; readonly message: string };

function post(fetch: FetchLike, webhook: ResolvedWebhook, payload: WebhookPayload) {
  return exchange(
    fetch,
    webhook.url,
    { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/plain" }, body: JSON.stringify(payload) },
    webhook,
  );
}

/** Asks one gate. Never rejects. */
export async function askGate(fetch: FetchLike, webhook: ResolvedWebhook, payload: WebhookPayload): Promise<GateAnswer> {
  const label = `${webhook.type} gate "${webhook.name}"`;
  const answer = await post(fetch, webhook, payload);
  if (!answer.answered) return { yes: false, message: `${label} ${answer.reason}${webhook.retries > 0 ? ` (${webhook.retries + 1} attempts)` : ""}` };
  if (answer.status >= 200 && answer.status < 300) return { yes: true };
  const body = answer.text.replace(/\s+/g, " ").trim().slice(0, 200);
  return { yes: false, message: `${label} answered ${answer.status}${body === "" ? "" : `: ${body}`}` };
}

/** Tells one notification; resolves with why it failed, or undefined. Never rejects. */
export async function tell(fetch: FetchLike, webhook: ResolvedWebhook, payload: WebhookPayload): Promise<string | undefined> {
  const answer = await post(fetch, webhook, payload);
  if (!answer.answered) return `${webhook.type} webhook "${webhook.name}" ${answer.reason}`;
  return answer.status >= 200 && answer.status < 300 ? undefined : `${webhook.type} webhook "${webhook.name}" answered ${answer.status}`;
}

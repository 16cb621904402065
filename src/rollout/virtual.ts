import type { Timers } from "./types.js";

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/**
 * A virtual clock with timers: nothing happens until `advanceTo` moves time forward, and then every timer due fires
 * in order of its instant (ties in order of creation), with the clock set to that instant. The simulator runs the
 * real runner on it; tests use it to drive hours of a rollout in no time. Internal (not exported by the package).
 */
export class VirtualTime implements Timers {
  private current: number;
  private pending: Pending[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  /** The current virtual instant (use as a `clock`). */
  readonly clock = (): number => this.current;

  get now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const delay = typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Pending = { at: this.current + delay, seq: this.seq++, callback };
    this.pending.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const index = this.pending.indexOf(handle as Pending);
    if (index >= 0) this.pending.splice(index, 1);
  }

  /** When the earliest pending timer fires, or null. */
  nextAt(): number | null {
    let next: number | null = null;
    for (const timer of this.pending) if (next === null || timer.at < next) next = timer.at;
    return next;
  }

  /** How many timers are pending. */
  get size(): number {
    return this.pending.length;
  }

  /** Moves time to `target`, firing every timer due on the way (also timers those callbacks set, if due). */
  advanceTo(target: number): void {
    for (;;) {
      let first: Pending | undefined;
      for (const timer of this.pending) {
        if (timer.at <= target && (first === undefined || timer.at < first.at || (timer.at === first.at && timer.seq < first.seq))) first = timer;
      }
      if (first === undefined) break;
      this.pending.splice(this.pending.indexOf(first), 1);
      if (first.at > this.current) this.current = first.at;
      first.callback();
    }
    if (target > this.current) this.current = target;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }
}

/**
 * A progress bar on stderr for long simulations — only when stderr is a terminal, so pipes, files and CI logs
 * stay clean.
 */

/** A progress bar; every method is a no-op when the stream is not a TTY. */
export interface Progress {
  /** Shows `fraction` (0–1); redraws at most once per whole percent. */
  update(fraction: number): void;
  /** Clears the bar. */
  done(): void;
}

/**
 * Creates a progress bar labelled `label` on `stream`.
 *
 * @example
 * ```ts
 * const progress = progressBar(process.stderr, "simulating");
 * simulateRollout(plan, traffic, { onProgress: (f) => progress.update(f) });
 * progress.done();
 * ```
 */
export function progressBar(stream: { write(text: string): unknown; readonly isTTY?: boolean }, label: string): Progress {
  if (stream.isTTY !== true) return { update: () => undefined, done: () => undefined };
  const width = 30;
  let shown = -1;
  let drawn = false;
  return {
    update(fraction) {
      const percent = Math.floor(Math.max(0, Math.min(1, fraction)) * 100);
      if (percent === shown) return;
      shown = percent;
      drawn = true;
      const eighths = Math.round((percent / 100) * width * 8);
      const cells = "█".repeat(Math.floor(eighths / 8)) + (["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8] as string);
      stream.write(`\r${label} ▕${cells.padEnd(width)}▏ ${String(percent).padStart(3)} %`);
    },
    done() {
      if (drawn) stream.write("\r\u001b[2K");
      drawn = false;
    },
  };
}

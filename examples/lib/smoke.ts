/**
 * `--smoke`: the examples start on a free port, send a few requests, print what came back, and exit — so CI can run
 * them. Without it they keep serving on PORT (default 3000) until Ctrl-C.
 */
export const smoke = process.argv.includes("--smoke");

/** The port to listen on: 0 (any free port) in smoke mode. */
export const port = smoke ? 0 : Number(process.env.PORT ?? 3000);

export interface Probe {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

const SHOWN = ["x-api-version", "x-ab-test", "x-ab-variant", "x-turnout-pin", "deprecation", "sunset", "link"];

/** Sends each probe to `base` and prints the status, turnout's headers and the body. Fails on a network error. */
export async function probe(base: string, probes: readonly Probe[]): Promise<void> {
  for (const p of probes) {
    const response = await fetch(base + p.path, {
      method: p.method ?? "GET",
      headers: { ...(p.body === undefined ? {} : { "content-type": "application/json" }), ...p.headers },
      ...(p.body === undefined ? {} : { body: JSON.stringify(p.body) }),
    });
    const headers = SHOWN.flatMap((name) => (response.headers.has(name) ? [`${name}: ${response.headers.get(name)}`] : []));
    console.log(`${p.method ?? "GET"} ${p.path} ${JSON.stringify(p.headers ?? {})} → ${response.status}`);
    for (const header of headers) console.log(`    ${header}`);
    console.log(`    ${await response.text()}`);
  }
}

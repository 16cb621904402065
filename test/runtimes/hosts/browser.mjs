// The host for a browser page: loads the built ESM core from the page's origin, fetches the golden cases, runs the
// acceptance script and leaves the answer (a promise of the text) on globalThis for the driver to read.
import { acceptance, environment } from "../acceptance.mjs";

async function run() {
  const core = await import("/dist/index.js");
  const golden = await (await fetch("/test/cases/bucketing.json")).json();
  return `${JSON.stringify(environment())}\n${await acceptance({ core, golden })}`;
}

globalThis.turnoutResult = run();

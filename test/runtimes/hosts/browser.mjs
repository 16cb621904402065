// The host for a browser page: loads the built ESM core and turnout/fetch from the page's origin, fetches the golden
// cases, runs the acceptance script and leaves the answer (a promise of the text) on globalThis for the driver to
// read. Under a Content-Security-Policy it also counts the policy violations: the router should try code generation
// once only.
import { acceptance, environment } from "../acceptance.mjs";

/** @type {string[]} */
const violations = [];
document.addEventListener("securitypolicyviolation", (event) => violations.push(`${event.violatedDirective} ${event.blockedURI}`));

async function run() {
  const core = await import("/dist/index.js");
  const turnoutFetch = await import("/dist/fetch.js");
  const golden = await (await fetch("/test/cases/bucketing.json")).json();
  const result = await acceptance({ core, golden, fetch: turnoutFetch });
  // Violation events are dispatched as tasks of their own; the environment's own probe comes after the count.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const cspViolations = [...violations];
  return `${JSON.stringify({ ...environment(), cspViolations })}\n${result}`;
}

/** @type {any} */ (globalThis).turnoutResult = run();

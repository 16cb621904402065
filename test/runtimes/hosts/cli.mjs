// The host for runtimes with a command line (Node, Bun, Deno): loads the built ESM core, turnout/fetch and the
// golden cases from the checkout, runs the acceptance script and prints what it answered, behind the runtime's
// description.
import { acceptance, environment } from "../acceptance.mjs";

const core = await import(new URL("../../../dist/index.js", import.meta.url).href);
const turnoutFetch = await import(new URL("../../../dist/fetch.js", import.meta.url).href);
const { default: golden } = await import(new URL("../../cases/bucketing.json", import.meta.url).href, { with: { type: "json" } });
const result = await acceptance({ core, golden, fetch: turnoutFetch });
console.log(JSON.stringify(environment()));
console.log(result);

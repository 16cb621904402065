// The host for workerd: a Worker whose fetch handler runs the acceptance script on the built ESM core and
// turnout/fetch (bundled next to it as modules) and the golden cases (a JSON module), and answers what it computed.
import golden from "./bucketing.json";
import * as turnoutFetch from "./fetch.js";
import * as core from "./index.js";
import { acceptance, environment } from "./acceptance.mjs";

export default {
  async fetch() {
    const result = await acceptance({ core, golden, fetch: turnoutFetch });
    return new Response(`${JSON.stringify(environment())}\n${result}`, { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};

// The host for workerd: a Worker whose fetch handler runs the acceptance script on the built ESM core and
// turnout/fetch (bundled next to it as modules) and the golden cases (a JSON module), and answers what it computed;
// on other paths it serves the script's turnout/fetch app.
import golden from "./bucketing.json";
import * as turnoutFetch from "./fetch.js";
import * as core from "./index.js";
import { acceptance, environment, servedApp } from "./acceptance.mjs";

const app = servedApp(core, turnoutFetch);

export default {
  /** `/__acceptance` runs the acceptance script; every other path is the turnout/fetch app. */
  async fetch(/** @type {Request} */ request) {
    if (new URL(request.url).pathname !== "/__acceptance") return app(request);
    const result = await acceptance({ core, golden, fetch: turnoutFetch });
    return new Response(`${JSON.stringify(environment())}\n${result}`, { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};

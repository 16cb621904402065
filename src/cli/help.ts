/**
 * `--help` texts. Plain text, 100 columns at most, examples last.
 */

/** The top-level help: the commands. */
export const MAIN_HELP = `turnout — move API traffic from v1 to v2 gradually and safely

Usage: turnout <command> [options]

Commands:
  node                       a JSON-lines server over stdin/stdout, for driving turnout from other
                             languages and test harnesses: routing, canary, A/B, migration stats
                             and simulated rollouts, one JSON message per line
  validate <file>…           check router configs and rollout plans: every problem with its code
                             and path, or a one-line summary of each valid file
  simulate [config]          the split of N simulated keys, the keys that move to another config
                             (--to), and a rollout plan on a virtual clock (--plan), drawn as
                             charts in the terminal and as SVG (--svg)
  dashboard                  serve the live dashboard of a fleet's rollout stored in Redis, with
                             its controls (needs redis or ioredis installed)
  help [command]             this text, or a command's

Options:
  -h, --help                 help (also after a command: turnout simulate --help)
  -v, --version              turnout's version

Exit codes: 0 ok · 1 invalid input (dashboard: or Redis unreachable) · 2 usage error (unknown
option, missing file) · 3 a simulated rollout aborted or timed out (simulate --fail-on-abort)

Examples:
  turnout validate router.json rollout.json
  turnout simulate router.json --keys 1000000 --to next.json --svg split.svg
  turnout simulate router.json --plan rollout.json --canary-error-rate 3 --svg rollout.svg
  echo '{"type": "route", "msg_id": 1, "headers": {"x-beta": "true"}}' | turnout node
  TURNOUT_DASHBOARD_TOKEN=… turnout dashboard --redis redis://127.0.0.1:6379 --plan rollout.json
`;

/** `turnout dashboard --help`. */
export const DASHBOARD_HELP = `Usage: turnout dashboard --redis <url> --plan <plan> [options]

Serves the live dashboard of a fleet's rollout stored in Redis (the rollout the fleet's controllers
run with store.controlRollout): its phase, steps and history, the fleet's merged stats per version,
its instances and how long ago each reported, the config revision and split. The page updates itself
(Server-Sent Events). Controls (pause, resume, promote, abort, canary weight) are stored in Redis by
compare-and-set, like a controller's commands: the controller that leads, wherever it runs, acts on
them. The dashboard itself never leads or ticks the rollout.

Controls need a bearer token, read from the environment (never from the command line, where other
users of the machine can see it): TURNOUT_DASHBOARD_TOKEN, or the variable --token-env names; at
least 16 characters. Without one the dashboard is read-only. Calls from another Origin, replayed
calls and more than 20 controls a minute are refused.

A Redis client library is loaded when the command runs, from the working directory's node_modules
(else from where turnout is installed): redis (node-redis 5 or 6), else ioredis (5 or 6).

Exit codes: 0 stopped (SIGINT, SIGTERM) · 1 Redis unreachable, no Redis client installed, an invalid
plan, or the port in use · 2 usage error (a missing option or file)

Options:
  --redis <url>              redis:// or rediss:// URL (default: $REDIS_URL)
  --plan <file>              the rollout plan the controllers run (JSON, as createRollout takes it)
  --namespace <name>         the store's namespace (default "turnout", as createRedisStore)
  --rollout <name>           the rollout's name, as its controllers were given it (default "default")
  --host <address>           where to listen (default 127.0.0.1: this machine only)
  --port <n>                 port (default 8080; 0 picks a free one)
  --token-env <name>         the environment variable that holds the token (default
                             TURNOUT_DASHBOARD_TOKEN)
  --actor <name>             who acts with that token, as recorded with each control (default
                             "operator")
  --client <name>            redis or ioredis (default: the first one installed)
  -h, --help                 this text

Examples:
  turnout dashboard --redis redis://127.0.0.1:6379 --plan rollout.json
  TURNOUT_DASHBOARD_TOKEN="$(cat ~/.turnout-token)" turnout dashboard --redis "$REDIS_URL" \\
    --plan rollout.json --namespace checkout-api --actor alice --port 9000
`;

/** `turnout node --help`. */
export const NODE_HELP = `Usage: turnout node [options]

A JSON-lines server for driving turnout from other languages and test harnesses: reads one JSON
message per line on stdin and writes one reply line per message on stdout (flushed each time). A
message is an envelope {"src", "dest", "body", …settings} or a bare body. A pretty-printed message
spread over several lines is accepted too. Replies are the bare body, with a fixed field order and
layout ({"type": "routed", "in_reply_to": 1, …}); --envelope wraps them.

Messages (body.type):
  get_users            {user_id?}            → users_response {version, canary}: the user's sticky
                                               version (no user: the split, and no canary field)
  route                {user_id?, headers?,  → routed {version, reason}: "header_match" when a header
                        path?}                 rule matched, else "weighted_routing"
  update_canary        {service, percentage} → canary_updated {service, v1, v2}: v1 + v2 = 100;
                                               a percentage outside 0–100 is refused
  assign_variant       {user_id, experiment?}→ variant_assigned {user_id, variant}: sticky A/B
  get_migration_stats  {}                    → migration_stats {total_clients, version_percentages,
                                               migration_complete} from the node's own traffic
  gradual_rollout      {steps: [{percentage, → rollout_complete {final_percentage,
                        duration_minutes}],     health_checks_passed}: the real rollout machine on
                        traffic?, analysis?}    a virtual clock (hours of steps in milliseconds)
  init                 {node_id}             → init_ok (the harness handshake)
Settings beside the body (or inside it): traffic_split {"v1": 80, "v2": 20}, canary_percentage 10.
They change the addressed service's router (body.service, default "api") from then on.
Anything wrong → {"type": "error", "in_reply_to", "code", "text", "problems"?}; the node goes on
(in_reply_to is the msg_id, when even a malformed message shows one; else null).
Codes: 10 unknown message type, 12 malformed message or bad field, 13 internal fault.

Default configuration (without --config): versions v1 (stable, 100 %) and v2 (canary, 0 %); header
rules x-beta / x-canary: true|1|yes → v2, x-api-version: v1|1 → v1, v2|2 → v2; experiment "ab"
(A 50, B 50); keyless requests by weighted round-robin (exact proportions, heaviest version first).

Options:
  --envelope                 wrap replies as {"src": <dest>, "dest": <src>, "body": <reply>}
  --config <file>            the router configuration of every service (JSON, as createRouter takes)
  --service <name>           the service of messages without one (default "api")
  --keyless <mode>           round-robin (default), random or stable, for the default configuration
  --seed <n>                 seed the random numbers of --keyless random (replayable runs)
  --window <duration>        migration stats: the window that must be free of v1 traffic (default 1m)
  --resolution <duration>    migration stats: slice length of that window (default 1s)
  --min-requests <n>         migration stats: requests the window needs to be judged (default 100)
  --node-id <id>             the reply's src when a message names no dest (default "turnout")
  -h, --help                 this text

Examples:
  printf '%s\\n' '{"body": {"type": "get_users", "msg_id": 1, "user_id": "user123"}, "canary_percentage": 10}' | turnout node
  {"type": "gradual_rollout", "msg_id": 4, "steps": [{"percentage": 10, "duration_minutes": 60}]}
`;

/** `turnout validate --help`. */
export const VALIDATE_HELP = `Usage: turnout validate <file>… [options]

Checks each file and prints one line per valid file, or every problem of an invalid one with its
stable code and its path (e.g. "unknown_version  split.v3"). A file is a router configuration (as
createRouter and watchConfig take it) or a rollout plan (as createRollout takes it: it has "steps"),
told apart by its content. When router configurations and plans are checked together, each plan is
also checked against the first configuration (its stable and canary must match; a mismatch shows
what each file says). A valid file can carry warnings ("! split_not_100  split"): split weights that
do not sum to 100 are shares of their sum (90 and 20 give 81.82 % and 18.18 %). Warnings do not
change the exit code.

Exit code: 0 when every file is valid, 1 when any is not, 2 on a usage error (missing file).

Options:
  --kind <kind>              router or plan: read every file as that kind (default: by content)
  --json                     print {"valid", "files": [{"file", "kind", "valid", "summary",
                             "problems": [{"code", "path", "message"}], "warnings": […]}]}
  --color, --no-color        colour (default: when stdout is a terminal and NO_COLOR is unset)
  -h, --help                 this text

Examples:
  turnout validate router.json
  turnout validate router.json rollout.json --json | jq '.files[].problems'
`;

/** `turnout simulate --help`. */
export const SIMULATE_HELP = `Usage: turnout simulate [config] [options]

Without --plan: routes N simulated keys through the router configuration and shows the split
(table and bar chart) against the configured weights. Keys are "<prefix><i>" and reach the router
through its first stickiness source (a header, cookie, attribute, query parameter or the key).

--to <other>: routes the same keys through a second configuration and shows which keys change
version (a from → to matrix), the fraction that moved, and whether it is the minimum possible: the
total-variation distance between the two splits (½ Σ |before − after|). With the same salt, turnout
moves only the keys that have to move; a new salt reshuffles everyone.

--plan <plan>: runs the rollout plan with the real runner, router and stats on a virtual clock
against a traffic model, and draws the canary's weight, both versions' error rate and p99 latency,
the step boundaries, every check's verdict and the abort or promotion over time. The plan file is a
plan, or {"plan": …, "traffic": …}; the model can also come from --traffic and the flags below.
With a config too, the plan's stable and canary must match the config's.

Split weights that do not sum to 100 are shares of their sum (90 and 20 give 81.82 % and 18.18 %):
simulate says so in a warning (on stderr; in "warnings" with --json).

Exit codes: 0 done · 1 invalid input (config, plan or traffic model) · 2 usage error (a plan given
where the config goes: use --plan) · 3 with --fail-on-abort, the simulated rollout aborted or timed
out (CI can gate a plan and traffic model on it)

Options:
  --keys <n>                 keys to route (default 100,000, at most 10,000,000)
  --key-prefix <text>        key names (default "user-")
  --to <config>              a second configuration: which keys move
  --to-bucketing <scheme>    the same configuration under another bucketing ("turnout", or a JSON
                             object or file such as {"scheme":"unleash","groupId":"…"}): which keys move
  --plan <plan>              a rollout plan to simulate (config optional: its stable and canary
                             default to the plan's, else v1 and v2)
  --traffic <file>           a traffic model: {"requestsPerSecond", "stable": {"errorPercent",
                             "latencyMs": {"p50", "p99"}}, "canary": {…}, "changes": […], "seed"}
  --rps <n>                  requests per second (default 1000)
  --preview-rps <n>          requests per second that reach the canary whatever its weight (pinned,
                             explicit, header-override traffic: what a blue-green preview sees)
  --stable-error-rate <pct>  the stable version's error rate in percent (default 0.5)
  --canary-error-rate <pct>  the canary's error rate in percent (default: the stable's)
  --stable-latency <p50,p99> the stable version's latency in ms (default 40,200)
  --canary-latency <p50,p99> the canary's latency in ms (default: the stable's)
  --seed <n>                 seed of the simulated traffic (default 1: runs replay exactly)
  --approve-after <duration> a simulated operator approves every pause after this long
  --fail-on-abort            exit 3 when the simulated rollout aborts or times out (default: 0)
  --svg <file>               also write the charts as a self-contained SVG file
  --json                     print the results as JSON instead of tables and charts
  --width <columns>          chart width (default: the terminal's, else 100)
  --color, --no-color        colour (default: when stdout is a terminal and NO_COLOR is unset)
  -h, --help                 this text

Examples:
  turnout simulate router.json --keys 1000000
  turnout simulate router.json --to router-next.json --svg movement.svg
  turnout simulate --plan rollout.json --canary-error-rate 4 --svg rollout.svg
`;

/**
 * The help text of a command, or undefined for an unknown one.
 *
 * @example
 * ```ts
 * process.stdout.write(helpOf("simulate") ?? MAIN_HELP);
 * ```
 */
export function helpOf(command: string | undefined): string | undefined {
  switch (command) {
    case undefined:
      return MAIN_HELP;
    case "node":
      return NODE_HELP;
    case "validate":
      return VALIDATE_HELP;
    case "simulate":
      return SIMULATE_HELP;
    case "dashboard":
      return DASHBOARD_HELP;
    default:
      return undefined;
  }
}

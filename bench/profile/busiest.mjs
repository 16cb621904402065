// Self time per function in the busiest .cpuprofile of a folder (a process under load writes one per thread; the
// loader's thread is idle), as a share of the busy time (idle left out):
//
//   node bench/profile/busiest.mjs DIR [rows] [--by=function|file]
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const by = process.argv.find((a) => a.startsWith("--by="))?.slice(5) ?? "function";
const [dir = ".", rows = "25"] = args;
const IDLE = new Set(["(idle)", "(program)"]);

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    if (IDLE.has(functionName)) return;
    const where = url.split("/").slice(-2).join("/");
    const name = by === "file" ? where || functionName : `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    busy += dt;
  });
  return { file, self, busy };
}

const profiles = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => summarise(path.join(dir, f)));
if (profiles.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
const { file, self, busy } = profiles.sort((a, b) => b.busy - a.busy)[0];
console.log(`${path.basename(file)}: ${(busy / 1000).toFixed(0)} ms busy`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) {
  console.log(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${name}`);
}

// Prints the CI summary line "N passed, N failed" from vitest's JSON reports and exits non-zero on any failure.
// A stage that failed outside the tests (install, typecheck, build, package checks) counts as one failure.
import { existsSync, readFileSync } from "node:fs";

const [file, failedStagesArg = "0", ...moreFiles] = process.argv.slice(2);
const failedStages = Number(failedStagesArg) || 0;
let passed = 0;
let failed = 0;
// Each test run (the main suite, the runtime suite) writes its own report; every one must exist.
for (const report of [file, ...moreFiles]) {
  if (report && existsSync(report)) count(JSON.parse(readFileSync(report, "utf8")));
  else {
    console.log(`no test report was written${report ? `: ${report}` : ""}`);
    failed += 1;
  }
}

function count(report) {
  const before = failed;
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // A file that failed without a failing test of its own (an import error, a crash in a hook) counts once.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((test) => test.status === "failed").length;
    if (file.status === "failed" && failedTests === 0) {
      failed += 1;
      console.log(`file failed outside its tests: ${file.name}: ${String(file.message ?? "").split("\n")[0]}`);
    }
  }
  if (report.success === false && failed === before) failed += 1;
}
failed += failedStages;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

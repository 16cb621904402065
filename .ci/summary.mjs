// Prints the CI summary line "N passed, N failed" from vitest's JSON report and exits non-zero on any failure.
// A stage that failed outside the tests (install, typecheck, build, package checks) counts as one failure.
import { existsSync, readFileSync } from "node:fs";

const [file, failedStagesArg = "0"] = process.argv.slice(2);
const failedStages = Number(failedStagesArg) || 0;
let passed = 0;
let failed = 0;
if (file && existsSync(file)) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that failed without a failing test of its own (an import error, a crash in a hook) counts once.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((test) => test.status === "failed").length;
    if (file.status === "failed" && failedTests === 0) {
      failed += 1;
      console.log(`file failed outside its tests: ${file.name}: ${String(file.message ?? "").split("\n")[0]}`);
    }
  }
  if (report.success === false && failed === 0) failed = 1;
} else {
  console.log("no test report was written");
  failed = 1;
}
failed += failedStages;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

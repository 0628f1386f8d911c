#!/usr/bin/env node
// The `meshlet` command. A committed shim, so the bin exists before the first build (pnpm links
// it at install time) and can check the Node.js version before loading anything newer. It runs
// the built CLI (dist/cli/main.js) when installed from a package, and the TypeScript source
// when it sits in a source checkout (not under node_modules), so the workspace never runs a
// stale build. CommonJS with a dynamic import: it must parse on old Node to say it is too old.
'use strict';

require('./check-node.cjs')();

var fs = require('fs');
var path = require('path');
var url = require('url');

var root = path.join(fs.realpathSync(__dirname), '..');
var source = path.join(root, 'src', 'cli', 'main.ts');
var built = path.join(root, 'dist', 'cli', 'main.js');
var inCheckout = root.split(path.sep).indexOf('node_modules') < 0 && fs.existsSync(source);
var entry = inCheckout ? source : built;

if (!inCheckout && !fs.existsSync(built)) {
  process.stderr.write('meshlet: ' + built + ' is missing; build the package (pnpm build) or reinstall it.\n');
  process.exit(1);
}
import(url.pathToFileURL(entry).href).catch(function (err) {
  process.stderr.write('meshlet: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exit(1);
});

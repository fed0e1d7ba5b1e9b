#!/usr/bin/env node
import { enableCompileCache, exitOnUnsupportedRuntime } from '../config/runtime.js';

// Before anything else is loaded: an older Node.js gets one line, not a dependency's warning; what
// loads next is compiled from (and into) the compile cache.
exitOnUnsupportedRuntime();
enableCompileCache();
const { runCli } = await import('./run-cli.js');

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;

#!/usr/bin/env node
import { exitOnUnsupportedRuntime } from '../config/runtime.js';

// Before anything else is loaded: an older Node.js gets one line, not a dependency's warning.
exitOnUnsupportedRuntime();
const { runCli } = await import('./run-cli.js');

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;

#!/usr/bin/env node
/**
 * @module main
 * The `kai` executable: runs the command line and exits with its code once stdout has drained (a bare
 * `process.exit` could cut off output written to a pipe).
 */
import { run } from "./program.js";

const code = await run(process.argv.slice(2));
process.exitCode = code;
process.stdout.write("", () => process.exit(code));

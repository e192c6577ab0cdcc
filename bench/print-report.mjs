/**
 * @module bench/print-report
 * Prints the report of a saved run again: `node bench/print-report.mjs .bench-tmp/registry-<date>.json`.
 */
import { readFileSync } from "node:fs";
import { renderReport } from "./lib/report.mjs";

const path = process.argv[2];
if (!path) {
  console.error("usage: node bench/print-report.mjs <results.json>");
  process.exit(2);
}
console.log(renderReport(JSON.parse(readFileSync(path, "utf8"))));

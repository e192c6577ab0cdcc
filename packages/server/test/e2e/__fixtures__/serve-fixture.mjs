// Child process of the e2e tests: runs the BUILT server (packages/server/dist) on a free port and prints
// `READY <url>` once it listens. SIGTERM/SIGINT close it gracefully and exit 0. Usage:
//   node serve-fixture.mjs <data-dir> [config.yaml]
import { startServer } from "../../../dist/index.js";

const [dataDir, configFile] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: serve-fixture.mjs <data-dir> [config.yaml]");

const server = await startServer({ dataDir, port: 0, host: "127.0.0.1", quiet: true, ...(configFile ? { configFile } : {}) });
process.stdout.write(`READY ${server.url}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

/**
 * One instance of a node as its own process, for the kill -9 test of task adoption (tasks-kill.test.ts): a whole
 * server started with the options given as JSON in argv[2] (storage, vault, cluster: the same as the test's other
 * instance but its name), printing one line `{"event":"ready","url"}` once it serves. SIGKILL is the crash the
 * test is about; nothing here handles it.
 */
import { startTestServer } from "../../../helpers/test-server.js";

const [options] = process.argv.slice(2);
if (!options) throw new Error("usage: task-instance.ts <server options as JSON>");
const server = await startTestServer(JSON.parse(options) as Parameters<typeof startTestServer>[0]);
process.stdout.write(`${JSON.stringify({ event: "ready", url: server.url })}\n`);

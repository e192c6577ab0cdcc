/**
 * @module bench/registry/register-parts
 * CPU of two parts of a registration on the server, in process, for several builds side by side (issue 13): the
 * register route's body validation (as the route runs it: the route's validator on the parsed JSON body) and the
 * PostgreSQL batch's parameters (plan a batch of registrations, build its statement, and encode its parameters as
 * the `pg` driver does before it writes them to the socket). Both are pure CPU, so unlike the whole server's CPU per
 * registration (register-cpu.mjs) they barely move with the machine's load or with how large the batches happen to
 * be: the figure to compare builds by when the machine is busy. Builds take turns round by round.
 *
 *   node bench/registry/register-parts.mjs --root before=/tmp/old-tree --root after=. [--rounds 12] [--batch 24]
 *
 * Each root is a checkout with its own build (packages/protocol/dist, packages/server/dist) and node_modules.
 * The old route validator (http/registration-body.js, until issue 13's last step) is used where the build has it;
 * otherwise the route's own way: `z.compile(ServiceRegistrationSchema, { strict: true })` on the route's validator.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serviceRecordJson } from "../lib/service-record.mjs";

function options(argv) {
  const result = { roots: [], rounds: 12, batch: 24 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--root") {
      const at = value.indexOf("=");
      result.roots.push(at > 0 ? { name: value.slice(0, at), root: resolve(value.slice(at + 1)) } : { name: value, root: resolve(value) });
    } else if (flag === "--rounds") result.rounds = Number(value);
    else if (flag === "--batch") result.batch = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  if (result.roots.length === 0) result.roots.push({ name: "checkout", root: resolve(new URL("../..", import.meta.url).pathname) });
  return result;
}

const load = (root, path) => import(pathToFileURL(resolve(root, path)).href);

/** One build's two parts, as functions over a list of parsed bodies. */
async function partsOf({ name, root }) {
  const protocol = await load(root, "packages/protocol/dist/index.js");
  const { z } = await load(root, "node_modules/zod/index.js");
  const { validatorCompiler } = await load(root, "node_modules/fastify-type-provider-zod/dist/esm/index.js");
  const route = { schema: protocol.ServiceRegistrationSchema, method: "POST", url: "/api/services/register", httpPart: "body" };
  const oldPath = resolve(root, "packages/server/dist/http/registration-body.js");
  const validate = existsSync(oldPath)
    ? (await import(pathToFileURL(oldPath).href)).registrationValidatorCompiler(route)
    : validatorCompiler({ ...route, schema: z.compile(protocol.ServiceRegistrationSchema, { strict: true }) });
  const { ServiceBatchPlan } = await load(root, "packages/server/dist/storage/postgres/pg-service-plan.js");
  const { recordFromRegistration } = await load(root, "packages/server/dist/registry/service-record.js");
  const { default: pgUtils } = await load(root, "node_modules/pg/lib/utils.js");
  const now = new Date().toISOString();
  return {
    name,
    validation(bodies) {
      for (const body of bodies) if (validate(body).error) throw new Error(`${name}: a bench body was refused`);
    },
    /** Plans the bodies as batches of new registrations and encodes each batch statement's parameters. */
    parameters(registrations, batchSize) {
      let bytes = 0;
      for (let start = 0; start < registrations.length; start += batchSize) {
        const plan = new ServiceBatchPlan(new Map(), start);
        for (const registration of registrations.slice(start, start + batchSize)) {
          const record = recordFromRegistration(registration, registration.id, "bench", null, now);
          const outcome = plan.apply({ kind: "write", write: { event: "registered", record, expectedRevision: 0 } });
          if (!outcome.ok) throw outcome.error;
        }
        for (const statement of plan.statements("kai_changes")) {
          for (const value of statement.values) {
            const encoded = pgUtils.prepareValue(value);
            if (typeof encoded === "string") bytes += Buffer.byteLength(encoded);
          }
        }
      }
      return bytes;
    },
  };
}

const cpuUs = (since) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const settings = options(process.argv.slice(2));
  const count = 2_400;
  const bodies = Array.from({ length: count }, (_, index) => JSON.parse(serviceRecordJson({ index })));
  const builds = [];
  for (const entry of settings.roots) builds.push(await partsOf(entry));
  // What the registry plans from: the validated registration (defaults applied), of each build's own schema.
  const planned = await Promise.all(settings.roots.map(async ({ root }) => {
    const protocol = await load(root, "packages/protocol/dist/index.js");
    return bodies.map((body) => protocol.ServiceRegistrationSchema.parse(body));
  }));
  const figures = builds.map(() => ({ validation: [], parameters: [], bytes: 0 }));
  for (let round = 0; round < settings.rounds + 2; round++) {
    const order = round % 2 === 0 ? builds.map((_, i) => i) : builds.map((_, i) => builds.length - 1 - i);
    for (const i of order) {
      let since = process.cpuUsage();
      builds[i].validation(bodies);
      const validation = cpuUs(since) / count;
      since = process.cpuUsage();
      const bytes = builds[i].parameters(planned[i], settings.batch);
      const parameters = cpuUs(since) / count;
      // The first two rounds warm the JIT up.
      if (round < 2) continue;
      figures[i].validation.push(validation);
      figures[i].parameters.push(parameters);
      figures[i].bytes = bytes / count;
    }
  }
  console.log(`${count} bench registration bodies per round, ${settings.rounds} rounds (after 2 warm-up rounds), batches of ${settings.batch}`);
  builds.forEach((build, i) => {
    const f = figures[i];
    console.log(
      `${build.name.padEnd(10)} validation ${median(f.validation).toFixed(2)} µs/registration (min ${Math.min(...f.validation).toFixed(2)}); ` +
        `batch parameters ${median(f.parameters).toFixed(2)} µs/registration (min ${Math.min(...f.parameters).toFixed(2)}), ${f.bytes.toFixed(0)} bytes/registration`,
    );
  });
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

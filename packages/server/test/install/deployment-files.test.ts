/**
 * @module test/install/deployment-files
 * The deployment files (Dockerfile, .dockerignore, docker-compose.yml, deploy/**) agree with the server they
 * deploy. Nobody can run them in CI (no container engine, no cluster), so what would only show up as a broken
 * start on a user's machine is checked here: every KAI_* variable they set is one the server reads
 * (`SERVER_ENVIRONMENT`, so renaming a variable fails this file), every settings file they ship loads with
 * `loadConfig` together with the environment they give it, the probes point at the server's real probe routes,
 * every instance shares one database, one vault passphrase and one cache, the load balancer sends to every
 * instance and passes WebSocket upgrades, the connection budget fits, the image is built with `npm ci` and runs
 * the CLI's `serve` as a non-root user, and the Kubernetes Deployment has replicas, probes and a locked-down pod.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, SERVER_ENVIRONMENT } from "../../src/config/load-config.js";
import type { Config } from "../../src/config/config-schema.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), "utf8");

/** PostgreSQL's default max_connections: neither docker-compose.yml nor the example StatefulSet changes it. */
const POSTGRES_DEFAULT_MAX_CONNECTIONS = 100;
const LIVENESS_PATH = "/healthz";
const READINESS_PATH = "/readyz";

/** Every file under `dir` (repository-relative), depth first. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const path = posix.join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** Every deployment file a user runs or applies. */
const DEPLOYMENT_FILES = ["Dockerfile", ".dockerignore", "docker-compose.yml", ...filesUnder("deploy")];

/** `loadConfig` of a settings file's text with the environment a deployment gives the server. */
function loadShippedConfig(text: string, env: Record<string, string>): Config {
  const dir = mkdtempSync(join(tmpdir(), "kai-deploy-config-"));
  try {
    const file = join(dir, "kai.yaml");
    writeFileSync(file, text);
    return loadConfig({ configFile: file, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Connections the instances may open at most, as the server checks it at start (config-schema.ts). */
const connectionBudget = (config: Config) => config.cluster.expectedInstances * (config.storage.postgres.poolSize + 2);

// ---- Dockerfile ------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions grouped by build stage (one group per FROM), continuation lines joined, comments dropped. */
function dockerStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    // Docker drops comment lines, also between the lines of one continued instruction.
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = "";
    if (!full) continue;
    const space = full.search(/\s/);
    const instruction = { keyword: full.slice(0, space).toUpperCase(), args: full.slice(space + 1).trim() };
    if (instruction.keyword === "FROM") stages.push([]);
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${instruction.keyword} before the first FROM`);
    stage.push(instruction);
  }
  return stages;
}

/** The words of an exec-form (JSON array) instruction. */
const execForm = (args: string): string[] => z.array(z.string()).parse(JSON.parse(args));

/** `KEY=value` pairs of ENV instructions. */
function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter((i) => i.keyword === "ENV")) {
    for (const [, key, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[key!] = value!.replace(/^"|"$/g, "");
  }
  return env;
}

/** The sources of a COPY from the build context (not `--from=`). */
function contextSources(stage: Instruction[]): string[] {
  return stage
    .filter((i) => i.keyword === "COPY" && !/--from=/.test(i.args))
    .flatMap((i) => {
      const words = i.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      return words.slice(0, -1);
    });
}

/** Docker's .dockerignore rules: `*`, `?` and `**`, later lines win (`!` re-includes), a match covers what is inside. */
function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const pattern = posix.normalize((negated ? line.slice(1) : line).replace(/^\//, ""));
      const source = pattern
        .split("/")
        .map((part) => (part === "**" ? ".*" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/")
        .replace(/\.\*\//g, "(?:.*/)?");
      return { negated, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => rules.reduce((ignored, rule) => (rule.regex.test(path) ? !rule.negated : ignored), false);
}

// ---- YAML shapes read here (only the fields checked) ------------------------------------------------------

const EnvironmentSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const ComposeServiceSchema = z.looseObject({
  image: z.string().optional(),
  build: z.unknown().optional(),
  environment: EnvironmentSchema.optional(),
  volumes: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
  healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
  depends_on: z.record(z.string(), z.looseObject({ condition: z.string() })).optional(),
});
const ComposeSchema = z.looseObject({ services: z.record(z.string(), ComposeServiceSchema) });

const EnvVarSchema = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      secretKeyRef: z.looseObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() }).optional(),
      fieldRef: z.looseObject({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
const HttpProbeSchema = z.looseObject({ httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const ContainerSchema = z.looseObject({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()).optional(),
  ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number() })),
  env: z.array(EnvVarSchema),
  livenessProbe: HttpProbeSchema,
  readinessProbe: HttpProbeSchema,
  startupProbe: HttpProbeSchema.optional(),
  resources: z.looseObject({
    requests: z.looseObject({ cpu: z.string(), memory: z.string() }),
    limits: z.looseObject({ memory: z.string() }),
  }),
  securityContext: z.looseObject({
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
  }),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })),
});
const DeploymentSchema = z.looseObject({
  kind: z.literal("Deployment"),
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({
    replicas: z.number(),
    strategy: z.looseObject({ rollingUpdate: z.looseObject({ maxSurge: z.union([z.number(), z.string()]) }).optional() }).optional(),
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()) }),
      spec: z.looseObject({
        securityContext: z.looseObject({ runAsNonRoot: z.boolean().optional(), runAsUser: z.number().optional() }),
        containers: z.array(ContainerSchema).min(1),
        volumes: z.array(
          z.looseObject({
            name: z.string(),
            emptyDir: z.unknown().optional(),
            configMap: z.looseObject({ name: z.string() }).optional(),
          }),
        ),
      }),
    }),
  }),
});
const ServiceSchema = z.looseObject({
  kind: z.literal("Service"),
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({
    selector: z.record(z.string(), z.string()),
    ports: z.array(z.looseObject({ port: z.number(), targetPort: z.union([z.string(), z.number()]) })),
  }),
});
const ConfigMapSchema = z.looseObject({ kind: z.literal("ConfigMap"), metadata: z.looseObject({ name: z.string() }), data: z.record(z.string(), z.string()) });
const SecretSchema = z.looseObject({ kind: z.literal("Secret"), metadata: z.looseObject({ name: z.string() }), stringData: z.record(z.string(), z.string()) });
const KustomizationSchema = z.looseObject({ resources: z.array(z.string()) });

/** Every YAML document of the Kubernetes folder (examples included), with the file it came from. */
function kubernetesDocuments(): Array<{ file: string; doc: unknown }> {
  return filesUnder("deploy/kubernetes")
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) =>
      parseAllDocuments(read(file)).map((document) => {
        if (document.errors.length) throw new Error(`${file}: ${document.errors[0]!.message}`);
        return { file, doc: document.toJS() as unknown };
      }),
    );
}

function oneOfKind<T>(schema: z.ZodType<T>, kind: string, file?: string): T {
  const found = kubernetesDocuments().filter((entry) => (file === undefined || entry.file === file) && (entry.doc as { kind?: unknown } | null)?.kind === kind);
  expect(found, `one ${kind}${file ? ` in ${file}` : ""}`).toHaveLength(1);
  return schema.parse(found[0]!.doc);
}

// ---- compose helpers --------------------------------------------------------------------------------------

const compose = () => ComposeSchema.parse(parseYaml(read("docker-compose.yml"), { merge: true }));
/** The compose services that run this repository's image (they build it). */
const kaiServices = () => Object.entries(compose().services).filter(([, service]) => service.build !== undefined);

/**
 * What compose hands the container for `${NAME}`, `${NAME:-default}` and `${NAME:?message}`: the default, or a
 * stand-in for a value the user must provide (the secrets).
 */
const interpolate = (value: string): string =>
  value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_match, name: string, operator: string | undefined, rest: string | undefined) =>
    operator?.endsWith("-") ? (rest ?? "") : `stand-in-${name.toLowerCase()}`,
  );

/** A compose short-form bind mount `./host:/container[:ro]` → host path (repository-relative), by container path. */
function bindMounts(volumes: string[] | undefined): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of volumes ?? []) {
    const [source, target] = volume.split(":");
    if (source?.startsWith("./") && target) mounts.set(target, posix.normalize(source));
  }
  return mounts;
}

/** `server host:port` lines of an nginx `upstream <name> { … }` block. */
function nginxUpstream(conf: string, name: string): string[] {
  const block = new RegExp(`upstream\\s+${name}\\s*\\{([^}]*)\\}`).exec(conf);
  expect(block, `nginx upstream ${name}`).not.toBeNull();
  return [...block![1]!.matchAll(/^\s*server\s+([^\s;]+)/gm)].map((match) => match[1]!);
}

// ---- the checks -------------------------------------------------------------------------------------------

describe("deployment files: environment variables", () => {
  it("every KAI_* variable named in any deployment file is one the server reads (SERVER_ENVIRONMENT)", () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const file of DEPLOYMENT_FILES) {
      for (const [name] of read(file).matchAll(/\bKAI_[A-Z0-9_]+\b/g)) {
        seen++;
        if (!Object.hasOwn(SERVER_ENVIRONMENT, name)) unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    // Not vacuous: the files do hand the server its settings through the environment.
    expect(seen).toBeGreaterThan(10);
  });

  it("the database URL and vault passphrase reach every instance, in compose and in Kubernetes", () => {
    for (const [name, service] of kaiServices()) {
      expect(Object.keys(service.environment ?? {}), name).toEqual(expect.arrayContaining(["KAI_DATABASE_URL", "KAI_VAULT_PASSPHRASE", "KAI_CONFIG"]));
    }
    const container = oneOfKind(DeploymentSchema, "Deployment", "deploy/kubernetes/deployment.yaml").spec.template.spec.containers[0]!;
    expect(container.env.map((variable) => variable.name)).toEqual(expect.arrayContaining(["KAI_DATABASE_URL", "KAI_VAULT_PASSPHRASE", "KAI_CONFIG"]));
  });
});

describe("Dockerfile and .dockerignore", () => {
  const stages = dockerStages(read("Dockerfile"));
  const runtime = stages.at(-1)!;
  const runs = stages.flat().filter((i) => i.keyword === "RUN").map((i) => i.args);

  it("builds with npm ci from the lockfile, never npm install, and compiles with the root build script", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.filter((run) => /\bnpm (install|i)\b/.test(run))).toEqual([]);
    const rootPackage = z.looseObject({ scripts: z.record(z.string(), z.string()) }).parse(JSON.parse(read("package.json")));
    expect(rootPackage.scripts.build).toBeDefined();
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
    // Production dependencies only in what ships.
    expect(runs.some((run) => /npm (ci|prune) [^&]*--omit=dev/.test(run))).toBe(true);
  });

  it("runs on node:20 slim as a user that is not root", () => {
    const from = runtime[0]!.args.split(/\s+/)[0]!;
    expect(from).toMatch(/^node:20[.\w-]*-slim$/);
    const users = runtime.filter((i) => i.keyword === "USER").map((i) => i.args.split(":")[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(["root", "0"]).not.toContain(users.at(-1));
  });

  it("listens on every interface on the exposed port and checks liveness with node on /healthz", () => {
    const env = envOf(runtime);
    expect(env.KAI_HOST).toBe("0.0.0.0");
    const port = env.KAI_PORT ?? "7070";
    const expose = runtime.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
    expect(expose).toContain(port);
    const healthcheck = runtime.find((i) => i.keyword === "HEALTHCHECK");
    expect(healthcheck).toBeDefined();
    const command = execForm(healthcheck!.args.slice(healthcheck!.args.indexOf("CMD") + 3).trim());
    expect(command[0]).toBe("node");
    expect(command.join(" ")).toContain(`'${LIVENESS_PATH}'`);
    expect(command.join(" ")).toContain("KAI_PORT");
  });

  it("starts the CLI's serve command, from the file the CLI package names as its bin", () => {
    const workdir = runtime.filter((i) => i.keyword === "WORKDIR").at(-1)!.args;
    const entrypoint = execForm(runtime.find((i) => i.keyword === "ENTRYPOINT")!.args);
    const cmd = execForm(runtime.find((i) => i.keyword === "CMD")!.args);
    const cli = z.looseObject({ bin: z.record(z.string(), z.string()) }).parse(JSON.parse(read("packages/cli/package.json")));
    expect(entrypoint).toEqual(["node", posix.join(workdir, "packages/cli", cli.bin.kai!)]);
    expect(cmd).toEqual(["serve"]);
  });

  it("the runtime stage gets the production install whole (every workspace's package.json) and every workspace's dist/", () => {
    const workspaces = z.looseObject({ workspaces: z.array(z.string()) }).parse(JSON.parse(read("package.json"))).workspaces;
    const fromStage = (name: string) => stages.find((stage) => new RegExp(`\\bAS\\s+${name}$`, "i").test(stage[0]!.args));
    const copies = runtime
      .filter((i) => i.keyword === "COPY" && /--from=/.test(i.args))
      .map((i) => ({ stage: /--from=(\S+)/.exec(i.args)![1]!, source: i.args.split(/\s+/).filter((word) => !word.startsWith("--"))[0]! }));
    // The install stage's /app whole: its manifests and every node_modules folder npm made there.
    const install = copies.find((copy) => copy.source === "/app");
    expect(install).toBeDefined();
    const installStage = fromStage(install!.stage)!;
    expect(installStage.some((i) => i.keyword === "RUN" && /\bnpm ci\b[^&]*--omit=dev/.test(i.args))).toBe(true);
    const manifests = contextSources(installStage);
    for (const file of ["package.json", "package-lock.json", ...workspaces.map((workspace) => `${workspace}/package.json`)]) expect(manifests).toContain(file);
    // The compiled code, from the stage that ran the build.
    const compiled = copies.map((copy) => copy.source.replace(/^\/app\//, ""));
    for (const workspace of workspaces) expect(compiled).toContain(`${workspace}/dist`);
  });

  it("everything the build copies from the context exists and is not ignored; installed output and secrets are", () => {
    const ignored = dockerIgnore(read(".dockerignore"));
    const sources = [...new Set(stages.flatMap(contextSources))];
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      const path = posix.normalize(source).replace(/\/$/, "");
      expect(existsSync(join(root, path)), `${source} exists`).toBe(true);
      expect(ignored(path), `${source} is sent to the builder`).toBe(false);
    }
    // The sources and build settings of every package reach the build.
    for (const file of [...filesUnder("packages/server/src"), ...filesUnder("packages/cli/src"), "packages/server/tsconfig.json", "tsconfig.base.json"]) {
      expect(ignored(file), file).toBe(false);
    }
    for (const path of ["node_modules/yaml/package.json", "packages/server/node_modules/x", "packages/server/dist/server.js", "packages/cli/tsconfig.tsbuildinfo", "data/admin.token", "data/vault.key", ".env", ".git/HEAD"]) {
      expect(ignored(path), path).toBe(true);
    }
  });
});

describe("docker-compose.yml and the nginx load balancer", () => {
  const services = compose().services;
  const instances = kaiServices();

  it("runs at least two instances on one database, one cache and one vault passphrase, each with a name of its own", () => {
    expect(instances.length).toBeGreaterThanOrEqual(2);
    const shared = (variable: string) => new Set(instances.map(([, service]) => service.environment?.[variable]));
    for (const variable of ["KAI_DATABASE_URL", "KAI_REDIS_URL", "KAI_VAULT_PASSPHRASE", "KAI_CONFIG"]) expect(shared(variable).size, variable).toBe(1);
    expect(shared("KAI_INSTANCE_NAME").size).toBe(instances.length);
    expect(shared("KAI_INSTANCE_NAME").has(undefined)).toBe(false);
    // Secrets are never committed: the user provides them (compose refuses to start without them).
    const [, first] = instances[0]!;
    expect(first.environment?.KAI_VAULT_PASSPHRASE).toMatch(/^\$\{KAI_VAULT_PASSPHRASE:\?[^}]+\}$/);
    expect(first.environment?.KAI_DATABASE_URL).toMatch(/:\$\{\w+:\?[^}]+\}@/);
  });

  it("the instances' database and cache are the compose PostgreSQL and Redis, and they wait for them to be healthy", () => {
    const [, first] = instances[0]!;
    const database = new URL(interpolate(first.environment!.KAI_DATABASE_URL!));
    const postgres = services[database.hostname];
    expect(postgres?.image).toMatch(/^postgres:/);
    expect(postgres?.environment?.POSTGRES_USER).toBe(database.username);
    expect(postgres?.environment?.POSTGRES_DB).toBe(database.pathname.slice(1));
    expect(postgres?.environment?.POSTGRES_PASSWORD).toBe(first.environment!.KAI_DATABASE_URL!.match(/:(\$\{[^}]+\})@/)![1]);
    expect(postgres?.healthcheck?.test.join(" ")).toContain("pg_isready");
    const redis = services[new URL(first.environment!.KAI_REDIS_URL!).hostname];
    expect(redis?.image).toMatch(/^redis:/);
    expect(redis?.healthcheck).toBeDefined();
    for (const [name, service] of instances) {
      expect(service.depends_on?.[database.hostname]?.condition, name).toBe("service_healthy");
    }
  });

  it("every instance loads the mounted settings file with its environment: PostgreSQL, Redis, its name, every interface", () => {
    for (const [name, service] of instances) {
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(value)]));
      const hostFile = bindMounts(service.volumes).get(env.KAI_CONFIG!);
      expect(hostFile, `${name} mounts the file KAI_CONFIG names`).toBeDefined();
      const config = loadShippedConfig(read(hostFile!), env);
      expect(config.storage.kind).toBe("postgres");
      expect(config.storage.postgres.url).toBe(env.KAI_DATABASE_URL);
      expect(config.cache.redis.url).toBe(env.KAI_REDIS_URL);
      expect(config.cluster.instanceName).toBe(env.KAI_INSTANCE_NAME);
      expect(config.server.host).toBe("0.0.0.0");
      // The budget the instances check at start fits PostgreSQL's default, with every compose instance counted.
      expect(config.cluster.expectedInstances).toBeGreaterThanOrEqual(instances.length);
      expect(connectionBudget(config)).toBeLessThanOrEqual(POSTGRES_DEFAULT_MAX_CONNECTIONS - config.storage.postgres.reservedConnections);
      // Readiness, not only liveness, decides when the load balancer may start sending.
      expect(service.healthcheck?.test.join(" ")).toContain(`:${config.server.port}${READINESS_PATH}'`);
    }
  });

  it("nginx sends to every instance on its port, passes WebSocket upgrades, and waits for the instances to be ready", () => {
    const [nginxName, nginx] = Object.entries(services).find(([, service]) => service.image?.startsWith("nginx:")) ?? [];
    expect(nginx).toBeDefined();
    const confFile = [...bindMounts(nginx!.volumes).entries()].find(([target]) => target.startsWith("/etc/nginx/"))?.[1];
    expect(confFile, `${nginxName} mounts its config from deploy/`).toMatch(/^deploy\//);
    const conf = read(confFile!);
    const proxied = /proxy_pass\s+http:\/\/([\w-]+)\s*;/.exec(conf)?.[1];
    expect(proxied).toBeDefined();
    const port = loadShippedConfig(read("deploy/config/kai.yaml"), { KAI_DATABASE_URL: "postgres://u:p@h/d" }).server.port;
    expect(nginxUpstream(conf, proxied!).sort()).toEqual(instances.map(([name]) => `${name}:${port}`).sort());
    expect(conf).toMatch(/proxy_http_version\s+1\.1;/);
    expect(conf).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(conf).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade/);
    // Streamed gateway answers pass chunk by chunk, and long-lived sockets are not cut after nginx's default 60 s.
    expect(conf).toMatch(/proxy_buffering\s+off;/);
    expect(conf).toMatch(/proxy_read_timeout\s+(\d+h|\d{3,}s?);/);
    for (const [name] of instances) expect(nginx!.depends_on?.[name]?.condition, name).toBe("service_healthy");
    // One published port, the one nginx listens on.
    const listen = /listen\s+(\d+)\s*;/.exec(conf)?.[1];
    expect(nginx!.ports).toHaveLength(1);
    expect(nginx!.ports![0]!.endsWith(`:${listen}`)).toBe(true);
    for (const [name, service] of instances) expect(service.ports, `${name} is reached only through nginx`).toBeUndefined();
  });
});

describe("Kubernetes manifests", () => {
  const deployment = oneOfKind(DeploymentSchema, "Deployment", "deploy/kubernetes/deployment.yaml");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  const secret = oneOfKind(SecretSchema, "Secret");
  const configMap = oneOfKind(ConfigMapSchema, "ConfigMap");
  const portNamed = (port: string | number) => (typeof port === "number" ? port : container.ports.find((p) => p.name === port)?.containerPort);

  /** The environment the container gets: secrets from the example Secret, the pod name for a fieldRef. */
  function containerEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const variable of container.env) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (ref) env[variable.name] = secret.stringData[ref.key]!;
      else if (variable.valueFrom?.fieldRef) env[variable.name] = "kai-7d9c8b6f5-x2x4q";
    }
    return env;
  }

  it("the Deployment runs at least two replicas of the serve command", () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(container.args ?? ["serve"]).toEqual(["serve"]);
  });

  it("probes: liveness on /healthz, readiness on /readyz, both on the port the server listens on", () => {
    const config = loadShippedConfig(configMap.data["kai.yaml"]!, containerEnv());
    expect(container.livenessProbe.httpGet.path).toBe(LIVENESS_PATH);
    expect(container.readinessProbe.httpGet.path).toBe(READINESS_PATH);
    if (container.startupProbe) expect(container.startupProbe.httpGet.path).toBe(LIVENESS_PATH);
    for (const probe of [container.livenessProbe, container.readinessProbe]) expect(portNamed(probe.httpGet.port)).toBe(config.server.port);
  });

  it("the pod runs as a non-root user on a read-only root filesystem, writing only to emptyDir volumes", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    const dataDir = containerEnv().KAI_DATA_DIR;
    expect(dataDir).toBeDefined();
    for (const path of [dataDir!, "/tmp"]) {
      const mount = container.volumeMounts.find((m) => m.mountPath === path);
      expect(mount, `${path} is mounted`).toBeDefined();
      expect(pod.volumes.find((v) => v.name === mount!.name)?.emptyDir, `${path} is an emptyDir`).toBeDefined();
    }
    expect(container.resources.requests.memory).toBeTruthy();
    expect(container.resources.limits.memory).toBeTruthy();
  });

  it("secrets come from the Secret by reference, and every key referenced is one the example Secret has", () => {
    for (const name of ["KAI_DATABASE_URL", "KAI_VAULT_PASSPHRASE", "KAI_REDIS_URL"]) {
      const variable = container.env.find((v) => v.name === name);
      expect(variable?.value, `${name} is not written into the manifest`).toBeUndefined();
      expect(variable?.valueFrom?.secretKeyRef?.name, name).toBe(secret.metadata.name);
    }
    for (const variable of container.env) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) expect(Object.keys(secret.stringData), variable.name).toContain(ref.key);
    }
    // The example holds no real secret, and is not applied with the rest.
    expect(secret.stringData["vault-passphrase"]).toBe("CHANGE_ME");
    const kustomization = KustomizationSchema.parse(parseYaml(read("deploy/kubernetes/kustomization.yaml")));
    expect(kustomization.resources).not.toContain("secret.example.yaml");
    for (const resource of kustomization.resources) expect(existsSync(join(root, "deploy/kubernetes", resource)), resource).toBe(true);
  });

  it("the ConfigMap is the file KAI_CONFIG names, and loadConfig accepts it with the pod's environment", () => {
    const env = containerEnv();
    const configVolume = pod.volumes.find((v) => v.configMap?.name === configMap.metadata.name);
    expect(configVolume).toBeDefined();
    const mount = container.volumeMounts.find((m) => m.name === configVolume!.name)!;
    const key = posix.relative(mount.mountPath, env.KAI_CONFIG!);
    expect(Object.keys(configMap.data)).toContain(key);
    const config = loadShippedConfig(configMap.data[key]!, env);
    expect(config.storage.kind).toBe("postgres");
    expect(config.storage.postgres.url).toBe(secret.stringData["database-url"]);
    expect(config.cache.redis.url).toBe(secret.stringData["redis-url"]);
    expect(config.cluster.instanceName).toBe(env.KAI_INSTANCE_NAME);
    expect(config.server.host).toBe("0.0.0.0");
    // A rolling update runs replicas + maxSurge pods at once: all of them fit the budget each pod checks at start.
    const surge = Number(deployment.spec.strategy?.rollingUpdate?.maxSurge ?? 1);
    expect(config.cluster.expectedInstances).toBeGreaterThanOrEqual(deployment.spec.replicas + surge);
    expect(connectionBudget(config)).toBeLessThanOrEqual(POSTGRES_DEFAULT_MAX_CONNECTIONS - config.storage.postgres.reservedConnections);
  });

  it("the Service selects the Deployment's pods and targets the server's port", () => {
    const service = oneOfKind(ServiceSchema, "Service", "deploy/kubernetes/service.yaml");
    const labels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) expect(labels[key], key).toBe(value);
    const config = loadShippedConfig(configMap.data["kai.yaml"]!, containerEnv());
    for (const port of service.spec.ports) expect(portNamed(port.targetPort)).toBe(config.server.port);
  });

  it("the example ServiceMonitor scrapes /metrics on the Service's port, with a token from the Secret its comment makes", () => {
    const ServiceMonitorSchema = z.looseObject({
      kind: z.literal("ServiceMonitor"),
      metadata: z.looseObject({ namespace: z.string() }),
      spec: z.looseObject({
        selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()) }),
        endpoints: z.array(z.looseObject({ port: z.string(), path: z.string(), bearerTokenSecret: z.looseObject({ name: z.string(), key: z.string() }) })).length(1),
      }),
    });
    const file = "deploy/kubernetes/examples/servicemonitor.yaml";
    const monitor = oneOfKind(ServiceMonitorSchema, "ServiceMonitor", file);
    const service = oneOfKind(ServiceSchema, "Service", "deploy/kubernetes/service.yaml");
    const serviceDoc = z.looseObject({ metadata: z.looseObject({ namespace: z.string(), labels: z.record(z.string(), z.string()) }), spec: z.looseObject({ ports: z.array(z.looseObject({ name: z.string() })) }) }).parse(service);
    expect(monitor.metadata.namespace).toBe(serviceDoc.metadata.namespace);
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) expect(serviceDoc.metadata.labels[key], key).toBe(value);
    const [endpoint] = monitor.spec.endpoints;
    expect(serviceDoc.spec.ports.map((port) => port.name)).toContain(endpoint!.port);
    expect(endpoint!.path).toBe("/metrics");
    // The comment's command makes exactly the Secret and key it reads, with a token of the metrics:read scope only.
    const made = /kubectl -n (\S+) create secret generic (\S+) \\\n\s*#\s+--from-literal=(\w[\w-]*)="\$\(kai token create --scope ([\w:]+) /.exec(read(file));
    expect(made?.slice(1)).toEqual([monitor.metadata.namespace, endpoint!.bearerTokenSecret.name, endpoint!.bearerTokenSecret.key, "metrics:read"]);
  });

  it("the examples' database URL in the Secret names the example PostgreSQL's user, database and service", () => {
    const url = new URL(secret.stringData["database-url"]!);
    const postgres = kubernetesDocuments().find(({ doc }) => (doc as { kind?: string }).kind === "StatefulSet");
    const text = JSON.stringify(postgres?.doc);
    expect(url.hostname.split(".")[0]).toBe(z.looseObject({ spec: z.looseObject({ serviceName: z.string() }) }).parse(postgres?.doc).spec.serviceName);
    expect(text).toContain(`{"name":"POSTGRES_USER","value":"${url.username}"}`);
    expect(text).toContain(`{"name":"POSTGRES_DB","value":"${url.pathname.slice(1)}"}`);
  });
});

describe("docs/deployment.md", () => {
  it("every settings example in it loads with loadConfig", () => {
    const blocks = [...read("docs/deployment.md").matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
    // Kubernetes and compose snippets are not server settings.
    const settings = blocks.filter((block) => !/^(apiVersion|kind|services|x-[\w-]+):/m.test(block));
    expect(settings.length).toBeGreaterThan(0);
    for (const block of settings) expect(() => loadShippedConfig(block, { KAI_DATABASE_URL: "postgres://kai:pw@db.example.com:5432/kai" }), block).not.toThrow();
  });
});

describe("the probe routes the deployment files use answer on a running server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it.each([LIVENESS_PATH, READINESS_PATH])("GET %s answers 200 without a token on a healthy node", async (path) => {
    const response = await server.request(path, { token: null });
    expect(response.status).toBe(200);
  });
});

/**
 * @module test-support/app-harness
 * Renders the app, or one page of it, against a real node: a server started in-process on a free loopback port
 * (the server tests' own helper, SQLite in a fresh folder), reached through the SDK over real HTTP and WebSocket.
 * Component tests assert what a person sees and can do; nothing of the API is mocked.
 *
 * The helper is loaded by path at run time rather than imported: type-checking it would pull the server's sources
 * into the web app's browser-only compilation (DOM lib, bundler resolution), where they do not belong.
 */
import { render, type RenderResult } from "@testing-library/react";
import { App } from "../app/App";
import { tokenConnection, type Connection } from "../api/connection";

/** What the component tests use of the server tests' `TestServer` (packages/server/test/helpers/test-server.ts). */
export interface TestServer {
  url: string;
  adminToken: string;
  /** The node's data folder (a fresh temporary one). */
  dataDir: string;
  logs: string[];
  /** fetch relative to the server, with the admin token unless `token` is given (null = none). */
  request(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  dispose(): Promise<void>;
}

interface ServerHelpers {
  startTestServer(options?: { config?: Record<string, unknown>; host?: string }): Promise<TestServer>;
  mintToken(server: TestServer, scopes: string[], owner?: string): Promise<string>;
}

const HELPERS = new URL("../../../server/test/helpers/test-server.ts", import.meta.url).pathname;
const helpers = () => import(/* @vite-ignore */ HELPERS) as Promise<ServerHelpers>;

/** Starts a real node for a test file (dispose it in afterAll). */
export async function startTestServer(options?: { config?: Record<string, unknown>; host?: string }): Promise<TestServer> {
  return (await helpers()).startTestServer(options);
}

/** Instances of one node on one real PostgreSQL the test starts (the server tests' cluster helpers). */
export interface TestCluster {
  servers: TestServer[];
  /** A live member that never answers (the server tests' helper); resolves to its removal. */
  addSilentMember(name: string): Promise<() => Promise<void>>;
  dispose(): Promise<void>;
}

const POSTGRES = new URL("../../../server/test/helpers/postgres-server.ts", import.meta.url).pathname;
const INSTANCES = new URL("../../../server/test/cluster/support/instances.ts", import.meta.url).pathname;

/**
 * Two instances ("a" and "b") of one node on a PostgreSQL started for the test; null when there is none to start
 * (the server tests' `startPostgres`: under CI=true a missing PostgreSQL fails instead).
 */
export async function startTestCluster(database: string): Promise<TestCluster | null> {
  const { startPostgres } = (await import(/* @vite-ignore */ POSTGRES)) as { startPostgres(): Promise<{ stop(): Promise<void> } | null> };
  const { startInstances } = (await import(/* @vite-ignore */ INSTANCES)) as {
    startInstances(pg: unknown, options: { database: string; cluster?: Record<string, unknown> }): Promise<Omit<TestCluster, "dispose"> & { dispose(): Promise<void> }>;
  };
  const pg = await startPostgres();
  if (!pg) return null;
  const instances = await startInstances(pg, { database, cluster: { heartbeatMs: 200, memberTimeoutMs: 1500, pollIntervalMs: 300 } });
  return {
    servers: instances.servers,
    addSilentMember: (name) => instances.addSilentMember(name),
    dispose: async () => {
      await instances.dispose();
      await pg.stop();
    },
  };
}

/** Mints a bearer token with these scopes through the node's API. */
export async function mintToken(server: TestServer, scopes: string[], owner = "alice"): Promise<string> {
  return (await helpers()).mintToken(server, scopes, owner);
}

export interface RenderAppOptions {
  /** Where the app opens (`/services`); default the overview. */
  path?: string;
  /** The bearer token the app holds; default the node's admin token. `null`: nobody signed in (the sign-in page). */
  token?: string | null;
}

export function renderApp(server: TestServer, options: RenderAppOptions = {}): RenderResult & { connection: Connection } {
  const token = options.token === undefined ? server.adminToken : options.token;
  const connection = tokenConnection({ url: server.url, ...(token !== null ? { token } : {}) });
  const result = render(<App connection={connection} initialPath={options.path ?? "/"} />);
  return Object.assign(result, { connection });
}

/**
 * @module test/agents/a2a-push/a2a-support
 * What the A2A push tests share: an HTTP agent registered by a signed manifest with one capability, and the official
 * A2A client (JSON-RPC transport) sending a bearer token.
 */
import { expect } from "vitest";
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, type Client } from "@a2a-js/sdk/client";
import { klp, signAgentManifest } from "@kai/protocol";
import type { TestServer } from "../../helpers/test-server.js";
import { HttpAgent, type Behaviour } from "../kcore/http-agent.js";

/** Starts an HTTP agent offering `capability` and registers it on `target` (the caller closes it). */
export async function registerHttpAgent(target: TestServer, token: string, id: string, capability: string, behaviour: Behaviour): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  const manifest = signAgentManifest(
    { id, name: id, skills: [{ id: "s0", name: capability, capability, description: `does ${capability}` }], endpoint: { transport: "http", url: started.url }, limits: { maxConcurrentTasks: 8, stepTimeoutMs: 30_000 }, visibility: "private" },
    klp.generateKeyPair(),
  );
  const response = await target.request("/api/agents", { method: "POST", json: manifest, token });
  expect(response.status, await response.text()).toBe(201);
  return started;
}

/** The official A2A client for the node at `url`, as the holder of `token`. */
export async function a2aClient(url: string, token: string): Promise<Client> {
  const authed: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: authed })] }));
  return factory.createFromUrl(url);
}

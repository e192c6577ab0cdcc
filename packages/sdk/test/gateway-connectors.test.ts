/**
 * `client.gateway.connectors()` against a real server: the node's provider connectors with, per operation, the
 * parameters each honours, parsed with the protocol's schema by the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let caller: KaiClient;
let reader: KaiClient;

beforeAll(async () => {
  registry = await startRegistry();
  caller = await registry.clientWith(["gateway:invoke"], "alice");
  reader = await registry.clientWith(["services:read"], "bob");
});
afterAll(async () => {
  await registry?.close();
});

describe("client.gateway.connectors", () => {
  it("lists each connector's operations and the parameters it honours", async () => {
    const connectors = await caller.gateway.connectors();
    const ollama = connectors.find((connector) => connector.id === "ollama");
    expect(ollama?.displayName).toBe("Ollama");
    const chat = ollama?.operations.find((entry) => entry.operation === "chat");
    expect(Object.keys(chat?.parameters?.properties ?? {})).toEqual(expect.arrayContaining(["temperature", "top_k", "stop"]));
    expect(chat?.parameters?.properties.user).toBeUndefined();
  });

  it("needs gateway:invoke", async () => {
    const refused = await reader.gateway.connectors().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect(refused).toMatchObject({ status: 403 });
  });
});

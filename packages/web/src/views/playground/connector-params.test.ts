// Which parameters the playground offers for a target: the pinned service's connector's, the intersection over every
// candidate's connector for "any service", and nothing (so the shared schema) when no connector is known.
import { describe, expect, it } from "vitest";
import type { ConnectorInfo } from "@kai/protocol";
import { connectorProperties } from "./connector-params";

const number = { type: "number" };
const CONNECTORS: ConnectorInfo[] = [
  { id: "openai", displayName: "OpenAI", operations: [{ operation: "chat", parameters: { type: "object", properties: { temperature: number, seed: number, user: { type: "string" } } } }, { operation: "models" }] },
  { id: "ollama", displayName: "Ollama", operations: [{ operation: "chat", parameters: { type: "object", properties: { temperature: number, seed: number, top_k: { type: "integer" } } } }] },
  { id: "qdrant", displayName: "Qdrant", operations: [{ operation: "vector_query" }] },
];
const SERVICES = [
  { id: "gpt", provider: "openai" },
  { id: "local", provider: "ollama" },
  { id: "odd", provider: "not-a-connector" },
  { id: "bare" },
];

const names = (serviceId: string, services = SERVICES) => Object.keys(connectorProperties(CONNECTORS, services, serviceId, "chat")?.properties ?? { unknown: 1 });

describe("connectorProperties", () => {
  it("a pinned service: exactly its connector's parameters", () => {
    expect(names("local")).toEqual(["temperature", "seed", "top_k"]);
    expect(names("gpt")).toEqual(["temperature", "seed", "user"]);
  });

  it("any service: what every candidate connector honours, in the first one's order; unroutable services are no candidates", () => {
    expect(names("")).toEqual(["temperature", "seed"]);
    expect(names("", [{ id: "gpt", provider: "openai" }, { id: "gpt2", provider: "openai" }])).toEqual(["temperature", "seed", "user"]);
  });

  it("nothing known: undefined, so the shared schema decides", () => {
    expect(names("odd")).toEqual(["unknown"]);
    expect(names("bare")).toEqual(["unknown"]);
    expect(names("", [])).toEqual(["unknown"]);
  });

  it("a connector without the operation offers no parameters for it", () => {
    expect(names("", [{ id: "v", provider: "qdrant" }])).toEqual([]);
  });
});

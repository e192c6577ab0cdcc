/**
 * @module test/klp/support
 * Shared helpers for the KLP server tests: raw posts to the signed routes, the node's DID as the server
 * publishes it, grants issued through the admin API, and registration envelopes signed by a service key.
 */
import { klp } from "@kai/protocol";
import { expect } from "vitest";
import type { TestServer } from "../helpers/test-server.js";

export interface RawAnswer {
  status: number;
  text: string;
  json: unknown;
  envelope?: klp.KlpEnvelope;
}

/** POSTs raw text to a KLP route (no token) and parses the answer as an envelope when it is one. */
export async function postText(server: TestServer, path: string, text: string, contentType = "application/json"): Promise<RawAnswer> {
  const response = await fetch(server.url + path, { method: "POST", headers: { "content-type": contentType }, body: text });
  const body = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const parsed = klp.KlpEnvelopeSchema.safeParse(json);
  return { status: response.status, text: body, json, ...(parsed.success ? { envelope: parsed.data } : {}) };
}

export const postEnvelope = (server: TestServer, envelope: unknown, path = "/klp/message") => postText(server, path, JSON.stringify(envelope));

/** The DID the node publishes (its signed node document). */
export async function nodeDid(server: TestServer): Promise<string> {
  const response = await fetch(`${server.url}/.well-known/klp.json`);
  return klp.KlpNodeDocumentSchema.parse(await response.json()).did;
}

/** Checks that an answer is a signed `error` from the node with this code and HTTP status. */
export function expectKlpError(answer: RawAnswer, did: string, code: klp.KlpErrorCode, status: number): klp.KlpEnvelope {
  expect(answer.status, answer.text).toBe(status);
  const envelope = answer.envelope;
  expect(envelope, answer.text).toBeDefined();
  expect(envelope!.type).toBe("error");
  expect(envelope!.from).toBe(did);
  expect(klp.verifyEnvelope(answer.json as Record<string, unknown>)).toBe(true);
  expect((envelope!.payload as { code: string }).code).toBe(code);
  return envelope!;
}

/** A grant for `did` from the node, through `POST /api/klp/grants` with the admin token. */
export async function grantFor(server: TestServer, did: string, capabilities?: string[]): Promise<klp.KlpTokenGrant> {
  const response = await server.request("/api/klp/grants", { method: "POST", json: { for: did, ...(capabilities ? { capabilities } : {}) } });
  expect(response.status, await response.clone().text()).toBe(201);
  return klp.KlpTokenGrantSchema.parse(await response.json());
}

/** A registration payload; override what the test cares about. */
export function registrationPayload(serviceId: string, overrides: Record<string, unknown> = {}): klp.KlpRegistrationPayload {
  return {
    serviceId,
    host: "http://127.0.0.1:9/",
    capabilities: ["llm_chat"],
    version: "1.0.0",
    metadata: { name: `Service ${serviceId}`, description: "registered over KLP", tags: ["klp"], isLocal: true },
    ...overrides,
  } as klp.KlpRegistrationPayload;
}

/** A signed `capability_announce` to the node, with a grant when one is given. */
export function registrationEnvelope(
  service: klp.KlpKeyPair,
  to: string,
  payload: klp.KlpRegistrationPayload,
  grant?: klp.KlpTokenGrant,
  timestamp?: Date,
): klp.KlpEnvelope {
  return klp.createEnvelope(
    { type: "capability_announce", to, payload, ...(grant ? { auth: grant } : {}), ...(timestamp ? { timestamp } : {}) },
    service,
  );
}

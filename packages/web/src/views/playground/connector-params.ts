/**
 * @module views/playground/connector-params
 * Which parameters the playground offers: those of the connector that will answer. A pinned service is answered by
 * its provider's connector, so the fields are exactly what that connector declares it honours for the operation
 * (`GET /api/connectors`): an Ollama service shows `top_k` and no `user`, an OpenAI one `seed` and `user`.
 * With "Any service" the gateway may route to, and fail over between, every candidate service, so a field is offered
 * only if every candidate's connector honours it (the intersection): a value that one candidate would silently drop
 * is not worth a field. When nothing is known of the candidates (the session may not list services, none is listed,
 * or a provider is not a connector this node has) the shared request schema decides, as the gateway validates with it.
 */
import type { ConnectorInfo, ConnectorOperation } from "@kai/protocol";

/** JSON Schema properties, the shape `fieldsOf` reads. */
export interface Properties {
  properties: Record<string, unknown>;
}

/** What one connector honours for `operation` (an empty set when it does not offer the operation). */
function honoured(connector: ConnectorInfo, operation: ConnectorOperation): Record<string, unknown> {
  return connector.operations.find((entry) => entry.operation === operation)?.parameters?.properties ?? {};
}

/** A listed service, as far as choosing fields needs it. */
export interface CandidateService {
  id: string;
  provider?: string | null | undefined;
}

/**
 * The properties to offer for `operation` when the call goes to the pinned service `serviceId`, or (empty id) to
 * any of `services`; undefined when nothing is known, so the caller falls back to the shared schema. Services whose
 * provider is not a connector of the node are never routed to (the gateway has nothing to call them with), so they
 * are not candidates.
 */
export function connectorProperties(connectors: readonly ConnectorInfo[], services: readonly CandidateService[], serviceId: string, operation: ConnectorOperation): Properties | undefined {
  const connectorOf = (service: CandidateService) => connectors.find((connector) => connector.id === service.provider);
  const pinned = serviceId ? services.find((service) => service.id === serviceId) : undefined;
  const candidates = serviceId ? (pinned ? [pinned] : []) : services;
  const chosen = [...new Set(candidates.map(connectorOf).filter((connector): connector is ConnectorInfo => connector !== undefined))];
  if (chosen.length === 0) return undefined;
  const [first, ...rest] = chosen.map((connector) => honoured(connector, operation));
  // The first connector's order, which is its shared schema's order: fields keep their place as candidates change.
  const properties = Object.fromEntries(Object.entries(first ?? {}).filter(([name]) => rest.every((other) => name in other)));
  return { properties };
}

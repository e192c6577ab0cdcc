/**
 * @module gateway/connectors/catalog
 * The node's connectors as `GET /api/connectors` describes them: id, name, and per offered operation the
 * parameters it honours as JSON Schema (from each connector's `parameters` declaration). Connectors are fixed at
 * build time, so the description is built once, on first use.
 */
import { CONNECTOR_OPERATIONS, type ConnectorInfo, type ConnectorList } from "@kai/protocol";
import type { Connector } from "../connector.js";
import { connectors } from "./index.js";
import { parametersJson } from "./parameters.js";

/** One connector's description; operations in the protocol's order, so the answer is stable. */
export function describeConnector(connector: Connector): ConnectorInfo {
  const operations = CONNECTOR_OPERATIONS.filter((operation) => connector.operations.has(operation)).map((operation) => {
    const declared = connector.parameters[operation];
    return declared ? { operation, parameters: parametersJson(declared) } : { operation };
  });
  return { id: connector.id, displayName: connector.displayName, operations };
}

let described: ConnectorList | undefined;

/** Every registered connector, described (built once). */
export function describeConnectors(): ConnectorList {
  described ??= { connectors: [...connectors.values()].map(describeConnector) };
  return described;
}

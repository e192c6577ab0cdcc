/**
 * @module gateway
 * Public surface of the gateway's connector layer, for the router and the front doors built on top of it.
 */
export type {
  CallContext,
  ChatConnector,
  Connector,
  ConnectorLogger,
  ConnectorOperation,
  ConnectorResult,
  ConnectorStream,
  HealthResult,
  ProviderModel,
  UpstreamTarget,
} from "./connector.js";
export { OPERATION_METHODS, UNSAFE_TO_RETRY } from "./connector.js";
export { connectors, getConnector } from "./connectors/index.js";
export { UpstreamError, redact } from "./upstream-error.js";

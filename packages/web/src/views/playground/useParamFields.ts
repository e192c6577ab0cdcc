/**
 * @module views/playground/useParamFields
 * The parameter fields of one playground mode, following the target: the chosen service's connector's parameters
 * (or those every candidate's connector honours), from `client.gateway.connectors()`; the shared request schema's
 * until that is known or when nothing is known (connector-params.ts says why). Sessions that may not call the
 * gateway cannot use the playground anyway, so a refused connector list simply leaves the shared schema.
 */
import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ConnectorOperation } from "@kai/protocol";
import { useClient } from "../../app/session";
import { connectorProperties } from "./connector-params";
import { fieldsOf, paramFields, type ParamField, type RequestSchema } from "./params";
import { useCapabilityServices, type Target } from "./TargetPicker";

export interface ParamFieldsSource {
  capability: string;
  operation: ConnectorOperation;
  /** The shared request schema: the fallback, and what the request is validated with. */
  schema: RequestSchema;
  /** Fields the page asks for itself. */
  skip: readonly string[];
}

export function useParamFields(source: ParamFieldsSource, target: Target): ParamField[] {
  const client = useClient();
  const { services } = useCapabilityServices(source.capability);
  // Connectors are fixed at the node's build: read once per session.
  const connectors = useQuery({ queryKey: ["playground", "connectors"], queryFn: ({ signal }) => client.gateway.connectors({ signal }), staleTime: Infinity });
  const shared = useMemo(() => paramFields(source.schema, source.skip), [source.schema, source.skip]);
  return useMemo(() => {
    if (!connectors.data || !services.data) return shared;
    const properties = connectorProperties(connectors.data, services.data.services, target.serviceId, source.operation);
    return properties ? fieldsOf(properties, source.skip) : shared;
  }, [connectors.data, services.data, target.serviceId, source.operation, source.skip, shared]);
}

/**
 * @module views/playground/TargetPicker
 * Where a playground call goes: a model (any the gateway lists for the capability, or typed in: `<serviceId>/<model>`
 * pins a service), and optionally one service to pin it to (sent as the routing hint `serviceId`; "any" lets the
 * gateway route). The service list is offered only to sessions that may read the registry. The request's parameter
 * fields follow the choice (useParamFields.ts).
 */
import { useId } from "react";
import { useQuery } from "@tanstack/react-query";
import { useCan, useClient } from "../../app/session";
import { SelectField, TextField } from "../../components/Field";

export interface Target {
  model: string;
  serviceId: string;
}

/**
 * The services offering `capability`, for sessions that may read the registry (one query, shared by the picker and
 * the parameter fields, which follow the services' connectors).
 */
export function useCapabilityServices(capability: string) {
  const client = useClient();
  const mayList = useCan("services:read");
  const services = useQuery({
    queryKey: ["playground", "services", capability],
    queryFn: () => client.services.list({ capability, limit: 200 }),
    enabled: mayList,
  });
  return { mayList, services };
}

export function TargetPicker({ capability, target, onChange, modelRequired = true, modelError }: { capability: string; target: Target; onChange(target: Target): void; modelRequired?: boolean; modelError?: string | undefined }) {
  const client = useClient();
  const { mayList, services } = useCapabilityServices(capability);
  const listId = useId();
  const models = useQuery({ queryKey: ["playground", "models", capability], queryFn: ({ signal }) => client.gateway.models({ capability, signal }) });
  return (
    <div className="grid gap-3 sm:grid-cols-2">
      <div>
        <TextField
          label={modelRequired ? "Model" : "Model (optional)"}
          list={listId}
          value={target.model}
          error={modelError}
          autoComplete="off"
          hint={models.data ? `${models.data.length} model${models.data.length === 1 ? "" : "s"} offered for ${capability}; or type one.` : "Type a model name, or <service>/<model>."}
          onChange={(event) => onChange({ ...target, model: event.target.value })}
        />
        <datalist id={listId}>
          {models.data?.map((model) => <option key={model.id} value={model.id} />)}
        </datalist>
      </div>
      {mayList && (
        <SelectField label="Service" value={target.serviceId} onChange={(event) => onChange({ ...target, serviceId: event.target.value })} hint="Any: the gateway routes and fails over.">
          <option value="">Any service</option>
          {services.data?.services.map((service) => (
            <option key={service.id} value={service.id}>
              {service.name} ({service.id})
            </option>
          ))}
        </SelectField>
      )}
    </div>
  );
}

/** The routing hint for a pinned service. */
export function hintsOf(target: Target) {
  return target.serviceId ? { routingHints: { serviceId: target.serviceId } } : {};
}

/**
 * @module http/front-doors/router-port
 * Adapts the capability router to the front doors' `GatewayPort`: routing passes straight through; the model
 * list becomes OpenAI's `/v1/models` entries (each service's models as `<serviceId>/<model>`, which pins that
 * service, plus each plain model name once, which routes); the live check goes to the router's probe.
 */
import type { ModelEntry } from "@kai/protocol";
import type { CapabilityRouter } from "../../gateway/router/index.js";
import type { GatewayPort } from "./gateway-port.js";

export function routerPort(router: CapabilityRouter): GatewayPort {
  return {
    route: (operation, request, context) => router.route(operation, request, context),
    routeStream: (request, context) => router.routeStream(request, context),
    async models(principal, capability) {
      const entries = router.models(principal, capability);
      const pinned: ModelEntry[] = entries.map((entry) => ({ id: `${entry.serviceId}/${entry.model}`, object: "model", created: 0, owned_by: entry.ownedBy ?? entry.provider }));
      const names = [...new Set(entries.map((entry) => entry.model))].sort();
      const routed: ModelEntry[] = names.map((name) => ({ id: name, object: "model", created: 0, owned_by: "kai" }));
      return [...routed, ...pinned.sort((a, b) => (a.id < b.id ? -1 : 1))];
    },
    check: (principal, serviceId, signal) => router.checkService(principal, serviceId, signal),
    connectors: () => router.connectors(),
  };
}

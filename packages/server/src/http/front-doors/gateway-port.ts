/**
 * @module http/front-doors/gateway-port
 * What the HTTP front doors need from the gateway, as a narrow interface: route an operation, route a chat
 * stream, list the models a caller may use, probe one service. The composition root adapts the capability
 * router to it; the routes never reach into the router's internals.
 */
import type { ChatCompletionRequest, ConnectorList, ModelEntry, ServiceCheckResponse } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { RequestOf, ResponseOf, RouteOperation } from "../../gateway/router/operations.js";
import type { RouteContext, RouteResult, RoutedStream } from "../../gateway/router/router-types.js";

export interface GatewayPort {
  route<O extends RouteOperation>(operation: O, request: RequestOf<O>, context: RouteContext): Promise<RouteResult<ResponseOf<O>>>;
  routeStream(request: ChatCompletionRequest, context: RouteContext): Promise<RoutedStream>;
  /** Models of the services `principal` may see (only those offering `capability`, when given): `<serviceId>/<model>` entries and plain model names. */
  models(principal: Principal, capability?: string): Promise<ModelEntry[]>;
  /** A live probe of one service the principal may see (health and models); never throws for a failing service. */
  check(principal: Principal, serviceId: string, signal?: AbortSignal): Promise<ServiceCheckResponse>;
  /** The connectors and the request parameters each honours per operation (static: fixed at build time). */
  connectors(): ConnectorList;
}

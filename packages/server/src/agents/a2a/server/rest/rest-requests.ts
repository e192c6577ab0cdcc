/**
 * @module agents/a2a/server/rest/rest-requests
 * The HTTP+JSON binding's requests as the request handler takes them (the SDK's proto types, the same the JSON-RPC
 * binding hands it): bodies in proto JSON decoded with the SDK's own decoders, path and query values put where the
 * JSON-RPC params would carry them. The SDK's decoders assume objects where the proto has messages (a `null` part
 * throws a TypeError), so a body they cannot read is a malformed request (400), never an internal error.
 */
import { ListTasksRequest, SendMessageRequest, TaskPushNotificationConfig, TaskState } from "@a2a-js/sdk";
import { RequestMalformedError } from "@a2a-js/sdk/errors";

function decode<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new RequestMalformedError(`the request body is not ${what} in A2A's JSON`);
  }
}

/** `POST …/message:send` and `…/message:stream`: a SendMessageRequest; a message with a messageId is required. */
export function sendMessageRequestOf(body: Record<string, unknown> | null | undefined): SendMessageRequest {
  const request = decode("a SendMessageRequest", () => SendMessageRequest.fromJSON(body ?? {}));
  if (!request.message) throw new RequestMalformedError("message is required");
  if (!request.message.messageId) throw new RequestMalformedError("message.messageId is required");
  return request;
}

/** `POST …/tasks/{id}/pushNotificationConfigs`: the body's config, for the task of the path (the path wins). */
export function pushConfigOf(body: Record<string, unknown> | null | undefined, taskId: string): TaskPushNotificationConfig {
  return decode("a TaskPushNotificationConfig", () => TaskPushNotificationConfig.fromJSON({ ...(body ?? {}), taskId }));
}

/** The query of `GET …/tasks` (already checked by the route's schema: texts, pageSize 1-100 digits). */
export interface ListTasksQuery {
  contextId?: string | undefined;
  status?: string | undefined;
  pageSize?: string | undefined;
  pageToken?: string | undefined;
  historyLength?: string | undefined;
  statusTimestampAfter?: string | undefined;
  includeArtifacts?: string | undefined;
}

export function listTasksRequestOf(query: ListTasksQuery): ListTasksRequest {
  // A state by name (TASK_STATE_WORKING) or by number, as the SDK's own server takes it.
  const status = query.status !== undefined && /^\d{1,2}$/.test(query.status) ? Number(query.status) : query.status;
  const request = ListTasksRequest.fromJSON({ ...query, status, includeArtifacts: query.includeArtifacts === "true" });
  // An unknown state name is named, not read as "any state".
  if (query.status !== undefined && request.status === TaskState.UNRECOGNIZED) throw new RequestMalformedError(`status ${query.status.slice(0, 40)} is not a TaskState`);
  return request;
}

/**
 * A2A's custom methods on a task are a suffix of its path segment (`tasks/{id}:cancel`, `tasks/{id}:subscribe`).
 * The router cannot tell a parameter from a suffix in one segment, so the route takes the whole segment and this
 * splits it: `verb` is undefined for a bare id (kCore's task ids have no colon).
 */
export function taskVerbOf(segment: string): { id: string; verb: string | undefined } {
  const at = segment.lastIndexOf(":");
  return at < 0 ? { id: segment, verb: undefined } : { id: segment.slice(0, at), verb: segment.slice(at + 1) };
}

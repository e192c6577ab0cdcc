/**
 * @module agent-runtime/klp-endpoint
 * The agent's KLP endpoint, `POST /klp/message` on a node:http server. Every message runs KLP's acceptance rules
 * with the pinned node DID as the only allowed sender and the agent's DID as the only recipient: an unsigned,
 * forged (another key), stale or replayed task request is refused with a signed `error` and never reaches a
 * handler. An accepted `task_request` is answered as a stream (NDJSON) of signed envelopes correlated to it:
 * `status_update` "working", any progress the handler reports, then one `task_result` or `task_error`. A
 * `status_update {status: "cancel"}` from the node, or the node closing the exchange, aborts the handler's signal.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { klp, parseJson } from "@kai/protocol";

const MAX_REQUEST_BYTES = 1024 * 1024;
const MAX_MESSAGE = 500;

/** What a handler gets besides its input. */
export interface KlpStepContext {
  taskId: string;
  planId?: string;
  stepId?: string;
  capability: string;
  /** Aborts when the node cancels the step, its timeout passes, or the node closes the exchange. */
  signal: AbortSignal;
  /** The answer to this step's earlier question (see `inputRequired`), when the node runs it again with one. */
  answer?: unknown;
  /** Reports progress to the node (a signed `status_update`; kCore shows it as the step's progress). */
  progress(update: { progress?: number; detail?: string; status?: string }): void;
  /** Returns the marker that asks the task's owner a question; the step runs again with `answer` set. */
  inputRequired(prompt: string): KlpInputRequired;
}

const INPUT_REQUIRED = Symbol("kai.inputRequired");
export interface KlpInputRequired {
  readonly [INPUT_REQUIRED]: string;
}

/** A handler's output becomes `task_result.result`; a thrown error becomes `task_error` (its `code` when it has one). */
export type KlpSkillHandler = (input: Record<string, unknown>, context: KlpStepContext) => unknown;

export interface KlpEndpointOptions {
  key: klp.KlpKeyPair;
  /** The only DID whose task requests run. */
  nodeDid: string;
  /** By capability. */
  handlers: Readonly<Record<string, KlpSkillHandler>>;
  /** Called for every refused message (for logs and tests); never with secrets. */
  onRefused?(refusal: { code: string; message: string }): void;
  onError?(error: unknown): void;
}

const STATUS_OF: Partial<Record<klp.KlpErrorCode, number>> = {
  KLP_MALFORMED: 400,
  KLP_UNSUPPORTED_VERSION: 400,
  KLP_BAD_SIGNATURE: 401,
  KLP_UNKNOWN_SENDER: 403,
  KLP_UNAUTHORIZED: 403,
  KLP_TRUST_INSUFFICIENT: 403,
  KLP_STALE: 409,
  KLP_REPLAY: 409,
  KLP_NOT_FOUND: 404,
  KLP_RATE_LIMITED: 429,
};

export class KlpEndpoint {
  readonly server: Server;
  private readonly replayCache = new klp.ReplayCache();
  /** Running steps by the id of their task_request, so a cancel can find them. */
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly options: KlpEndpointOptions) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        options.onError?.(error);
        if (!response.headersSent) response.writeHead(500).end();
        else response.end();
      });
    });
  }

  /** Listens; resolves to the base URL (`http://host:port`). */
  listen(port = 0, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        if (address === null || typeof address === "string") return reject(new Error("the KLP endpoint has no TCP address"));
        resolve(`http://${host.includes(":") ? `[${host}]` : host}:${address.port}`);
      });
    });
  }

  /** Aborts every running step and stops listening. */
  async close(): Promise<void> {
    for (const controller of this.running.values()) controller.abort(new Error("the agent is stopping"));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "POST" || path !== "/klp/message") {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
      return;
    }
    const body = await readBounded(request);
    if (body === undefined) return this.refuse(response, new klp.KlpError("KLP_MALFORMED", `a message is at most ${MAX_REQUEST_BYTES} bytes`), undefined);
    const { key, nodeDid } = this.options;
    const accepted = await klp.acceptText(body, {
      replayCache: this.replayCache,
      trust: (envelope) => (envelope.from === nodeDid ? { ok: true } : { ok: false, code: "KLP_UNAUTHORIZED", message: "this agent takes messages from its node only" }),
      recipientExists: (address) => address.kind === "did" && address.did === key.did,
    });
    if (!accepted.ok) return this.refuse(response, accepted.error, safeJson(body.toString("utf8")));
    const envelope = accepted.envelope;
    if (envelope.type === "task_request") return this.runStep(envelope, request, response);
    if (envelope.type === "status_update" && (envelope.payload as { status?: unknown }).status === "cancel") {
      const target = envelope.metadata?.correlationId;
      const controller = target === undefined ? undefined : this.running.get(target);
      controller?.abort(new Error("canceled by the node"));
      return this.reply(response, 200, this.envelope("status_update", envelope, { status: controller ? "canceling" : "unknown", ...taskIdOf(envelope) }));
    }
    return this.refuse(response, new klp.KlpError("KLP_NOT_FOUND", `this agent does not take ${envelope.type} messages`), envelope);
  }

  private async runStep(envelope: klp.KlpEnvelope, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const payload = envelope.payload as klp.KlpPayload<"task_request"> & { planId?: unknown; stepId?: unknown; answer?: unknown };
    const ids = {
      taskId: payload.taskId,
      ...(typeof payload.stepId === "string" ? { stepId: payload.stepId } : {}),
    };
    const handler = Object.hasOwn(this.options.handlers, payload.capability) ? this.options.handlers[payload.capability] : undefined;
    if (!handler) {
      return this.reply(response, 200, this.envelope("task_error", envelope, { ...ids, code: "unknown_capability", message: `this agent has no skill for ${payload.capability}`, retryable: false }));
    }
    const controller = new AbortController();
    this.running.set(envelope.id, controller);
    let finished = false;
    // The node closing the exchange (cancel, timeout, node stopping) stops the step too.
    response.on("close", () => {
      if (!finished) controller.abort(new Error("the node closed the exchange"));
    });
    response.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    const send = (type: "status_update" | "task_result" | "task_error", body: Record<string, unknown>) => {
      if (!response.writableEnded && !response.destroyed) response.write(`${JSON.stringify(this.envelope(type, envelope, { ...ids, ...body }))}\n`);
    };
    send("status_update", { status: "working" });
    try {
      const context: KlpStepContext = {
        taskId: payload.taskId,
        ...(typeof payload.planId === "string" ? { planId: payload.planId } : {}),
        ...(typeof payload.stepId === "string" ? { stepId: payload.stepId } : {}),
        capability: payload.capability,
        signal: controller.signal,
        ...(payload.answer !== undefined ? { answer: payload.answer } : {}),
        progress: (update) =>
          send("status_update", {
            status: update.status ?? "working",
            ...(update.progress !== undefined ? { progress: Math.min(1, Math.max(0, update.progress)) } : {}),
            ...(update.detail !== undefined ? { detail: update.detail.slice(0, MAX_MESSAGE) } : {}),
          }),
        inputRequired: (prompt) => ({ [INPUT_REQUIRED]: prompt }),
      };
      const output = await handler(payload.parameters, context);
      if (isInputRequired(output)) send("task_result", { status: "partial", inputRequired: { prompt: output[INPUT_REQUIRED] } });
      else send("task_result", { status: "success", result: output === undefined ? null : output });
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      send("task_error", {
        code: typeof code === "string" && code.length > 0 ? code.slice(0, 100) : controller.signal.aborted ? "canceled" : "agent_error",
        message: (error instanceof Error ? error.message : String(error)).slice(0, MAX_MESSAGE),
        retryable: !controller.signal.aborted,
      });
    } finally {
      finished = true;
      this.running.delete(envelope.id);
      response.end();
    }
  }

  /** A signed envelope from this agent to the node, answering `to`. */
  private envelope(type: klp.KlpMessageType, to: klp.KlpEnvelope, payload: Record<string, unknown>): klp.KlpEnvelope {
    return klp.createEnvelope({ type, to: this.options.nodeDid, payload: payload as never, metadata: { correlationId: to.id } }, this.options.key);
  }

  private refuse(response: ServerResponse, error: klp.KlpError, rejected: unknown): void {
    this.options.onRefused?.({ code: error.code, message: error.message });
    // The signed refusal goes back to the sender named in the message (or the node): it proves who refused.
    this.reply(response, STATUS_OF[error.code] ?? 500, klp.createErrorReply(error, rejected, this.options.key, this.options.nodeDid));
  }

  private reply(response: ServerResponse, status: number, envelope: klp.KlpEnvelope): void {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(envelope));
  }
}

function isInputRequired(value: unknown): value is KlpInputRequired {
  return typeof value === "object" && value !== null && typeof (value as Partial<KlpInputRequired>)[INPUT_REQUIRED] === "string";
}

function taskIdOf(envelope: klp.KlpEnvelope): { taskId?: string } {
  const taskId = (envelope.payload as { taskId?: unknown }).taskId;
  return typeof taskId === "string" ? { taskId } : {};
}

function safeJson(text: string): unknown {
  const json = parseJson(text);
  return json.ok ? json.value : undefined;
}

async function readBounded(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_REQUEST_BYTES) {
      request.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

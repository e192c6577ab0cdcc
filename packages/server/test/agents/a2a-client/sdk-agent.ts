/**
 * A real A2A agent for the tests, built with the OFFICIAL A2A JS SDK's server side (AgentExecutor,
 * DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler): independent of the node's code. It is served by
 * a small node:http adapter doing what the SDK's express `jsonRpcHandler` does (the server package has no express
 * types), plus the agent card at `/.well-known/agent-card.json`.
 *
 * What it does, by the `kind` field of the step's data part: `echo` completes with an artifact `{echo: input}`;
 * `ask` asks "Which city?" (input-required) and completes with `{booked: <answer>}` once answered on the same task;
 * `slow` works until canceled (and records the cancel); `fail` fails with a message. A cancel of a task waiting for
 * input (`ask`) ends it as canceled and is recorded too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { formatSSEEvent, Role, SSE_HEADERS, TaskState, type AgentCard, type Message, type Part } from "@a2a-js/sdk";
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  defaultServerCallContextBuilder,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from "@a2a-js/sdk/server";

const text = (value: string): Part => ({ content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" });
const data = (value: unknown): Part => ({ content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" });

function agentMessage(taskId: string, contextId: string, parts: Part[]): Message {
  return { messageId: randomUUID(), role: Role.ROLE_AGENT, taskId, contextId, parts, metadata: undefined, extensions: [], referenceTaskIds: [] };
}

function dataOf(message: Message): Record<string, unknown> {
  const part = message.parts.find((entry) => entry.content?.$case === "data");
  return (part?.content?.$case === "data" ? part.content.value : {}) as Record<string, unknown>;
}

function textOf(message: Message): string {
  return message.parts.map((part) => (part.content?.$case === "text" ? part.content.value : "")).join("");
}

class TestExecutor implements AgentExecutor {
  readonly received: Message[] = [];
  /** The A2A task id of each `execute`, in order. */
  readonly tasks: string[] = [];
  readonly canceled: string[] = [];
  private readonly running = new Map<string, () => void>();
  /** Tasks waiting for input (their execute has returned): a cancel ends them itself. */
  private readonly asking = new Map<string, string>();

  async execute(context: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const message = context.userMessage;
    this.received.push(message);
    const { taskId, contextId } = context;
    this.tasks.push(taskId);
    const status = (state: TaskState, parts?: Part[]) =>
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state, message: parts ? agentMessage(taskId, contextId, parts) : undefined, timestamp: new Date().toISOString() }, metadata: undefined }));
    if (context.task) {
      this.asking.delete(taskId);
      // A follow-up on an existing task: the answer to "Which city?".
      bus.publish(AgentEvent.task(context.task));
      bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, artifact: { artifactId: "booking", name: "booking", description: "", parts: [data({ booked: textOf(message) })], metadata: undefined, extensions: [] }, append: false, lastChunk: true, metadata: undefined }));
      status(TaskState.TASK_STATE_COMPLETED);
      bus.finished();
      return;
    }
    bus.publish(AgentEvent.task({ id: taskId, contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() }, artifacts: [], history: [message], metadata: undefined }));
    const input = dataOf(message);
    switch (input.kind) {
      case "echo":
        status(TaskState.TASK_STATE_WORKING);
        bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, artifact: { artifactId: "echo", name: "echo", description: "", parts: [data({ echo: input })], metadata: undefined, extensions: [] }, append: false, lastChunk: true, metadata: undefined }));
        status(TaskState.TASK_STATE_COMPLETED);
        break;
      case "ask":
        this.asking.set(taskId, contextId);
        status(TaskState.TASK_STATE_INPUT_REQUIRED, [text("Which city?")]);
        break;
      case "slow":
        status(TaskState.TASK_STATE_WORKING);
        await new Promise<void>((resolve) => this.running.set(taskId, resolve));
        status(TaskState.TASK_STATE_CANCELED);
        break;
      default:
        status(TaskState.TASK_STATE_FAILED, [text(`no such thing: ${String(input.kind)}`)]);
    }
    bus.finished();
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    this.canceled.push(taskId);
    const running = this.running.get(taskId);
    this.running.delete(taskId);
    if (running) return running();
    // A task waiting for input has no execute left to say it ended: say it here (the SDK waits for that event).
    const contextId = this.asking.get(taskId);
    if (contextId === undefined) return;
    this.asking.delete(taskId);
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() }, metadata: undefined }));
    bus.finished();
  }
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export class SdkA2aAgent {
  readonly executor = new TestExecutor();
  /** When false the card is answered 503 (the agent "goes away" for the refresh). */
  cardAvailable = true;
  /** The card's A2A signatures (a test signs the card and sets them; empty: an unsigned card). */
  signatures: AgentCard["signatures"] = [];
  skills: AgentCard["skills"] = [
    { id: "echo", name: "Echo", description: "echoes", tags: ["Demo Tag"], examples: [], inputModes: [], outputModes: [], securityRequirements: [] },
    { id: "Book Trip", name: "Book a trip", description: "asks where", tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] },
  ];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: { name: string; streaming: boolean },
  ) {}

  card(): AgentCard {
    return {
      name: this.options.name,
      description: "an A2A agent made with the official SDK",
      supportedInterfaces: [{ url: `${this.url}/a2a`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" }],
      provider: undefined,
      version: "1.0.0",
      capabilities: { streaming: this.options.streaming, pushNotifications: false, extensions: [] },
      securitySchemes: {},
      securityRequirements: [],
      defaultInputModes: ["text/plain", "application/json"],
      defaultOutputModes: ["application/json"],
      skills: this.skills,
      signatures: this.signatures,
    } as AgentCard;
  }

  /** `streaming: false` makes a card without streaming: clients then use the blocking SendMessage. */
  static async start(options: { name?: string; streaming?: boolean } = {}): Promise<SdkA2aAgent> {
    const holder: { agent?: SdkA2aAgent } = {};
    const server = createServer((request, response) => {
      void holder.agent!.handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const agent = new SdkA2aAgent(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, { name: options.name ?? "Test SDK Agent", streaming: options.streaming ?? true });
    holder.agent = agent;
    agent.handler = new DefaultRequestHandler(agent.card(), new InMemoryTaskStore(), agent.executor);
    return agent;
  }

  private handler!: DefaultRequestHandler;

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method === "GET" && request.url === "/.well-known/agent-card.json") {
      if (!this.cardAvailable) return void response.writeHead(503).end();
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.card()));
      return;
    }
    if (request.method !== "POST" || request.url !== "/a2a") return void response.writeHead(404).end();
    const body = JSON.parse(await bodyOf(request)) as Record<string, unknown>;
    const version = request.headers["a2a-version"];
    const context = defaultServerCallContextBuilder({ extensions: undefined, user: undefined, headers: request.headers, ...(typeof version === "string" ? { requestedVersion: version } : {}) });
    const result = await new JsonRpcTransportHandler(this.handler).handle(body, context);
    if (typeof (result as AsyncGenerator)[Symbol.asyncIterator] === "function") {
      response.writeHead(200, SSE_HEADERS);
      for await (const event of result as AsyncGenerator) response.write(formatSSEEvent(event));
      response.end();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

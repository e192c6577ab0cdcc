/**
 * @module test/agents/kcore/http-agent
 * A small real agent for kCore's tests: a node:http server speaking the HTTP transport (a step POSTed as JSON,
 * answered `{output}`, `{inputRequired}` or an error status), whose behaviour the test sets per request, and which
 * records every step it got and whether the node closed the request before it answered (cancel, timeout). It
 * registers itself through the node's real route, by a manifest signed with its own Ed25519 key.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { klp, signAgentManifest } from "@kai/protocol";
import type { TestServer } from "../../helpers/test-server.js";

export interface StepBody {
  taskId: string;
  planId: string;
  stepId: string;
  capability: string;
  input: Record<string, unknown>;
  answer?: unknown;
}

/** What the agent answers: JSON with a status, or never (until the node closes the request). */
export type Reply = { status?: number; body: unknown } | "hang";
export type Behaviour = (step: StepBody, agent: HttpAgent) => Reply | Promise<Reply>;

export interface ReceivedStep {
  body: StepBody;
  /** True once the node closed the request before the agent answered it. */
  aborted: boolean;
  /** The request's W3C `traceparent`, when the node sent one (a traced step). */
  traceparent?: string;
}

export class HttpAgent {
  readonly received: ReceivedStep[] = [];
  /** Step requests whose head has arrived (counted before the body is read). */
  arrived = 0;
  url = "";
  private readonly waiters: Array<() => void> = [];
  private readonly server = createServer((req, res) => void this.handle(req, res));

  constructor(
    readonly id: string,
    public behaviour: Behaviour,
  ) {}

  static async start(id: string, behaviour: Behaviour): Promise<HttpAgent> {
    const agent = new HttpAgent(id, behaviour);
    await new Promise<void>((resolve) => agent.server.listen(0, "127.0.0.1", resolve));
    agent.url = `http://127.0.0.1:${(agent.server.address() as AddressInfo).port}/step`;
    return agent;
  }

  /** Registers this agent on `server` as `token`'s, offering `capabilities` over HTTP. */
  async register(server: TestServer, token: string, capabilities: string[], limits: { maxConcurrentTasks?: number; stepTimeoutMs?: number } = {}): Promise<void> {
    const key = klp.generateKeyPair();
    const manifest = signAgentManifest(
      {
        id: this.id,
        name: this.id,
        skills: capabilities.map((capability, index) => ({ id: `s${index}`, name: capability, capability })),
        endpoint: { transport: "http", url: this.url },
        limits: { maxConcurrentTasks: limits.maxConcurrentTasks ?? 4, stepTimeoutMs: limits.stepTimeoutMs ?? 30_000 },
      },
      key,
    );
    const response = await server.request("/api/agents", { method: "POST", json: manifest, token });
    if (response.status !== 201) throw new Error(`registering ${this.id} failed: ${response.status} ${await response.text()}`);
  }

  /** Resolves once the agent has received at least `count` steps. */
  waitForSteps(count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id} got ${this.received.length} of ${count} steps`)), timeoutMs);
      const check = () => {
        if (this.received.length >= count) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Resolves once the node closed the `index`th step's request. */
  waitForAbort(index: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}'s step ${index} was not aborted`)), timeoutMs);
      const check = () => {
        if (this.received[index]?.aborted) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.arrived++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const step: ReceivedStep = { body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as StepBody, aborted: false };
    if (typeof req.headers.traceparent === "string") step.traceparent = req.headers.traceparent;
    this.received.push(step);
    res.on("close", () => {
      if (!res.writableFinished) {
        step.aborted = true;
        this.wake();
      }
    });
    this.wake();
    const reply = await this.behaviour(step.body, this);
    if (reply === "hang" || res.destroyed) return;
    res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
    res.end(JSON.stringify(reply.body));
  }
}

/**
 * @module test/agents/a2a-push/push-receiver
 * A small real push notification receiver for the A2A push tests: a node:http server that records every POST it
 * answers 2xx (path, Authorization, the legacy token header, content type, the body as A2A's StreamResponse) and can
 * be told to fail the next requests (to see the node retry) or never to answer on some paths (a hung receiver).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamResponse } from "@a2a-js/sdk";

export interface ReceivedPush {
  path: string;
  authorization: string | undefined;
  token: string | undefined;
  contentType: string | undefined;
  body: StreamResponse;
}

export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  /** Requests answered with an error before any is taken (retries). */
  failNext = 0;
  failures = 0;
  /** Paths whose requests are never answered (a receiver that hangs); `hung` counts them. */
  readonly hangPaths = new Set<string>();
  hung = 0;
  url = "";
  private readonly server = createServer((request, response) => void this.handle(request, response));

  static async start(): Promise<PushReceiver> {
    const receiver = new PushReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** What reached `path`, in the order it arrived. */
  at(path: string): ReceivedPush[] {
    return this.received.filter((push) => push.path === path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (this.hangPaths.has(request.url ?? "")) {
      this.hung += 1;
      return;
    }
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.failures += 1;
      response.statusCode = 503;
      response.end();
      return;
    }
    this.received.push({
      path: request.url ?? "",
      authorization: request.headers.authorization,
      token: request.headers["x-a2a-notification-token"] as string | undefined,
      contentType: request.headers["content-type"],
      body: StreamResponse.fromJSON(JSON.parse(Buffer.concat(chunks).toString("utf8"))),
    });
    response.statusCode = 200;
    response.end();
  }
}

// The Playground against a real node whose service is the server tests' faithful fake OpenAI upstream (over a
// socket): a streamed chat with who answered and the gateway's overhead, Stop cancelling the upstream call,
// parameters reaching the service (and a bad one refused before anything is sent), embeddings and image
// generation. Then, with an Ollama service (its fake) next to it: the parameter fields are those the chosen
// service's connector honours, and with "Any service" those both connectors honour.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

/** What the test uses of the fake (packages/server/test/gateway/fakes/fake-server.ts). */
interface FakeUpstream {
  url: string;
  scenario: { kind: string; [key: string]: unknown };
  earlyCloses: number;
  requests: Array<{ path: string; body: unknown }>;
  waitForEarlyClose(seen: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// Loaded by path at run time, like the harness loads the server's helper (not part of the app's compilation).
const FAKE = new URL("../../../../server/test/gateway/fakes/openai-fake.ts", import.meta.url).pathname;
const startOpenAIFake = async (): Promise<FakeUpstream> => ((await import(/* @vite-ignore */ FAKE)) as { startOpenAIFake(): Promise<FakeUpstream> }).startOpenAIFake();
const OLLAMA_FAKE = new URL("../../../../server/test/gateway/fakes/ollama-fake.ts", import.meta.url).pathname;
const startOllamaFake = async (): Promise<FakeUpstream> => ((await import(/* @vite-ignore */ OLLAMA_FAKE)) as { startOllamaFake(): Promise<FakeUpstream> }).startOllamaFake();

let server: TestServer;
let fake: FakeUpstream;

beforeAll(async () => {
  fake = await startOpenAIFake();
  server = await startTestServer();
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: { id: "pg-openai", name: "Playground OpenAI", type: "service", provider: "openai", capabilities: ["llm_chat", "embeddings", "image_generation"], url: fake.url, visibility: "public" },
  });
  expect(registered.status, await registered.text()).toBe(201);
});
afterAll(async () => {
  await server.dispose();
  await fake.close();
});
beforeEach(() => {
  fake.scenario = { kind: "ok" };
});

/** Opens a page of the playground; the first visit loads the view's code, which can take a while on a busy machine. */
async function open(path: string) {
  renderApp(server, { path });
  await screen.findByRole("heading", { name: "Playground" }, { timeout: 15_000 });
  return userEvent.setup();
}

const lastChat = () => [...fake.requests].reverse().find((request) => request.path === "/v1/chat/completions")?.body as Record<string, unknown> | undefined;

describe("the playground", () => {
  it("streams a chat answer and says which service answered and what the gateway added", async () => {
    const user = await open("/playground");
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    await user.type(screen.getByLabelText("Message"), "Say hello");
    await user.click(screen.getByRole("button", { name: "Send" }));

    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Answer complete"));
    const conversation = screen.getByRole("list", { name: "Conversation" });
    expect(within(conversation).getByText("Hello from the fake")).toBeTruthy();
    expect(within(conversation).getByText("Say hello")).toBeTruthy();
    const served = screen.getByRole("region", { name: "Served by" });
    expect(served.textContent).toContain("pg-openai");
    expect(served.textContent).toContain("(openai)");
    expect(served.textContent).toMatch(/Gateway overhead\s*\d+\.\d\d ms/);
    // An admin is led to the call's log lines (this node does not trace: no trace id).
    expect(within(served).getByRole("link", { name: "log lines" }).getAttribute("href")).toMatch(/^\/console\?requestId=\S+$/);
    expect(served.textContent).not.toContain("Trace id");
    expect(lastChat()?.stream).toBe(true);
  });

  it("stops a stream: the partial answer stays, marked stopped, and the upstream call is cancelled", async () => {
    fake.scenario = { kind: "stall-mid-stream" };
    const closesBefore = fake.earlyCloses;
    const user = await open("/playground");
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    await user.type(screen.getByLabelText("Message"), "Tell me a long story");
    await user.click(screen.getByRole("button", { name: "Send" }));
    // The fake sent its first frames ("Hel") and then went silent.
    await waitFor(() => expect(screen.getByTestId("streaming-answer").textContent).toBe("Hel"));
    await user.click(screen.getByRole("button", { name: "Stop" }));

    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Stopped"));
    const conversation = screen.getByRole("list", { name: "Conversation" });
    expect(within(conversation).getByText("Hel")).toBeTruthy();
    expect(within(conversation).getByText(/stopped/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Stop" }) as HTMLButtonElement).disabled).toBe(true);
    await fake.waitForEarlyClose(closesBefore);
  });

  it("sends the parameters generated from the request schema, and refuses a bad one before sending", async () => {
    const user = await open("/playground");
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    await user.type(screen.getByLabelText("Message"), "Short, please");
    const sentBefore = fake.requests.length;
    await user.type(screen.getByLabelText("temperature"), "warm");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const temperature = screen.getByLabelText("temperature");
    expect(temperature.getAttribute("aria-invalid")).toBe("true");
    expect(fake.requests.length).toBe(sentBefore);

    await user.clear(temperature);
    await user.type(temperature, "0.2");
    await user.type(screen.getByLabelText("max_tokens"), "5");
    await user.type(screen.getByLabelText("stop"), "END");
    await user.click(screen.getByLabelText("Stream the answer"));
    await user.click(screen.getByRole("button", { name: "Send" }));
    await within(screen.getByRole("list", { name: "Conversation" })).findByText("Hello from the fake");
    expect(lastChat()).toMatchObject({ temperature: 0.2, max_tokens: 5, stop: "END" });
    expect(lastChat()?.stream).not.toBe(true);
  });

  it("pins a call to a chosen service", async () => {
    const user = await open("/playground");
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    const service = screen.getByLabelText("Service");
    await within(service).findByRole("option", { name: "Playground OpenAI (pg-openai)" });
    await user.selectOptions(service, "pg-openai");
    // From the keyboard: Ctrl+Enter in the message sends it.
    await user.type(screen.getByLabelText("Message"), "hi{Control>}{Enter}{/Control}");
    await within(screen.getByRole("list", { name: "Conversation" })).findByText("Hello from the fake");
    expect(screen.getByRole("region", { name: "Served by" }).textContent).toContain("pg-openai");
  });

  it("embeds texts and shows the vectors", async () => {
    const user = await open("/playground/embeddings");
    await user.type(await screen.findByLabelText("Model"), "text-embedding-fake");
    await user.type(screen.getByLabelText("Texts"), "first{enter}second");
    await user.click(screen.getByRole("button", { name: "Embed" }));
    const vectors = await screen.findByRole("list", { name: "Vectors" });
    expect(within(vectors).getAllByRole("listitem")).toHaveLength(2);
    expect(vectors.textContent).toContain("3 dimensions");
    expect(screen.getByRole("region", { name: "Served by" }).textContent).toContain("pg-openai");
  });

  it("generates an image and links what the provider hosts", async () => {
    const user = await open("/playground/images");
    await user.type(await screen.findByLabelText("Prompt"), "a lighthouse at dusk");
    await user.click(screen.getByRole("button", { name: "Generate" }));
    const images = await screen.findByRole("list", { name: "Images" });
    expect(within(images).getByRole("link", { name: /Open image 1/ }).getAttribute("href")).toBe("https://images.example/fake.png");
    expect(images.textContent).toContain("a lighthouse at dusk");
    expect(screen.getByRole("region", { name: "Served by" }).textContent).toContain("pg-openai");
  });

  it("shows the gateway's error with its code when no service can answer", async () => {
    fake.scenario = { kind: "status", status: 500, times: 10 };
    const user = await open("/playground");
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    await user.type(screen.getByLabelText("Message"), "hi");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/code upstream_/);
  });
});

describe("the parameters follow the chosen service's connector", () => {
  let ollama: FakeUpstream;
  beforeAll(async () => {
    ollama = await startOllamaFake();
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: { id: "pg-ollama", name: "Playground Ollama", type: "service", provider: "ollama", capabilities: ["llm_chat"], url: ollama.url, visibility: "public", metadata: { models: ["llama-fake:1b"] } },
    });
    expect(registered.status, await registered.text()).toBe(201);
  });
  afterAll(async () => {
    await ollama.close();
  });

  /** Picks a service and waits for its connector's fields (the list of connectors loads once). */
  async function pick(user: ReturnType<typeof userEvent.setup>, serviceId: string, name: string) {
    const service = await screen.findByLabelText("Service");
    await within(service).findByRole("option", { name: `${name} (${serviceId})` });
    await user.selectOptions(service, serviceId);
  }

  it("an Ollama service offers top_k and not what Ollama ignores; what is set reaches Ollama", async () => {
    const user = await open("/playground");
    await pick(user, "pg-ollama", "Playground Ollama");
    const topK = await screen.findByLabelText("top_k");
    expect(screen.queryByLabelText("user")).toBeNull();
    expect(screen.queryByLabelText("frequency_penalty")).toBeNull();
    expect(screen.getByLabelText("temperature")).toBeTruthy();

    await user.type(screen.getByLabelText("Model"), "llama-fake:1b");
    await user.type(topK, "12");
    await user.type(screen.getByLabelText("temperature"), "0.3");
    await user.type(screen.getByLabelText("Message"), "hi");
    await user.click(screen.getByRole("button", { name: "Send" }));
    await within(screen.getByRole("list", { name: "Conversation" })).findByText("Hello from the fake");
    const sent = [...ollama.requests].reverse().find((request) => request.path === "/api/chat")?.body as { options?: Record<string, unknown> } | undefined;
    expect(sent?.options).toMatchObject({ top_k: 12, temperature: 0.3 });
  });

  it("an OpenAI service offers seed and user, and no top_k", async () => {
    const user = await open("/playground");
    await pick(user, "pg-openai", "Playground OpenAI");
    expect(await screen.findByLabelText("seed")).toBeTruthy();
    expect(screen.getByLabelText("user")).toBeTruthy();
    expect(screen.getByLabelText("frequency_penalty")).toBeTruthy();
    expect(screen.queryByLabelText("top_k")).toBeNull();
  });

  it("with any service, offers only what every candidate's connector honours", async () => {
    const user = await open("/playground");
    await pick(user, "pg-ollama", "Playground Ollama");
    await screen.findByLabelText("top_k");
    await user.selectOptions(screen.getByLabelText("Service"), "");
    await waitFor(() => expect(screen.queryByLabelText("top_k")).toBeNull());
    expect(screen.queryByLabelText("user")).toBeNull();
    expect(screen.getByLabelText("temperature")).toBeTruthy();
    expect(screen.getByLabelText("stop")).toBeTruthy();
  });
});

/**
 * @module views/playground/ChatPanel
 * Chat with a model or service through the gateway (`client.gateway.chatStream`, or `chat` when streaming is off).
 * The answer appears as it streams; Stop cancels the call (the SDK aborts the request and the gateway cancels the
 * upstream one) and keeps what had arrived, marked as stopped. The request is checked with the protocol's schema
 * before it is sent; the parameter fields are those the chosen service's connector honours (useParamFields.ts).
 */
import { useMemo, useRef, useState, type FormEvent } from "react";
import { ChatCompletionRequestSchema, type ChatCompletionRequest } from "@kai/protocol";
import type { ServedInfo } from "@kai/sdk";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextArea } from "../../components/Field";
import { Panel } from "../../components/Page";
import { ParamFields } from "./ParamFields";
import { ServedBy } from "./ServedBy";
import { TargetPicker, hintsOf, type Target } from "./TargetPicker";
import { paramsFrom, validate, type ParamValues } from "./params";
import { useParamFields, type ParamFieldsSource } from "./useParamFields";

interface Turn {
  role: "user" | "assistant";
  content: string;
  /** An answer cut short by Stop. */
  stopped?: boolean;
}

type Phase = "idle" | "waiting" | "streaming" | "done" | "stopped" | "failed";

const PHASE_TEXT: Record<Phase, string> = {
  idle: "",
  waiting: "Waiting for the service…",
  streaming: "Streaming the answer…",
  done: "Answer complete.",
  stopped: "Stopped. The part that had arrived is kept.",
  failed: "The call failed.",
};

const PARAMS_SOURCE = { capability: "llm_chat", operation: "chat", schema: ChatCompletionRequestSchema, skip: ["model", "messages", "stream"] } as const satisfies ParamFieldsSource;

export function ChatPanel() {
  const client = useClient();
  const [target, setTarget] = useState<Target>({ model: "", serviceId: "" });
  const [system, setSystem] = useState("");
  const [message, setMessage] = useState("");
  const [stream, setStream] = useState(true);
  const [params, setParams] = useState<ParamValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState("");
  const [phase, setPhase] = useState<Phase>("idle");
  const [served, setServed] = useState<ServedInfo | undefined>();
  const [failure, setFailure] = useState<unknown>(null);
  const call = useRef<AbortController | null>(null);
  const busy = phase === "waiting" || phase === "streaming";
  const fields = useParamFields(PARAMS_SOURCE, target);

  const history = useMemo(() => turns.map(({ role, content }) => ({ role, content })), [turns]);

  async function send(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const asked: Turn = { role: "user", content: message };
    const request = {
      ...paramsFrom(fields, params),
      model: target.model.trim(),
      messages: [...(system.trim() ? [{ role: "system" as const, content: system }] : []), ...history, { role: "user" as const, content: message }],
    };
    const checked = validate<ChatCompletionRequest>(ChatCompletionRequestSchema, request);
    if (!message.trim()) {
      setErrors({ ...(checked.ok ? {} : checked.errors), message: "Write a message first." });
      return;
    }
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setFailure(null);
    setServed(undefined);
    setTurns((before) => [...before, asked]);
    setMessage("");
    setDraft("");
    const controller = new AbortController();
    call.current = controller;
    setPhase("waiting");
    let text = "";
    try {
      if (stream) {
        const answer = await client.gateway.chatStream(checked.request, { signal: controller.signal, ...hintsOf(target) });
        setServed(answer);
        setPhase("streaming");
        for await (const chunk of answer) {
          text += chunk.choices[0]?.delta.content ?? "";
          setDraft(text);
        }
      } else {
        const answer = await client.gateway.chat(checked.request, { signal: controller.signal, ...hintsOf(target) });
        setServed(answer);
        text = answer.completion.choices[0]?.message.content ?? "";
      }
      setTurns((before) => [...before, { role: "assistant", content: text }]);
      setPhase("done");
    } catch (error) {
      if (controller.signal.aborted) {
        setTurns((before) => [...before, { role: "assistant", content: text, stopped: true }]);
        setPhase("stopped");
      } else {
        if (text) setTurns((before) => [...before, { role: "assistant", content: text, stopped: true }]);
        setFailure(error);
        setPhase("failed");
      }
    } finally {
      setDraft("");
      call.current = null;
    }
  }

  return (
    <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
      <Panel title="Conversation">
        <ol aria-label="Conversation" className="mb-4 space-y-3">
          {turns.length === 0 && !busy && <li className="text-sm text-slate-600 dark:text-slate-400">No messages yet.</li>}
          {turns.map((turn, index) => (
            <li key={index} className={`rounded-md p-3 text-sm ${turn.role === "user" ? "bg-sky-50 dark:bg-sky-950" : "bg-slate-100 dark:bg-slate-800"}`}>
              <p className="mb-1 text-xs font-semibold uppercase tracking-wide">
                {turn.role === "user" ? "You" : "Assistant"}
                {turn.stopped && " · stopped"}
              </p>
              <p className="whitespace-pre-wrap">{turn.content || "(nothing arrived)"}</p>
            </li>
          ))}
          {busy && (
            <li className="rounded-md bg-slate-100 p-3 text-sm dark:bg-slate-800" aria-busy="true">
              <p className="mb-1 text-xs font-semibold uppercase tracking-wide">Assistant</p>
              <p className="whitespace-pre-wrap" data-testid="streaming-answer">
                {draft || "…"}
              </p>
            </li>
          )}
        </ol>
        <p role="status" className="mb-3 min-h-5 text-sm text-slate-700 dark:text-slate-300">
          {PHASE_TEXT[phase]}
        </p>
        <ErrorNotice error={failure} title="The gateway could not answer" />
        <form onSubmit={(event) => void send(event)} className="space-y-3" aria-label="Send a message">
          <TextArea
            label="Message"
            rows={3}
            value={message}
            error={errors.message ?? errors.messages}
            hint="Ctrl+Enter sends."
            onChange={(event) => setMessage(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                event.currentTarget.form?.requestSubmit();
              }
            }}
          />
          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" look="primary" busy={busy}>
              Send
            </Button>
            <Button look="danger" disabled={!busy} onClick={() => call.current?.abort()}>
              Stop
            </Button>
            <Button
              disabled={busy || turns.length === 0}
              onClick={() => {
                setTurns([]);
                setServed(undefined);
                setPhase("idle");
              }}
            >
              Clear conversation
            </Button>
          </div>
        </form>
      </Panel>
      <div className="space-y-4">
        <Panel title="Target">
          <TargetPicker capability={PARAMS_SOURCE.capability} target={target} onChange={setTarget} modelError={errors.model} />
        </Panel>
        <ServedBy served={served} />
        <Panel title="Request">
          <div className="space-y-3">
            <TextArea label="System prompt (optional)" rows={2} value={system} onChange={(event) => setSystem(event.target.value)} />
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={stream} onChange={(event) => setStream(event.target.checked)} />
              Stream the answer
            </label>
            <ParamFields fields={fields} values={params} errors={errors} onChange={setParams} />
          </div>
        </Panel>
      </div>
    </div>
  );
}

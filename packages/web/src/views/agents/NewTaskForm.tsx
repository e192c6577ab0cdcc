/**
 * @module views/agents/NewTaskForm
 * Creates a task: a goal, optionally a capability or an agent (a one-step task for it; without either, kPlanner
 * plans the goal), and its input as a JSON object. Checked with the protocol's CreateTaskRequestSchema before it is
 * sent; the new task's page opens, where it is followed live.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { CreateTaskRequestSchema, parseJson, type AgentStatus, type CreateTaskRequestInput } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField, TextArea, TextField } from "../../components/Field";

type Problems = Partial<Record<"goal" | "capability" | "agent" | "input", string>>;

export function NewTaskForm({ agents, onDone }: { agents: readonly AgentStatus[]; onDone(): void }) {
  const client = useClient();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [goal, setGoal] = useState("");
  const [capability, setCapability] = useState("");
  const [agent, setAgent] = useState("");
  const [input, setInput] = useState("{}");
  const [problems, setProblems] = useState<Problems>({});
  const create = useMutation({
    mutationFn: (request: CreateTaskRequestInput) => client.tasks.create(request),
    onSuccess: async (task) => {
      await queries.invalidateQueries({ queryKey: ["agents", "tasks"] });
      void navigate(`/agents/tasks/${encodeURIComponent(task.id)}`);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Problems = {};
    const parsed = parseJson(input.trim() === "" ? "{}" : input);
    const inputValue = parsed.ok ? parsed.value : undefined;
    if (!parsed.ok || typeof inputValue !== "object" || inputValue === null || Array.isArray(inputValue)) found.input = "enter a JSON object, e.g. {\"url\": \"https://example.org/\"}";
    const request = {
      goal: goal.trim(),
      ...(capability.trim() !== "" ? { capability: capability.trim() } : {}),
      ...(agent !== "" ? { agent } : {}),
      input: found.input ? {} : inputValue,
    };
    const checked = CreateTaskRequestSchema.safeParse(request);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path[0] as keyof Problems;
        found[field] ??= field === "goal" ? "say what the task should achieve" : field === "capability" ? "a capability is lower-case letters, digits and _ (e.g. web_fetch)" : issue.message;
      }
    }
    setProblems(found);
    if (Object.keys(found).length === 0 && checked.success) create.mutate(checked.data);
  };

  return (
    <form onSubmit={submit} noValidate aria-label="New task" className="max-w-xl space-y-3">
      <TextField label="Goal" value={goal} onChange={(event) => setGoal(event.target.value)} error={problems.goal} autoComplete="off" />
      <TextField
        label="Capability"
        value={capability}
        onChange={(event) => setCapability(event.target.value)}
        error={problems.capability}
        hint="Optional: a one-step task for whatever offers it. Leave it and the agent empty to have kPlanner plan the goal."
        autoComplete="off"
        spellCheck={false}
      />
      <SelectField label="Agent" value={agent} onChange={(event) => setAgent(event.target.value)} error={problems.agent} hint="Optional: the agent to run it (with the capability, or its only skill).">
        <option value="">Any</option>
        {agents.map((known) => (
          <option key={known.id} value={known.id}>
            {known.id}
          </option>
        ))}
      </SelectField>
      <TextArea label="Input (JSON)" value={input} onChange={(event) => setInput(event.target.value)} error={problems.input} rows={4} spellCheck={false} />
      <div className="flex gap-2">
        <Button type="submit" look="primary" busy={create.isPending}>
          Create task
        </Button>
        <Button onClick={onDone}>Close</Button>
      </div>
      <ErrorNotice error={create.error} title="The task was not created" />
    </form>
  );
}

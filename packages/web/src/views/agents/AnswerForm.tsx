/**
 * @module views/agents/AnswerForm
 * Answers a task's input-required question: the answer is sent as text, or as JSON when the person says so
 * (checked before it is sent). The task then resumes the step that asked.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { parseJson, type Task } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextArea } from "../../components/Field";
import { Panel } from "../../components/Page";
import { agentKeys } from "./agents-queries";

export function AnswerForm({ task, question }: { task: Task; question: { step: string; prompt: string } }) {
  const client = useClient();
  const queries = useQueryClient();
  const [text, setText] = useState("");
  const [asJson, setAsJson] = useState(false);
  const [problem, setProblem] = useState<string>();
  const answer = useMutation({
    mutationFn: (value: unknown) => client.tasks.answer(task.id, value),
    onSuccess: (answered) => {
      setText("");
      queries.setQueryData(agentKeys.task(task.id), answered);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === "") return setProblem("write an answer");
    if (!asJson) {
      setProblem(undefined);
      return answer.mutate(text);
    }
    const parsed = parseJson(text);
    if (!parsed.ok) return setProblem(`not JSON: ${parsed.error}`);
    setProblem(undefined);
    answer.mutate(parsed.value);
  };
  return (
    <Panel title="The task asks">
      <form onSubmit={submit} noValidate aria-label="Answer the task" className="max-w-xl space-y-3">
        <p className="text-sm">
          Step <code>{question.step}</code> asks: {question.prompt}
        </p>
        <TextArea label="Answer" value={text} onChange={(event) => setText(event.target.value)} error={problem} rows={3} />
        <div className="flex items-center gap-2">
          <input id="answer-as-json" type="checkbox" checked={asJson} onChange={(event) => setAsJson(event.target.checked)} className="h-4 w-4" />
          <label htmlFor="answer-as-json" className="text-sm">
            The answer is JSON
          </label>
        </div>
        <Button type="submit" look="primary" busy={answer.isPending}>
          Send answer
        </Button>
        <ErrorNotice error={answer.error} title="The answer was not taken" />
      </form>
    </Panel>
  );
}

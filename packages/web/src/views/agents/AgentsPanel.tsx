/**
 * @module views/agents/AgentsPanel
 * Every agent and tool the session may see (`client.agents.status()`): status, transport, where it came from,
 * capabilities, load (steps running of its limit) and the tasks it works on now, each a link to the task. Kept
 * live by the agent center's bus subscription. Statuses are words (badges), never colour alone. An agent the node
 * runs itself also says its process's state (`run`; the run-agents table below has the details and buttons).
 */
import { Link } from "react-router";
import { Badge } from "../../components/Badge";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { toneFor } from "../../components/status-tones";
import { useAgentStatus } from "./agents-queries";
import { RunAgentsTable } from "./RunAgentsTable";

const CELL = "px-2 py-1.5 align-top";

export function AgentsPanel() {
  const status = useAgentStatus();
  const agents = status.data?.agents ?? [];
  return (
    <Panel title="Agents">
      <ErrorNotice error={status.error} title="The agents could not be read" />
      {status.isPending ? (
        <p className="text-sm">Loading agents…</p>
      ) : agents.length === 0 ? (
        <p className="text-sm">No agents yet. Agents register with a signed manifest (kai agent register), or are added by A2A card or MCP server.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Agents">
            <thead className="border-b border-slate-200 dark:border-slate-700">
              <tr>
                <th scope="col" className={CELL}>Agent</th>
                <th scope="col" className={CELL}>Status</th>
                <th scope="col" className={CELL}>Transport</th>
                <th scope="col" className={CELL}>Capabilities</th>
                <th scope="col" className={CELL}>Load</th>
                <th scope="col" className={CELL}>Current tasks</th>
                <th scope="col" className={CELL}>Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((agent) => (
                <tr key={agent.id} className="border-b border-slate-100 dark:border-slate-800">
                  <th scope="row" className={`${CELL} font-medium`}>
                    <span className="block">{agent.name}</span>
                    {agent.name !== agent.id && <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{agent.id}</span>}
                  </th>
                  <td className={CELL}>
                    <Badge tone={toneFor(agent.status)}>{agent.status}</Badge>
                    {agent.run && <span className="block text-xs text-slate-600 dark:text-slate-400">run by the node: {agent.run.state}</span>}
                  </td>
                  <td className={CELL}>
                    {agent.transport}
                    {agent.source !== "manifest" && <span className="text-slate-600 dark:text-slate-400"> ({agent.source})</span>}
                  </td>
                  <td className={`${CELL} font-mono text-xs`}>{agent.capabilities.join(", ")}</td>
                  <td className={CELL}>
                    <span aria-label={`${agent.load.running} of ${agent.load.limit} steps running`}>
                      {agent.load.running} / {agent.load.limit}
                    </span>
                  </td>
                  <td className={CELL}>
                    {agent.currentTasks.length === 0 ? (
                      <span className="text-slate-600 dark:text-slate-400">none</span>
                    ) : (
                      <ul>
                        {agent.currentTasks.map((task) => (
                          <li key={task}>
                            <Link to={`/agents/tasks/${encodeURIComponent(task)}`} className="font-mono text-xs text-sky-800 underline dark:text-sky-300">
                              {task}
                            </Link>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className={CELL}>
                    <When at={agent.heartbeat} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <RunAgentsTable />
    </Panel>
  );
}

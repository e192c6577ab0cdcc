/**
 * @module agents/kcore/assignment-candidates
 * The registry discovery behind step assignment, without a query and a parse per step (the benchmark showed one
 * `registry.list` per step, and a schema parse of every listed agent's metadata, at ~10 % of the node's time):
 *
 * - One answer is shared by every step assigned in the same run of the event loop's job queues: the answer is
 *   kept until the promise jobs that follow it have run (a `process.nextTick` after it settles), so no timer or
 *   I/O callback, such as a health verdict or a registry change, can come in between. After that the next step
 *   asks the registry again. A query still in flight is joined rather than repeated: its records carry the
 *   health verdicts of the moment it answers (the registry applies them on read).
 * - Many asks in one turn of the event loop share one query: the first ask of a turn queries at once (a lone chain
 *   waits for nothing), a later one in the same turn waits for the turn's end (a `setImmediate`, after its I/O
 *   callbacks) and is answered, with every ask that came meanwhile, by one query made then. With 1,000 tasks
 *   running the answers of many agents arrive in one turn, and the steps they unblock made a query each (~10 % of
 *   the node's CPU); a query made later than the ask is never older than the one the step could have made.
 * - An agent record's assignee part (transport, URL, limits from its signed metadata) is parsed once per record
 *   revision, not once per step.
 *
 * - On one process an answer is kept for as long as the registry's listing version (`listingVersion`: the feed's
 *   revision and the health verdicts' count of changes, read before the query) stays the same: nothing that could
 *   change it has happened, so a query would answer the same. A step of a short task then costs no query at all
 *   (the benchmark's one-step task spent about a sixth of its node time in this query and its records' decoding). In
 *   a cluster there is no version (another instance's commit reaches a query before this instance's feed).
 *
 * So a step never sees a registry older than the query it could have made itself: a registration, status change
 * or failing health check that happened before the step asked is always in its answer.
 */
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, ListServicesQuerySchema, type AgentTransport, type ListServicesQuery, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import { viewerOf } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";

/** Steps an agent or tool without declared limits gets at once. */
const DEFAULT_LIMIT = 4;
/** Candidates read per discovery. */
const DISCOVERY_PAGE = 200;
/** Parsed assignee parts kept (records × revisions); cleared when full (a cache, not a registry). */
const MAX_PARSED = 10_000;
/** Answers kept by listing version (viewers × capabilities); cleared when full. */
const MAX_KEPT = 1_000;

export interface AgentAssignee {
  kind: "agent";
  id: string;
  transport: AgentTransport;
  url?: string;
  limit: number;
  stepTimeoutMs?: number;
}

/** A listed record with its parsed assignee part; `health` as the registry read it. */
export interface Candidate {
  record: ServiceRecord;
  assignee: AgentAssignee;
}

function parseAssignee(record: ServiceRecord): AgentAssignee {
  const metadata = AgentRecordMetadataSchema.safeParse(record.metadata?.[AGENT_METADATA_KEY]);
  if (metadata.success) {
    return {
      kind: "agent",
      id: record.id,
      transport: metadata.data.transport,
      ...(record.url ? { url: record.url } : {}),
      limit: metadata.data.limits.maxConcurrentTasks,
      stepTimeoutMs: metadata.data.limits.stepTimeoutMs,
    };
  }
  // A tool (or agent) registered without the agent part: reached over plain HTTP at its URL.
  return { kind: "agent", id: record.id, transport: "http", ...(record.url ? { url: record.url } : {}), limit: DEFAULT_LIMIT };
}

export class AssignmentCandidates {
  /** viewer + capability → the answer shared until the current job queues have run. */
  private readonly shared = new Map<string, Promise<Candidate[]>>();
  /** capability → its discovery query. */
  private readonly queries = new Map<string, ListServicesQuery>();
  /** A query was made at once in this turn of the event loop: later asks in it wait for its end (see above). */
  private queriedThisTurn = false;
  /** `${id}@${revision}` → its assignee part. */
  private readonly parsed = new Map<string, AgentAssignee>();
  /** viewer + capability → the answer and the listing version read before its query (one process only). */
  private readonly kept = new Map<string, { version: string; answer: Promise<Candidate[]> }>();

  constructor(private readonly registry: Pick<RegistryService, "list"> & Partial<Pick<RegistryService, "listingVersion">>) {}

  /** Active agents and tools offering `capability` that `principal` may see (health as read now; filters are the caller's). */
  find(principal: Principal, capability: string): Promise<Candidate[]> {
    const viewer = viewerOf(principal);
    const key = `${viewer.admin ? "*" : viewer.owner}\n${capability}`;
    const version = this.registry.listingVersion?.();
    if (version !== undefined) {
      const kept = this.kept.get(key);
      if (kept?.version === version) return kept.answer;
      // Asked now: the version read before the query below, so a change committed meanwhile outdates it.
      const answer = this.query(principal, capability);
      if (this.kept.size >= MAX_KEPT) this.kept.clear();
      this.kept.set(key, { version, answer });
      // A failed query is not kept.
      answer.catch(() => this.kept.get(key)?.answer === answer && this.kept.delete(key));
      return answer;
    }
    let answer = this.shared.get(key);
    if (answer) return answer;
    if (this.queriedThisTurn) {
      // Made after the asking (never an answer older than the step's question), once for all who ask meanwhile.
      answer = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.query(principal, capability));
    } else {
      this.queriedThisTurn = true;
      setImmediate(() => (this.queriedThisTurn = false));
      answer = this.query(principal, capability);
    }
    this.shared.set(key, answer);
    const forget = () => process.nextTick(() => this.shared.get(key) === answer && this.shared.delete(key));
    answer.then(forget, forget);
    return answer;
  }

  private async query(principal: Principal, capability: string): Promise<Candidate[]> {
    const { services } = await this.registry.list(principal, this.queryOf(capability));
    return services.map((record) => ({ record, assignee: this.assigneeOf(record) }));
  }

  /** The discovery query of a capability, validated once (the registry's own query schema). */
  private queryOf(capability: string): ListServicesQuery {
    let query = this.queries.get(capability);
    if (!query) {
      if (this.queries.size >= MAX_PARSED) this.queries.clear();
      query = ListServicesQuerySchema.parse({ type: ["agent", "tool"], status: ["active"], capability: [capability], limit: DISCOVERY_PAGE });
      this.queries.set(capability, query);
    }
    return query;
  }

  private assigneeOf(record: ServiceRecord): AgentAssignee {
    const key = `${record.id}@${record.revision}`;
    let assignee = this.parsed.get(key);
    if (!assignee) {
      if (this.parsed.size >= MAX_PARSED) this.parsed.clear();
      assignee = parseAssignee(record);
      this.parsed.set(key, assignee);
    }
    return assignee;
  }
}

const perRegistry = new WeakMap<object, AssignmentCandidates>();

/** The candidates view of `registry`: one per registry, shared by every task runner. */
export function candidatesOf(registry: Pick<RegistryService, "list">): AssignmentCandidates {
  let candidates = perRegistry.get(registry);
  if (!candidates) perRegistry.set(registry, (candidates = new AssignmentCandidates(registry)));
  return candidates;
}

/**
 * @module prompts/prompt-service
 * The prompt store's rules (issue 17) over a `PromptStore`: who may see and change a prompt (its owner and admins
 * change it; `shared` prompts are readable by every holder of `prompts:read`; another's private prompt is "not found"),
 * saves checked against their declared variables, versions chosen by number or label (no selector: `latest`; an
 * unknown label is 404 with no fallback), history, diff, restore (a new version copying an old one), labels, and
 * render: typed variables, and `{{vault:…}}` secrets read through the vault as the caller (its scopes and secret
 * patterns decide, and the vault audits the read). Rendered text is returned, never logged.
 */
import {
  LATEST_LABEL,
  type ListPromptsQuery,
  type ListPromptsResponse,
  type ListPromptVersionsQuery,
  type ListPromptVersionsResponse,
  type PromptDiff,
  type PromptInfo,
  type PromptMessage,
  type PromptResponse,
  type PromptTemplate,
  type PromptVariable,
  type PromptVersion,
  type RenderPromptResponse,
  type SavePromptRequest,
} from "@kai/protocol";
import { isAdmin, viewerOf, type Principal } from "../auth/principal.js";
import { ApiError, conflict, forbidden, notFound } from "../errors.js";
import { maySeePrompt, searchWords, type PromptStore } from "../storage/contracts/prompt-store.js";
import type { Vault, VaultActor } from "../vault/vault.js";
import { diffLines } from "./line-diff.js";
import { checkTemplate, fillTemplate, referencesOf, variableTexts } from "./prompt-template.js";

export interface PromptServiceDeps {
  store: PromptStore;
  /** Reads `{{vault:…}}` secrets as the caller (authorised and audited by the vault). */
  vault: Pick<Vault, "getSecret">;
  now?: () => Date;
}

/** Which version: a number, a label, or neither (`latest`). */
export interface VersionChoice {
  version?: number | undefined;
  label?: string | undefined;
}

/** A render's result with the version it resolved to. */
export type RenderedPrompt = RenderPromptResponse;

const actorOf = (principal: Principal, requestId?: string): VaultActor => ({
  tokenId: principal.tokenId,
  owner: principal.owner,
  scopes: principal.scopes,
  ...(principal.secretPatterns !== undefined ? { secretPatterns: principal.secretPatterns } : {}),
  ...(requestId !== undefined ? { requestId } : {}),
});

const typeOf = (template: PromptTemplate): PromptVersion["type"] => (typeof template === "string" ? "text" : "chat");

/** A template as lines for the diff: a chat's messages as `role: content`. */
const linesOf = (template: PromptTemplate): string[] =>
  typeof template === "string" ? template.split("\n") : template.flatMap((message) => `${message.role}: ${message.content}`.split("\n"));

export class PromptService {
  private readonly store: PromptStore;
  private readonly now: () => Date;

  constructor(private readonly deps: PromptServiceDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
  }

  async list(query: ListPromptsQuery, principal: Principal): Promise<ListPromptsResponse> {
    const words = query.q === undefined ? undefined : searchWords(query.q).slice(0, 16);
    return this.store.listPrompts({
      viewer: viewerOf(principal),
      limit: query.limit,
      ...(query.owner !== undefined ? { owner: query.owner } : {}),
      ...(query.tag !== undefined ? { tag: query.tag } : {}),
      ...(words !== undefined ? { words } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
  }

  /** A new version (the first creates the prompt, owned by the caller). `created`: the prompt is new. */
  async save(name: string, request: SavePromptRequest, principal: Principal): Promise<PromptResponse & { created: boolean }> {
    checkTemplate(request.template, request.variables);
    const existing = await this.store.getPrompt(name);
    // Names are node-wide: a save to a name another owner's private prompt holds is a conflict (as a service id is),
    // saying no more than that the name is taken.
    if (existing && existing.owner !== principal.owner && !isAdmin(principal) && !maySeePrompt(viewerOf(principal), existing)) {
      throw conflict(`the prompt name ${name} is taken by another owner`);
    }
    if (existing) this.assertMayChange(existing, principal);
    return { ...(await this.append(name, existing?.owner ?? principal.owner, request, principal)), created: existing === null };
  }

  async get(name: string, choice: VersionChoice, principal: Principal): Promise<PromptResponse> {
    const prompt = await this.visible(name, principal);
    return { prompt, version: await this.versionOf(prompt, choice) };
  }

  async versions(name: string, query: ListPromptVersionsQuery, principal: Principal): Promise<ListPromptVersionsResponse> {
    await this.visible(name, principal);
    const before = query.cursor === undefined ? undefined : Number(query.cursor);
    if (before !== undefined && !(Number.isInteger(before) && before > 0)) throw new ApiError("validation_failed", "cursor is not one this listing gave", [{ path: "query.cursor", message: "invalid cursor" }]);
    const versions = await this.store.listVersions(name, query.limit + 1, before);
    const page = versions.slice(0, query.limit);
    return { versions: page, nextCursor: versions.length > query.limit ? String(page[page.length - 1]!.version) : null };
  }

  async diff(name: string, from: number, to: number, principal: Principal): Promise<PromptDiff> {
    const prompt = await this.visible(name, principal);
    const [before, after] = await Promise.all([this.versionOf(prompt, { version: from }), this.versionOf(prompt, { version: to })]);
    const declared = (variables: readonly PromptVariable[]) => new Map(variables.map((variable) => [variable.name, JSON.stringify(variable)]));
    const old = declared(before.variables);
    const now = declared(after.variables);
    return {
      name,
      from,
      to,
      template: diffLines(linesOf(before.template), linesOf(after.template)),
      variables: {
        added: [...now.keys()].filter((key) => !old.has(key)),
        removed: [...old.keys()].filter((key) => !now.has(key)),
        changed: [...now.keys()].filter((key) => old.has(key) && old.get(key) !== now.get(key)),
      },
    };
  }

  /** A new version copying `version` (template and variables), recorded as restored from it. */
  async restore(name: string, version: number, message: string | undefined, principal: Principal): Promise<PromptResponse> {
    const prompt = await this.visible(name, principal);
    this.assertMayChange(prompt, principal);
    const old = await this.versionOf(prompt, { version });
    const request: SavePromptRequest = { template: old.template, variables: old.variables, labels: [], message: message ?? `restore version ${version}` };
    return this.append(name, prompt.owner, request, principal, version);
  }

  async setLabel(name: string, label: string, version: number, principal: Principal): Promise<PromptInfo> {
    const prompt = await this.visible(name, principal);
    this.assertMayChange(prompt, principal);
    const updated = await this.store.setLabel(name, label, version);
    if (!updated) throw notFound(`version ${version} of prompt ${name}`);
    return updated;
  }

  /** Removes a label (another version is never chosen in its place: reads by it are 404 from now on). */
  async removeLabel(name: string, label: string, principal: Principal): Promise<PromptInfo> {
    const prompt = await this.visible(name, principal);
    this.assertMayChange(prompt, principal);
    if (prompt.labels[label] === undefined) throw notFound(`label ${label} of prompt ${name}`);
    const updated = await this.store.setLabel(name, label, null);
    if (!updated) throw notFound(`prompt ${name}`);
    return updated;
  }

  async delete(name: string, principal: Principal): Promise<void> {
    const prompt = await this.visible(name, principal);
    this.assertMayChange(prompt, principal);
    if (!(await this.store.deletePrompt(name))) throw notFound(`prompt ${name}`);
  }

  /**
   * Renders a version with `variables`: a text template gives `text`, a chat template `messages`. Vault references are
   * read as the caller (a token without `vault:read` or outside its secret patterns gets the vault's 403).
   */
  async render(name: string, choice: VersionChoice, variables: Readonly<Record<string, unknown>>, principal: Principal, requestId?: string): Promise<RenderedPrompt> {
    const prompt = await this.visible(name, principal);
    const version = await this.versionOf(prompt, choice);
    const texts = variableTexts(version.variables, variables);
    const secrets = new Map<string, string>();
    for (const secret of referencesOf(version.template).secrets) {
      secrets.set(secret, (await this.deps.vault.getSecret(secret, actorOf(principal, requestId))).value);
    }
    const filled = fillTemplate(version.template, texts, secrets);
    return typeof filled === "string"
      ? { name, version: version.version, type: "text", text: filled }
      : { name, version: version.version, type: "chat", messages: filled as PromptMessage[] };
  }

  private async append(name: string, owner: string, request: SavePromptRequest, principal: Principal, restoredFrom?: number): Promise<PromptResponse> {
    const version: Omit<PromptVersion, "name" | "version"> = {
      type: typeOf(request.template),
      template: request.template,
      variables: request.variables,
      author: principal.owner,
      createdAt: this.now().toISOString(),
    };
    if (request.message !== undefined) version.message = request.message;
    if (restoredFrom !== undefined) version.restoredFrom = restoredFrom;
    const outcome = await this.store.savePrompt({
      name,
      owner,
      version,
      labels: request.labels,
      ...(request.visibility !== undefined ? { visibility: request.visibility } : {}),
      ...(request.description !== undefined ? { description: request.description } : {}),
      ...(request.tags !== undefined ? { tags: request.tags } : {}),
    });
    // The prompt was deleted and made again by someone else between our read and this save.
    if (!outcome.ok) throw conflict(`prompt ${name} changed owner meanwhile; read it again`);
    return { prompt: outcome.prompt, version: outcome.version };
  }

  /** The prompt, if the caller may see it; "not found" otherwise (another's private prompt is not revealed). */
  private async visible(name: string, principal: Principal): Promise<PromptInfo> {
    const prompt = await this.store.getPrompt(name);
    if (!prompt || !maySeePrompt(viewerOf(principal), prompt)) throw notFound(`prompt ${name}`);
    return prompt;
  }

  private assertMayChange(prompt: PromptInfo, principal: Principal): void {
    if (prompt.owner !== principal.owner && !isAdmin(principal)) {
      if (!maySeePrompt(viewerOf(principal), prompt)) throw notFound(`prompt ${prompt.name}`);
      throw forbidden(`prompt ${prompt.name} belongs to another owner; only its owner or an admin may change it`);
    }
  }

  private async versionOf(prompt: PromptInfo, choice: VersionChoice): Promise<PromptVersion> {
    if (choice.version !== undefined && choice.label !== undefined) {
      throw new ApiError("validation_failed", "give a version or a label, not both", [{ path: "label", message: "give a version or a label, not both" }]);
    }
    let number: number;
    if (choice.version !== undefined) number = choice.version;
    else {
      const label = choice.label ?? LATEST_LABEL;
      const labelled = prompt.labels[label];
      // No fallback to another label or to latest: a caller pinned to `production` must never get a draft.
      if (labelled === undefined) throw notFound(`label ${label} of prompt ${prompt.name}`);
      number = labelled;
    }
    const version = await this.store.getVersion(prompt.name, number);
    if (!version) throw notFound(`version ${number} of prompt ${prompt.name}`);
    return version;
  }
}

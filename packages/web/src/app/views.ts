/**
 * @module app/views
 * Every page of the app, in the order of the navigation. A view is one folder under `src/views/` whose
 * `index.tsx` default-exports its page; it is loaded on first visit (its code is not in the first load). A view
 * owns everything under its path (`/services/*`: its own sub-routes, such as a service's page). `scope` hides
 * the view from users whose session lacks it (the server refuses their calls anyway).
 *
 * Adding a view (agents, artifacts, memory, prompts, plugins…): make `src/views/<name>/index.tsx`, add one entry
 * here, and a line to the browser tests' page list (docs/contributing/add-web-view.md).
 */
import { createElement, lazy, type ComponentType } from "react";

export interface ViewEntry {
  /** Stable id, also the test id of its navigation link (`nav-<id>`). */
  id: string;
  /** Path under `/` without a leading slash (`""` is the overview). */
  path: string;
  label: string;
  /** The scope a session needs to see the view; none: every signed-in user. */
  scope?: string;
  /** Navigation group: what people use, and the node's administration. */
  group: "use" | "admin" | "plugins";
  page: ComponentType;
  /** Starts loading the page's code (the same request `page` makes; loading twice costs nothing). */
  load(): Promise<unknown>;
}

type PageModule = { default: ComponentType };

/**
 * A page loaded on first use, and loadable ahead of it (`preloadViewFor`). Once its code is here the page renders
 * it directly: a React.lazy component suspends on its first render even when its module has already arrived, and
 * React holds a revealed Suspense boundary back for up to 300 ms, which the services page's first rows would wait on.
 */
function loaded(load: () => Promise<PageModule>): Pick<ViewEntry, "page" | "load"> {
  let module: PageModule | undefined;
  let pending: Promise<PageModule> | undefined;
  const loadOnce = () =>
    (pending ??= load().then(
      (arrived) => (module = arrived),
      (error: unknown) => {
        pending = undefined; // a failed download (network, new deploy) may be retried on the next visit
        throw error;
      },
    ));
  const Lazy = lazy(loadOnce);
  const Page = () => createElement(module ? module.default : Lazy);
  return { page: Page, load: loadOnce };
}

export const VIEWS: readonly ViewEntry[] = [
  { id: "overview", path: "", label: "Overview", group: "use", ...loaded(() => import("../views/overview/index")) },
  { id: "services", path: "services", label: "Services", scope: "services:read", group: "use", ...loaded(() => import("../views/services/index")) },
  { id: "agents", path: "agents", label: "Agents", scope: "agents:read", group: "use", ...loaded(() => import("../views/agents/index")) },
  { id: "prompts", path: "prompts", label: "Prompts", scope: "prompts:read", group: "use", ...loaded(() => import("../views/prompts/index")) },
  { id: "artifacts", path: "artifacts", label: "Artifacts", scope: "artifacts:read", group: "use", ...loaded(() => import("../views/artifacts/index")) },
  { id: "memory", path: "memory", label: "Memory", scope: "memory:read", group: "use", ...loaded(() => import("../views/memory/index")) },
  { id: "playground", path: "playground", label: "Playground", scope: "gateway:invoke", group: "use", ...loaded(() => import("../views/playground/index")) },
  { id: "vault", path: "vault", label: "Vault", scope: "vault:read", group: "admin", ...loaded(() => import("../views/vault/index")) },
  { id: "peers", path: "peers", label: "Peers", scope: "federation:admin", group: "admin", ...loaded(() => import("../views/peers/index")) },
  { id: "access", path: "access", label: "Access", group: "admin", ...loaded(() => import("../views/access/index")) },
  { id: "console", path: "console", label: "Console", scope: "admin", group: "admin", ...loaded(() => import("../views/console/index")) },
  { id: "settings", path: "settings", label: "Settings", group: "admin", ...loaded(() => import("../views/settings/index")) },
  { id: "plugins", path: "plugins", label: "Plugins", scope: "plugins:admin", group: "admin", ...loaded(() => import("../views/plugins/index")) },
  { id: "backups", path: "backups", label: "Backups", scope: "backup:admin", group: "admin", ...loaded(() => import("../views/backups/index")) },
  // Plugins' own UI pages: the navigation lists them one by one (views/plugins/PluginNav.tsx), not this entry.
  { id: "plugin-ui", path: "plugin-ui", label: "Plugin UIs", scope: "gateway:invoke", group: "plugins", ...loaded(() => import("../views/plugins/ui")) },
];

/**
 * Starts loading the code of the page at `pathname` at once, while the session is still being resumed: the page's
 * chunk then arrives alongside the sign-in check instead of after it (part of "usable within 1.5 s").
 */
export function preloadViewFor(pathname: string): void {
  const first = pathname.split("/").filter(Boolean)[0] ?? "";
  void VIEWS.find((view) => view.path === first)?.load().catch(() => undefined);
}

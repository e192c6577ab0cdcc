/**
 * @module views/plugins/ui
 * Plugin UIs (issue 18) at `/plugin-ui` (gateway:invoke): the running plugins with a UI page, and at
 * `/plugin-ui/:id` one plugin's page in a sandboxed frame (PluginFrame.tsx). The menu's "Plugins" group
 * (PluginNav.tsx) links here.
 */
import { Link, Route, Routes, useParams } from "react-router";
import { useCan } from "../../app/session";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Page } from "../../components/Page";
import { PluginFrame } from "./PluginFrame";
import { usePluginUi, usePluginUis } from "./plugins-queries";

function PluginUiList() {
  const uis = usePluginUis(useCan("gateway:invoke"));
  const plugins = uis.data?.plugins ?? [];
  return (
    <Page title="Plugin UIs">
      <ErrorNotice error={uis.error} title="The plugin UIs could not be listed" />
      {uis.isPending ? (
        <p role="status">Loading…</p>
      ) : plugins.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">No running plugin has a UI.</p>
      ) : (
        <ul className="list-disc pl-5">
          {plugins.map((plugin) => (
            <li key={plugin.id}>
              <Link className="text-sky-800 underline dark:text-sky-300" to={plugin.id}>
                {plugin.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

function PluginUiPage() {
  const id = useParams().id ?? "";
  const ui = usePluginUi(id);
  return (
    <Page title={ui.data ? ui.data.name : `Plugin ${id}`}>
      <ErrorNotice error={ui.error} title="This plugin's UI is not available" />
      {ui.isPending && <p role="status">Loading…</p>}
      {ui.data && <PluginFrame pluginId={ui.data.id} name={ui.data.name} capabilities={ui.data.capabilities} />}
    </Page>
  );
}

export default function PluginUiArea() {
  return (
    <Routes>
      <Route index element={<PluginUiList />} />
      <Route path=":id" element={<PluginUiPage />} />
    </Routes>
  );
}

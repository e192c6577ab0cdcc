/**
 * @module views/plugins
 * Plugins (issue 18) at `/plugins` (plugins:admin): every plugin the node found, enable, disable, rescan, and one
 * plugin's details. The plugins' own UI pages are another view (`ui.tsx`, at `/plugin-ui/:id`), for everyone who may
 * call plugins.
 */
import { Page } from "../../components/Page";
import { PluginsPanel } from "./PluginsPanel";

export default function PluginsArea() {
  return (
    <Page title="Plugins">
      <PluginsPanel />
    </Page>
  );
}

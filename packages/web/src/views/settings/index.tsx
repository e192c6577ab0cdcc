/**
 * @module views/settings
 * The Settings page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function SettingsPage() {
  return (
    <Page title="Settings">
      <p>Coming in this release.</p>
    </Page>
  );
}

/**
 * @module views/vault
 * The Vault page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function VaultPage() {
  return (
    <Page title="Vault">
      <p>Coming in this release.</p>
    </Page>
  );
}

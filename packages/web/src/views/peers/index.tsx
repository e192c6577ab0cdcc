/**
 * @module views/peers
 * The Peers page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function PeersPage() {
  return (
    <Page title="Peers">
      <p>Coming in this release.</p>
    </Page>
  );
}

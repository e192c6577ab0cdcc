/**
 * @module views/console
 * The Console page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function ConsolePage() {
  return (
    <Page title="Console">
      <p>Coming in this release.</p>
    </Page>
  );
}

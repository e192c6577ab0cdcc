/**
 * @module views/access
 * The Access page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function AccessPage() {
  return (
    <Page title="Access">
      <p>Coming in this release.</p>
    </Page>
  );
}

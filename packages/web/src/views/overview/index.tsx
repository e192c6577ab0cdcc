/**
 * @module views/overview
 * The Overview page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function OverviewPage() {
  return (
    <Page title="Overview">
      <p>Coming in this release.</p>
    </Page>
  );
}

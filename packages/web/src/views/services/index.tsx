/**
 * @module views/services
 * The Services page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function ServicesPage() {
  return (
    <Page title="Services">
      <p>Coming in this release.</p>
    </Page>
  );
}

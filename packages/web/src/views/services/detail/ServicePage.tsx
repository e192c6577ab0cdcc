/**
 * @module views/services/detail/ServicePage
 * One service's page (placeholder until built): its record, health and latency history, models, breaker state,
 * recent errors, and its own web UI in a sandboxed iframe. Mounted by views/services at `/services/:id`.
 */
import { useParams } from "react-router";
import { Page } from "../../../components/Page";

export default function ServicePage() {
  const { id = "" } = useParams();
  return (
    <Page title={id}>
      <p>Coming in this release.</p>
    </Page>
  );
}

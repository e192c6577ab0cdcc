/**
 * @module views/services/detail/ServicePage
 * One service's page (`/services/:id`): its status, health and breaker at the top; its record; its activity over the
 * last hour (traffic and latency charts, health history, breaker changes, recent errors); its models with a live
 * check; and its own web UI in a sandboxed iframe where the record names one (`metadata.ui`). Live: a change of the
 * record heard on the registry stream replaces it at once (deregistration says so); the activity is polled.
 * Mounted by views/services at `/services/:id`.
 */
import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { KaiApiError } from "@kai/sdk";
import { Badge } from "../../../components/Badge";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Page } from "../../../components/Page";
import { useRegistryChanges } from "../../../components/live-registry";
import { toneFor, wordFor } from "../../../components/status-tones";
import { ActivityPanel } from "./ActivityPanel";
import { detailKeys, useRegistryRevision, useServiceActivity, useServiceRecord } from "./detail-queries";
import { ModelsPanel, ServiceUiPanel } from "./ModelsAndUi";
import { RecordPanel } from "./RecordPanel";

const back = (
  <Link to="/services" className="text-sm underline">
    Back to the services
  </Link>
);

export default function ServicePage() {
  const { id = "" } = useParams();
  const queries = useQueryClient();
  const record = useServiceRecord(id);
  const activity = useServiceActivity(id, record.isSuccess);
  const revision = useRegistryRevision();
  const [gone, setGone] = useState(false);

  useRegistryChanges(revision.data, (events) => {
    for (const event of events) {
      if (event.serviceId !== id || event.origin !== undefined) continue;
      if (event.event === "deregistered") setGone(true);
      else if (event.service) {
        setGone(false);
        queries.setQueryData(detailKeys.record(id), event.service);
      }
    }
    if (events.some((event) => event.serviceId === id)) void queries.invalidateQueries({ queryKey: detailKeys.activity(id) });
  });

  if (record.error) {
    const missing = record.error instanceof KaiApiError && record.error.code === "not_found";
    return (
      <Page title={missing ? "Service not found" : id} actions={back}>
        {missing ? <p>There is no service “{id}” that you can see. It may have been deregistered, or it belongs to someone else.</p> : <ErrorNotice error={record.error} title="The service could not be read" />}
      </Page>
    );
  }
  if (!record.data) {
    return (
      <Page title={id} actions={back}>
        <p role="status">Loading…</p>
      </Page>
    );
  }
  const service = record.data;
  const breaker = activity.data?.breaker.state;
  return (
    <Page title={service.name} actions={back}>
      <div className="flex flex-wrap items-center gap-2 text-sm" aria-label="State">
        <span className="font-mono">{service.id}</span>
        <span>
          Status <Badge tone={toneFor(service.status)}>{service.status}</Badge>
        </span>
        <span>
          Health <Badge tone={toneFor(activity.data?.health ?? service.health ?? "unknown")}>{activity.data?.health ?? service.health ?? "unknown"}</Badge>
        </span>
        {breaker && (
          <span>
            Breaker <Badge tone={toneFor(breaker)}>{wordFor(breaker)}</Badge>
          </span>
        )}
        {service.statusNote && <span className="text-slate-700 dark:text-slate-300">{service.statusNote}</span>}
      </div>
      {gone && (
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          This service was deregistered just now. What you see is its last state.
        </p>
      )}
      <ErrorNotice error={activity.error} title="Its activity could not be read" />
      {activity.data && <ActivityPanel activity={activity.data} />}
      <div className="grid gap-4 lg:grid-cols-2">
        <RecordPanel record={service} />
        <ModelsPanel record={service} />
      </div>
      <ServiceUiPanel record={service} />
    </Page>
  );
}

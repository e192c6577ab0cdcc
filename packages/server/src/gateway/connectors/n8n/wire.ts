/**
 * @module gateway/connectors/n8n/wire
 * The parts of n8n's public REST API (`/api/v1`) this connector reads. Private to the connector.
 */
import { z } from "zod";

/** `GET /api/v1/workflows`: one page of workflows and the cursor of the next (null on the last page). */
export const N8nWorkflowPageSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.union([z.string(), z.number()]).transform(String),
      name: z.string(),
      active: z.boolean(),
      createdAt: z.string().optional(),
      updatedAt: z.string().optional(),
      tags: z.array(z.looseObject({ name: z.string() })).optional(),
    }),
  ),
  nextCursor: z.string().nullable().optional(),
});

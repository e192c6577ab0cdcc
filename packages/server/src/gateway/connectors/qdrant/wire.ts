/**
 * @module gateway/connectors/qdrant/wire
 * The parts of Qdrant's REST API this connector reads. Every answer is `{result, status, time}`. Private
 * to the connector.
 */
import { z } from "zod";

const envelope = <T extends z.ZodType>(result: T) => z.looseObject({ result, status: z.unknown().optional(), time: z.number().optional() });

/** `GET /collections`. */
export const QdrantCollectionsSchema = envelope(z.looseObject({ collections: z.array(z.looseObject({ name: z.string() })) }));

/** `PUT /collections/{name}` and `DELETE /collections/{name}`: `result` is false when nothing was done. */
export const QdrantBooleanSchema = envelope(z.boolean());

/** `PUT …/points` and `POST …/points/delete` with `wait=true`. */
export const QdrantUpdateSchema = envelope(z.looseObject({ operation_id: z.number().nullable().optional(), status: z.enum(["acknowledged", "completed"]) }));

const PointIdSchema = z.union([z.string(), z.number().int()]);

/** `POST …/points/search`: scored points, nearest first. */
export const QdrantSearchSchema = envelope(
  z.array(
    z.looseObject({
      id: PointIdSchema,
      score: z.number(),
      payload: z.record(z.string(), z.unknown()).nullable().optional(),
      vector: z.union([z.array(z.number()), z.record(z.string(), z.unknown())]).nullable().optional(),
    }),
  ),
);

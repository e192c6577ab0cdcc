/**
 * @module http/openapi-schemas
 * The named schemas of the OpenAPI document. A schema the routes share by name (the value type of service
 * metadata, `JsonValue`) gets an id in a registry of our own (not zod's global one, which the protocol package does
 * not write to), so the zod type provider emits a `$ref` by that id and `withNamedSchemas` adds the component it
 * points to: one definition in the document instead of a copy per route.
 */
import { MetadataSchema } from "@kai/protocol";
import { createJsonSchemaTransform, createJsonSchemaTransformObject, type jsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";

/** Recursive schemas the routes use, by the name they get in `components.schemas`. */
const namedSchemas = z.registry<{ id?: string }>();
// Any JSON value: the value type of `metadata` (ServiceRegistration, ServicePatch).
namedSchemas.add(MetadataSchema.valueType, { id: "JsonValue" });

/** The route transform: the type provider's, reading ids from our registry. */
export const openApiTransform: typeof jsonSchemaTransform = createJsonSchemaTransform({ schemaRegistry: namedSchemas });

const addComponents = createJsonSchemaTransformObject({ schemaRegistry: namedSchemas });

type TransformObjectInput = Parameters<typeof addComponents>[0];

/**
 * The document with the named schemas under `components.schemas`. zod writes `$schema` and an `$id` into each
 * (`#/components/schemas/JsonValue`); an `$id` with a fragment is not a valid JSON Schema 2020-12 id, and the
 * document's dialect is already declared, so both are dropped.
 */
export function withNamedSchemas(input: TransformObjectInput): Record<string, unknown> {
  const document = addComponents(input) as Record<string, unknown> & { components?: { schemas?: Record<string, unknown> } };
  for (const schema of Object.values(document.components?.schemas ?? {})) {
    if (typeof schema !== "object" || schema === null) continue;
    delete (schema as Record<string, unknown>).$schema;
    delete (schema as Record<string, unknown>).$id;
  }
  return document;
}

/**
 * @module http/registration-body
 * The validator of `POST /api/services/register`'s body: the same `ServiceRegistrationSchema`, answered faster.
 *
 * Why: validating the body was the largest single cost of a registration on the server's event loop (issue 13:
 * ~10–15 % of its CPU, more than the JSON parse or the store). Most of it is not the checks themselves: `metadata`
 * holds `z.json()`, a recursive schema, so zod runs the whole record through its slow path for recursive schemas and
 * cannot compile it (`z.compile` refuses a reference cycle). Here the record without its one recursive field is
 * compiled (zod's own generated parser, same rules, same output), and `metadata` is checked by its own schema at
 * run time. The two parts are independent (the record has no check across fields), so both succeeding is exactly the
 * schema succeeding, with the same value.
 *
 * Anything that fails either part is validated again by the whole schema on the runtime path, so every refusal keeps
 * the error body it had (same issues, same paths, same order). A refused body therefore costs about twice what it
 * did; a valid one about half.
 */
import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler } from "fastify-type-provider-zod";
import { ServiceRegistrationSchema, type ServiceRegistration } from "@kai/protocol";
import { z } from "zod";

/** `metadata` as the registration declares it (`MetadataSchema` with its default `{}`). */
const MetadataField = ServiceRegistrationSchema.shape.metadata;

/**
 * Every other field, compiled. `metadata` stays in the shape (as anything, optional), so that the strict object still
 * knows the key; its value is set from `MetadataField`'s output below (last among the keys when the body had none:
 * the registry reads the fields by name, never by position).
 * `strict: true`: if zod ever could not compile it, the server fails at start rather than silently going slow.
 */
const WithoutMetadata = z.compile(ServiceRegistrationSchema.extend({ metadata: z.unknown().optional() }), { strict: true });

/** The registration when the body is valid, else `undefined` (then only the whole schema may say why). */
export function parseRegistration(data: unknown): ServiceRegistration | undefined {
  const rest = WithoutMetadata.safeParse(data);
  if (!rest.success) return undefined;
  const metadata = MetadataField.safeParse((data as { metadata?: unknown }).metadata);
  if (!metadata.success) return undefined;
  const registration = rest.data as ServiceRegistration;
  registration.metadata = metadata.data;
  return registration;
}

/**
 * The route's `validatorCompiler`: the fast path for the body, the zod type provider's validator (the whole schema,
 * its error shape) for a body the fast path refuses and for any other part of the request.
 */
export const registrationValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const runtime = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  if (route.httpPart !== "body" || route.schema !== ServiceRegistrationSchema) return runtime;
  return (data) => {
    const value = parseRegistration(data);
    return value === undefined ? runtime(data) : { value };
  };
};

/**
 * @module vault-api-types
 * TypeScript names for the vault API's answers and query, inferred from the schemas in `vault.ts`, so
 * that the SDK and the CLI can name them without depending on zod themselves.
 */
import type { z } from "zod";
import type {
  AuditQuerySchema,
  AuditVerifyResponseSchema,
  DecryptResponseSchema,
  EncryptResponseSchema,
  RotateResponseSchema,
} from "./vault.js";

export type RotateResponse = z.infer<typeof RotateResponseSchema>;
export type EncryptResponse = z.infer<typeof EncryptResponseSchema>;
export type DecryptResponse = z.infer<typeof DecryptResponseSchema>;
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponseSchema>;
/** Filters of `GET /api/vault/audit`; all optional (limit defaults to 100). */
export type AuditQueryInput = Partial<z.output<typeof AuditQuerySchema>>;

/**
 * @module @kai/protocol/manifest
 * The part of the protocol that checking a service manifest needs, as its own entry point (`@kai/protocol/manifest`):
 * the manifest and registration schemas, `planManifest` and the JSON parser. Everything here is also exported by the
 * package's index; this entry exists for the threads of `kai services apply`'s parallel check, which start while the
 * command reads the file and whose import of the whole index (~350 ms on the bench machine, against ~120 ms for this)
 * was most of the time they took to become ready (issue 19).
 */
export {
  ManifestServiceSchema,
  planManifest,
  type ManifestPlan,
  type PlanManifestOptions,
  type PlannedRegistration,
} from "./schemas/manifest.js";
export { ServiceRegistrationSchema, type ServiceRegistration, type ServiceRegistrationInput } from "./schemas/service.js";
export { DEFAULT_MAX_JSON_DEPTH, parseJson } from "./parse-json.js";

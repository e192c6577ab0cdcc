/**
 * @module config/mfa-config
 * Settings of second factors (issue 14): TOTP, recovery codes, passkeys (WebAuthn), which roles must use one.
 */
import { z } from "zod";

export const MfaConfigSchema = z.strictObject({});

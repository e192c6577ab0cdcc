/**
 * @module config/sso-config
 * Settings of single sign-on (issue 14): OpenID Connect providers, their client secret's vault name, claim → role maps.
 */
import { z } from "zod";

export const SsoConfigSchema = z.strictObject({});

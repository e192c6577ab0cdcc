/**
 * @module password-sign-in
 * The conversation of a password sign-in: send username and password; when the server answers
 * `mfa_required`, ask for the code (or a recovery code) and send again; when it answers
 * `password_change_required` (a one-time password, e.g. the first admin's), ask for a new password and send
 * again with it. Where the answers come from (a terminal, or flags and stdin) is the caller's `Answers`, so the
 * same rules hold for people and scripts. Secrets only ever travel in the request body.
 */
import { PasswordSchema, type LoginResponse, type PasswordLoginRequest } from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";

/** A second factor as typed: a 6-digit TOTP code, or one of the recovery codes. */
export type SecondFactor = { code: string } | { recoveryCode: string };

export interface Answers {
  /** The second factor, asked for when the server says one is needed; undefined: none to give (the error stands). */
  secondFactor(): Promise<SecondFactor | undefined>;
  /** A new password, asked for when the server requires a change; undefined: none to give. */
  newPassword(): Promise<string | undefined>;
}

/** A code of six digits is a TOTP code; anything else typed at the prompt is taken as a recovery code. */
export function secondFactorFrom(text: string): SecondFactor {
  const trimmed = text.trim();
  return /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recoveryCode: trimmed };
}

/** Why a new password is refused locally (the server's rule, from the same schema), or undefined when it is fine. */
export function newPasswordProblem(password: string): string | undefined {
  const parsed = PasswordSchema.safeParse(password);
  return parsed.success ? undefined : (parsed.error.issues[0]?.message ?? "not a valid password");
}

/** Signs in, answering the server's follow-up questions; the client takes the session over on success. */
export async function passwordSignIn(client: KaiClient, credentials: { username: string; password: string }, answers: Answers): Promise<LoginResponse> {
  const request: Pick<PasswordLoginRequest, "username" | "password" | "code" | "recoveryCode" | "newPassword"> = { ...credentials };
  // Each follow-up is asked at most once; a second refusal of the same kind is the answer.
  for (;;) {
    try {
      return await client.auth.login(request);
    } catch (error) {
      if (!(error instanceof KaiApiError)) throw error;
      if (error.code === "mfa_required" && request.code === undefined && request.recoveryCode === undefined) {
        const factor = await answers.secondFactor();
        if (factor === undefined) throw error;
        Object.assign(request, factor);
        continue;
      }
      if (error.code === "password_change_required" && request.newPassword === undefined) {
        const newPassword = await answers.newPassword();
        if (newPassword === undefined) throw error;
        request.newPassword = newPassword;
        continue;
      }
      throw error;
    }
  }
}

/**
 * @module views/settings/factor-proof
 * Proof of a factor the person already has, which the node asks for before any change to their factors (a stolen
 * session alone cannot add an attacker's passkey or remove the person's own). Any factor they hold will do: a current
 * authenticator code, a recovery code (used up by it), or one of their passkeys, so that someone whose only factor is
 * a passkey can still add a second one. The passkey is asked for only when the change is made.
 */
import { useState, type ReactElement } from "react";
import type { KaiClient } from "@kai/sdk";
import type { MfaStatus, SecondFactorProof } from "@kai/protocol";
import { SelectField, TextField } from "../../components/Field";
import { describePasskeyError, passkeyAssertion, passkeysAvailable } from "../sign-in/passkey";

export type ProofMethod = "code" | "recoveryCode" | "passkey";

const LABELS: Record<ProofMethod, string> = { code: "authenticator code", recoveryCode: "recovery code", passkey: "one of my passkeys" };

/** The ways this person can prove a factor now. */
export function proofMethods(status: MfaStatus | undefined, nodeUrl: string): ProofMethod[] {
  if (!status) return [];
  const methods: ProofMethod[] = [];
  if (status.totp.confirmed) methods.push("code");
  if (status.passkeys > 0 && passkeysAvailable(nodeUrl)) methods.push("passkey");
  if (status.recoveryCodesLeft > 0) methods.push("recoveryCode");
  return methods;
}

export interface FactorProof {
  /** The controls, or null when the person has no factor yet (then no proof is needed). */
  controls: ReactElement | null;
  /** The proof to send with a change (asks the browser for a passkey assertion when that is the method). */
  get(): Promise<SecondFactorProof | undefined>;
}

export function useFactorProof(client: KaiClient, status: MfaStatus | undefined): FactorProof {
  const methods = proofMethods(status, client.url);
  const [chosen, setChosen] = useState<ProofMethod | undefined>(undefined);
  const [value, setValue] = useState("");
  const method = chosen !== undefined && methods.includes(chosen) ? chosen : methods[0];
  const needed = (status?.enrolled.length ?? 0) > 0;

  async function get(): Promise<SecondFactorProof | undefined> {
    if (!needed || method === undefined) return undefined;
    if (method === "passkey") {
      const passkey = await passkeyAssertion(await client.passkeys.signInOptions()).catch((failure: unknown) => {
        throw describePasskeyError(failure);
      });
      return { passkey };
    }
    const typed = value.replace(/\s+/g, "");
    return typed === "" ? undefined : method === "code" ? { code: typed } : { recoveryCode: value.trim() };
  }

  const controls =
    needed && method !== undefined ? (
      <fieldset className="grid gap-3 sm:grid-cols-2">
        <legend className="sr-only">Confirm a change to your factors</legend>
        <SelectField label="Confirm changes with" value={method} onChange={(event) => setChosen(event.target.value as ProofMethod)}>
          {methods.map((option) => (
            <option key={option} value={option}>
              {LABELS[option]}
            </option>
          ))}
        </SelectField>
        {method === "code" && <TextField label="Current authenticator code" inputMode="numeric" autoComplete="one-time-code" value={value} onChange={(event) => setValue(event.target.value)} />}
        {method === "recoveryCode" && <TextField label="Recovery code" autoComplete="off" value={value} onChange={(event) => setValue(event.target.value)} hint="It is used up by this change." />}
        {method === "passkey" && <p className="self-end text-sm text-slate-600 dark:text-slate-400">Your browser asks for the passkey when you make the change.</p>}
      </fieldset>
    ) : null;
  return { controls, get };
}

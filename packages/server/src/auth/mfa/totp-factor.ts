/**
 * @module auth/mfa/totp-factor
 * TOTP (RFC 6238) with the `otpauth` package: SHA-1, 6 digits, 30 s steps — what every authenticator app reads —
 * and 160-bit secrets (RFC 4226's recommendation). Enrolment stores the secret sealed (secret-sealer.ts) and
 * unconfirmed; the first correct code confirms it, so a user who never scanned the QR code is not locked out by
 * a factor they do not have. A code is accepted one step early or late (clock drift, RFC 6238 §5.2), and each
 * time step only once per user: `consumeTotpStep` is atomic in the store, so a code seen over a shoulder or in
 * a log cannot be replayed, not even on another instance.
 */
import { Secret, TOTP } from "otpauth";
import type { IdentityStore, UserRow } from "../../storage/contracts/identity-store.js";
import type { SecretSealer } from "./secret-sealer.js";

const SECRET_BYTES = 20;
const PERIOD = 30;
const DIGITS = 6;
const ALGORITHM = "SHA1";

export interface TotpEnrolment {
  secret: string;
  uri: string;
  qrCode: string;
  algorithm: typeof ALGORITHM;
  digits: typeof DIGITS;
  period: typeof PERIOD;
}

/** `ok`; `wrong` (not a current code, or no TOTP); `replayed` (right code, its step already used). */
export type TotpCheck = "ok" | "wrong" | "replayed";

type TotpStore = Pick<IdentityStore, "putTotp" | "getTotp" | "deleteTotp" | "consumeTotpStep">;

export class TotpFactor {
  constructor(
    private readonly store: TotpStore,
    private readonly sealer: SecretSealer,
    private readonly issuer: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts (or restarts) enrolment: a new unconfirmed secret. The caller refuses when one is confirmed. */
  async begin(user: Pick<UserRow, "id" | "username">): Promise<TotpEnrolment> {
    const secret = new Secret({ size: SECRET_BYTES });
    await this.store.putTotp({
      userId: user.id,
      sealedSecret: this.sealer.seal(secret.bytes, sealContext(user.id)),
      confirmed: false,
      lastStep: -1,
      createdAt: new Date(this.now()).toISOString(),
    });
    const uri = this.totp(secret, user.username).toString();
    // qrcode loads with the first enrolment, not with the node (module loading every start would pay for).
    const { default: QRCode } = await import("qrcode");
    const svg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
    return {
      secret: secret.base32,
      uri,
      qrCode: `data:image/svg+xml;base64,${Buffer.from(svg, "utf8").toString("base64")}`,
      algorithm: ALGORITHM,
      digits: DIGITS,
      period: PERIOD,
    };
  }

  /** Confirms a pending enrolment with its first code; false when there is none pending or the code is wrong. */
  async confirm(userId: string, code: string): Promise<boolean> {
    const row = await this.store.getTotp(userId);
    if (!row || row.confirmed) return false;
    if ((await this.check(row, userId, code)) !== "ok") return false;
    // The step just consumed stays consumed: the confirming code cannot sign in a second time.
    const after = await this.store.getTotp(userId);
    await this.store.putTotp({ ...row, confirmed: true, lastStep: after?.lastStep ?? row.lastStep });
    return true;
  }

  /** Checks a sign-in (or step-up) code against the confirmed secret, consuming its step. */
  async verify(userId: string, code: string): Promise<TotpCheck> {
    const row = await this.store.getTotp(userId);
    if (!row?.confirmed) return "wrong";
    return this.check(row, userId, code);
  }

  async status(userId: string): Promise<{ confirmed: boolean; pending: boolean }> {
    const row = await this.store.getTotp(userId);
    return { confirmed: row?.confirmed === true, pending: row !== null && !row.confirmed };
  }

  async remove(userId: string): Promise<boolean> {
    return this.store.deleteTotp(userId);
  }

  private async check(row: { sealedSecret: string }, userId: string, code: string): Promise<TotpCheck> {
    if (!/^\d{6}$/.test(code)) return "wrong";
    const secret = new Secret({ buffer: toArrayBuffer(this.sealer.open(row.sealedSecret, sealContext(userId))) });
    const timestamp = this.now();
    const totp = this.totp(secret, "");
    const delta = totp.validate({ token: code, timestamp, window: 1 });
    if (delta === null) return "wrong";
    const step = totp.counter({ timestamp }) + delta;
    return (await this.store.consumeTotpStep(userId, step)) ? "ok" : "replayed";
  }

  private totp(secret: Secret, label: string): TOTP {
    return new TOTP({ issuer: this.issuer, label, secret, algorithm: ALGORITHM, digits: DIGITS, period: PERIOD });
  }
}

/** Binds a sealed secret to its user (the AAD): a row copied to another user does not open. */
const sealContext = (userId: string) => `kai-totp:${userId}`;

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  bytes.fill(0);
  return copy.buffer;
}

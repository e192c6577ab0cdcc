/**
 * @module test/auth/mfa-soft-authenticator
 * A software WebAuthn authenticator for tests without a browser: it answers registration options with a real
 * attestation (fmt `none`, a fresh P-256 key, a CBOR attestation object) and sign-in options with a real ECDSA
 * assertion, laid out as the WebAuthn spec says (§6.1 authenticator data: rpIdHash ‖ flags ‖ signCount ‖
 * attested credential data; §6.5.4 the attestation object; §5.8.1 client data). The server's verifier
 * (@simplewebauthn/server) checks every byte of it, so nothing on the server side is stubbed.
 * `synced: true` behaves like a synced passkey: backup flags set and the counter always 0.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  rpId: string;
  userHandle: string;
  counter: number;
}

export interface SoftAuthenticatorOptions {
  /** The origin the "browser" runs on (clientDataJSON.origin). */
  origin: string;
  /** Synced passkey: BE/BS flags, counter stays 0. */
  synced?: boolean;
  /** Whether the user verifies (PIN, biometric): the UV flag. */
  userVerified?: boolean;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(private readonly options: SoftAuthenticatorOptions) {}

  /** `navigator.credentials.create(options)`: creates a credential and returns the RegistrationResponseJSON. */
  register(options: Record<string, unknown>): Record<string, unknown> {
    const rp = options.rp as { id: string };
    const user = options.user as { id: string };
    const challenge = options.challenge as string;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    // COSE_Key (RFC 9053): kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, "base64url")],
      [-3, Buffer.from(jwk.y!, "base64url")],
    ]);
    const credential: Credential = { id: randomBytes(16), privateKey, rpId: rp.id, userHandle: user.id, counter: 0 };
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const attested = Buffer.concat([Buffer.alloc(16) /* AAGUID: none */, idLength, credential.id, Buffer.from(isoCBOR.encode(coseKey))]);
    const authData = Buffer.concat([this.authDataHead(rp.id, FLAG_AT, this.nextCounter(credential)), attested]);
    const attestationObject = isoCBOR.encode(new Map<string, string | Uint8Array | Map<string, string>>([["fmt", "none"], ["attStmt", new Map<string, string>()], ["authData", authData]]));
    const clientDataJSON = JSON.stringify({ type: "webauthn.create", challenge, origin: this.options.origin, crossOrigin: false });
    this.credentials.push(credential);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: "public-key",
      response: { clientDataJSON: b64url(Buffer.from(clientDataJSON)), attestationObject: b64url(attestationObject), transports: ["internal"] },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /**
   * `navigator.credentials.get(options)`: signs the challenge with a credential for the options' RP (the first,
   * or the one given: a discoverable credential chosen by the user) and returns the AuthenticationResponseJSON.
   */
  assert(options: Record<string, unknown>, credentialIndex = 0, overrides: { origin?: string; counter?: number } = {}): Record<string, unknown> {
    const rpId = options.rpId as string;
    const credential = this.credentials.filter((candidate) => candidate.rpId === rpId)[credentialIndex];
    if (!credential) throw new Error(`the soft authenticator has no credential for ${rpId}`);
    const counter = overrides.counter ?? this.nextCounter(credential);
    const authData = this.authDataHead(rpId, 0, counter);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: options.challenge as string, origin: overrides.origin ?? this.options.origin, crossOrigin: false }));
    // ES256 signature (DER, as WebAuthn expects) over authenticatorData ‖ SHA-256(clientDataJSON).
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: "public-key",
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: credential.userHandle },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian). */
  private authDataHead(rpId: string, extraFlags: number, counter: number): Buffer {
    let flags = FLAG_UP | extraFlags;
    if (this.options.userVerified !== false) flags |= FLAG_UV;
    if (this.options.synced) flags |= FLAG_BE | FLAG_BS;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count]);
  }

  private nextCounter(credential: Credential): number {
    if (this.options.synced) return 0;
    credential.counter += 1;
    return credential.counter;
  }
}

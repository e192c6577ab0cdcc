/**
 * @module vector-context
 * Builds the receiver a golden vector describes (clock, trusted peers, existing recipients), so the
 * vector test and the spec say the same thing about how vectors are run.
 */
import { ReplayCache, peerTrustPolicy, type AcceptContext } from "../../src/klp/index.js";

export interface VectorReceiver {
  now: string;
  trustedPeers?: string[];
  recipients?: string[];
}

export function receiverFor(vector: VectorReceiver): AcceptContext {
  const trusted = new Set(vector.trustedPeers ?? []);
  const recipients = vector.recipients;
  return {
    now: () => Date.parse(vector.now),
    replayCache: new ReplayCache(),
    trust: peerTrustPolicy((did) => trusted.has(did)),
    ...(recipients ? { recipientExists: (_address, envelope) => recipients.includes(envelope.to) } : {}),
  };
}

/**
 * @module config/reload-when-valid
 * One more reload of TLS files at the moment the certificate they hold becomes valid. A reload refuses a certificate
 * whose period has not begun (config/configured-file.ts): served now, every client would refuse it. Files are read
 * again only when they change, so without this a certificate issued a moment ahead of this machine's clock (another
 * machine's clock, or a certificate staged before its start) would stay refused, and the old one in use until it
 * expires, though nothing is wrong once its time comes.
 */
import { CertificateNotYetValidError } from "./configured-file.js";

/** setTimeout's longest delay (about 24.8 days); a later start is tried then, and again from there. */
const LONGEST_DELAY_MS = 2 ** 31 - 1;

export interface ValidityRetry {
  /** After a failed reload: when `error` is a certificate not valid yet, reload again once it is (other errors: nothing). */
  after(error: unknown): void;
  /** Forgets a reload planned (a change on disk reloads now anyway; closing). */
  cancel(): void;
}

export function reloadWhenValid(reload: () => void, now: () => number = Date.now): ValidityRetry {
  let timer: NodeJS.Timeout | null = null;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return {
    after(error) {
      if (!(error instanceof CertificateNotYetValidError)) return;
      cancel();
      // A second late: the check is `validFrom > now`, so at the very millisecond it would still refuse.
      timer = setTimeout(reload, Math.min(LONGEST_DELAY_MS, Math.max(0, error.validFrom - now()) + 1000));
      // A certificate to come never keeps the process alive on its own.
      timer.unref();
    },
    cancel,
  };
}

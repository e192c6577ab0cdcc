/**
 * @module mfa
 * (issue 14) Shapes of the mfa routes; filled in by the part that builds them.
 */
export {};

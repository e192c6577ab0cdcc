/**
 * @module sso
 * (issue 14) Shapes of the sso routes; filled in by the part that builds them.
 */
export {};

/**
 * @module http/router-limits
 * The router's limits (Fastify's `routerOptions`, given in http/app.ts), in a module of their own so that the answer
 * explaining a refusal (http/error-handler.ts) names the limit the router applies, without importing the app.
 */

/** The longest path parameter the router accepts: a caller's URL with a longer one is refused (400) before any route. */
export const MAX_PARAM_LENGTH = 256;

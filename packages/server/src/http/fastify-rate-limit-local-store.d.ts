// Type declaration for the plugin's in-memory store, which it ships without types.
declare module "@fastify/rate-limit/store/LocalStore.js" {
  export default class LocalStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, cache?: number);
    incr(key: string, callback: (error: Error | null, result: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
    child(routeOptions: unknown): LocalStore;
  }
}

// oidc-provider keeps its per-instance state in a WeakMap (lib/helpers/weak_cache.js). Gatehouse reads
// one thing from it: the bound refresh_token grant handler, to wrap it with the grace window.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  const instance: (provider: object) => { grantTypeHandlers: Map<string, (ctx: unknown) => Promise<void>> };
  export default instance;
}

// The engine's per-request context (its AsyncLocalStorage), read where the engine calls back into
// Gatehouse without passing the request: client secret comparison needs the client's IP.
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';
  const als: AsyncLocalStorage<{ ip: string; set(name: string, value: string): void } | undefined>;
  export default als;
}

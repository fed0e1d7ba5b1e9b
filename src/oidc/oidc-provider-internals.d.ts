// oidc-provider keeps its per-instance state in a WeakMap (lib/helpers/weak_cache.js). Gatehouse reads
// one thing from it: the bound refresh_token grant handler, to wrap it with the grace window.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  const instance: (provider: object) => { grantTypeHandlers: Map<string, (ctx: unknown) => Promise<void>> };
  export default instance;
}

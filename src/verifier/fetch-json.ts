/** GETs a JSON document from Gatehouse: bounded in time, no redirects followed, 200 or an error. */
export type FetchJson = (url: URL, accept: string) => Promise<unknown>;

export function createFetchJson(fetchImpl: typeof fetch, timeoutMs: number): FetchJson {
  return async (url, accept) => {
    const response = await fetchImpl(url, { headers: { accept }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`GET ${url.href} answered HTTP ${response.status}`);
    }
    try {
      return await response.json();
    } catch (cause) {
      throw new Error(`GET ${url.href} did not answer JSON`, { cause });
    }
  };
}

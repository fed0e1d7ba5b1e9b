/**
 * Polls `check` until it holds, for what happens in real time in another process (a scheduled key
 * change, a load generator's progress). `timeoutMs` is a hang guard, never a speed check.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

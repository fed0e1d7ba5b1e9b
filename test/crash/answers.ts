import * as oidc from 'openid-client';

/** The answer inside an openid-client error, or undefined when there was no answer (no HTTP response). */
export function answerOf(err: unknown): { status: number; error: string } | undefined {
  if (err instanceof oidc.ResponseBodyError) return { status: err.status, error: err.error };
  if (err instanceof oidc.WWWAuthenticateChallengeError) return { status: err.status, error: String(err.cause[0]?.parameters.error ?? err.cause[0]?.scheme) };
  if (err instanceof oidc.ClientError && err.cause instanceof Response) return { status: err.cause.status, error: err.code ?? err.message };
  return undefined;
}

export function describeError(err: unknown): string {
  const answer = answerOf(err);
  if (answer) return `${answer.status} ${answer.error}`;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
}

/** Like describeError, with the OAuth error code of a 5xx answer too (openid-client leaves those bodies unread). */
export async function explainError(err: unknown): Promise<string> {
  if (err instanceof oidc.ClientError && err.cause instanceof Response && err.cause.status >= 500) {
    const body = (await err.cause.clone().json().catch(() => ({}))) as { error?: string };
    return `${err.cause.status} ${body.error ?? '(no OAuth error body)'}`;
  }
  return describeError(err);
}

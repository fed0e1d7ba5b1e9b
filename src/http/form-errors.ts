import { AppError } from '../errors.js';

/**
 * The sentence a form page shows for a refused field (a use case threw `field: reason`), or
 * undefined when the error is not about what the person typed (then the error handler answers).
 */
export function formSentence(err: unknown): string | undefined {
  if (!(err instanceof AppError) || err.statusCode !== 400 || !err.expose) return undefined;
  if (err.message.startsWith('email:')) return 'Enter a valid email address, like name@example.com.';
  if (err.message.startsWith('password:')) return err.message.slice('password:'.length).trim();
  return undefined;
}

import { FieldError } from '../errors.js';

/**
 * The sentence a form page shows for a refused field (a use case threw a FieldError), or undefined
 * when the error is not about what the person typed (then the error handler answers).
 */
export function formSentence(err: unknown): string | undefined {
  if (!(err instanceof FieldError)) return undefined;
  if (err.field === 'email') return err.reason === 'unchanged' ? err.sentence : 'Enter a valid email address, like name@example.com.';
  if (err.field === 'password' || err.field === 'new_password' || err.field === 'current_password') return err.sentence;
  return undefined;
}

import { FieldError } from '../errors.js';
import type { Words } from '../i18n/messages.js';

/**
 * The sentence a form page shows for a refused field (a use case threw a FieldError), or undefined
 * when the error is not about what the person typed (then the error handler answers). Message keys
 * `field.<reason>` (password policy, current password) and `field.email.*`; the use case's English
 * sentence where no message file has the reason.
 */
export function formSentence(err: unknown): Words | undefined {
  if (!(err instanceof FieldError)) return undefined;
  if (err.field === 'email') return err.reason === 'unchanged' ? { key: 'field.email.unchanged' } : { key: 'field.email.invalid' };
  if (err.field === 'password' || err.field === 'new_password' || err.field === 'current_password') {
    const key = err.field === 'current_password' ? `field.current_password.${err.reason}` : `field.password.${err.reason}`;
    return { key, fallback: err.sentence };
  }
  return undefined;
}

import t from 'tap';
import { checkPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../src/accounts/password-policy.ts';

t.test('length is counted in code points after NFKC, 8 to 128', async (t) => {
  t.equal(MIN_PASSWORD_LENGTH, 8);
  t.equal(MAX_PASSWORD_LENGTH, 128);
  t.equal(checkPassword('seven c'), 'too_short');
  t.equal(checkPassword('eight ch'), undefined);
  t.equal(checkPassword('🦊🐙🌵🍋🎈🧭🪁🛶'), undefined, '8 astral characters (16 UTF-16 units) are 8 characters');
  t.equal(checkPassword('🦊🐙🌵🍋🎈🧭🪁'), 'too_short');
  const unit = 'ünïcødé-密码-🔐 ';
  const max = [...unit.repeat(12)].slice(0, 128).join('');
  t.equal(checkPassword(max), undefined, '128 characters');
  t.equal(checkPassword(`${max}x`), 'too_long', '129 characters');
  // NFKC turns the ligature "ﬁ" (1 code point) into "fi" (2): the normalised form is what counts.
  t.equal(checkPassword('ﬁﬁﬁﬁ'), 'repetitive', '4 code points typed, 8 after NFKC (so not too short), and "fi" repeated');
  t.equal(checkPassword('ﬁsh and ﬁg'), undefined);
});

t.test('common passwords are refused, whatever their case', async (t) => {
  for (const p of ['password', 'Password1', '12345678', 'qwertyuiop', 'iloveyou', 'sunshine', 'football', 'GATEHOUSE']) {
    t.equal(checkPassword(p), 'too_common', p);
  }
  t.equal(checkPassword('correct horse battery staple'), undefined);
});

t.test('repetitive passwords and ones containing the email are refused; no composition rules', async (t) => {
  for (const p of ['aaaaaaaa', 'abababab', 'xyzxyzxyz', '1qaz1qaz1qaz']) t.equal(checkPassword(p), 'repetitive', p);
  t.equal(checkPassword('my name is jordan.lee!', { email: 'jordan.lee@example.com' }), 'contains_email');
  t.equal(checkPassword('JORDAN.LEE@example.com', { email: 'jordan.lee@example.com' }), 'contains_email');
  t.equal(checkPassword('abc likes long walks', { email: 'abc@example.com' }), undefined, 'a name part shorter than 4 is not a context word');
  t.equal(checkPassword('all lowercase no digits'), undefined, 'no composition rules');
  t.equal(checkPassword(undefined), 'not_text');
  t.equal(checkPassword(['an array of text']), 'not_text');
});

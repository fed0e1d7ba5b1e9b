import * as oidc from 'openid-client';
import type { Family } from './acknowledged-state.ts';
import { answerOf, explainError } from './answers.ts';
import type { CheckDeps } from './checks.ts';

const REFRESH = 'refresh token acknowledged before the kill: works' as const;

/**
 * The last acknowledged refresh token works: one successor, which becomes the family's token. When
 * the kill cut a rotation with it, the server may have rotated it without the client seeing the
 * answer: inside the grace window the retry must get that answer (or a fresh rotation). After the
 * window a retry looks exactly like the replay of a stolen token, and refusing it is the design; the
 * test cannot demand more then, and counts it apart.
 */
/** How close to the end of the grace window a retry's outcome is left open (see checkFamily). */
const BOUNDARY_S = 2;

export async function checkFamily(d: CheckDeps, family: Family): Promise<void> {
  const token = family.chain.at(-1)!;
  // Client-side age: the server received the request after it was sent, so its age is no larger.
  const age = family.interruptedAt === null ? null : (Date.now() - family.interruptedAt) / 1000;
  const when = age === null ? 'no rotation in flight' : `after an interrupted rotation, retried ${age.toFixed(1)} s after it was sent`;
  try {
    const tokens = await oidc.refreshTokenGrant(d.web, token);
    if (!tokens.refresh_token) throw new Error('no refresh token in the answer');
    family.chain.push(tokens.refresh_token);
    family.receivedAt.push(Date.now());
    family.interruptedAt = null;
    d.ledger.ack('refresh rotation');
    d.ledger.check(REFRESH, true, '');
    d.ledger.note(`refresh after restart (${age === null ? 'no rotation in flight' : 'after an interrupted rotation'}): worked`);
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    const answer = await explainError(err);
    d.state.dropFamily(family);
    // The age is the client's, taken before the retry is sent; the server judges the window when the
    // retry arrives, later by however long a loaded machine takes to deliver and read it. Within
    // BOUNDARY_S of the window's end either answer is right.
    if (age !== null && age > d.graceSeconds - BOUNDARY_S) {
      return d.ledger.note(`refresh after an interrupted rotation, retried at or after the end of the grace window: refused ${answer}`);
    }
    d.ledger.check(REFRESH, false, `family ${family.id} (${when}, ${family.chain.length} tokens acknowledged): ${answer}`);
    d.ledger.note(`refresh after restart (${age === null ? 'no rotation in flight' : 'after an interrupted rotation, inside the grace window'}): refused ${answer}`);
  }
}

const PREDECESSOR = 'predecessor (and an older used token): refused, or inside the grace window the same successor' as const;
const REVOKED = 'reuse outside the grace window revokes the family' as const;

/**
 * The token acknowledged before the kill (now used once more by checkFamily) must have a dead
 * predecessor. Inside the grace window of its rotation the predecessor may get the answer it got then
 * (the very successor the client holds, never a new token); outside it must be refused, and that reuse
 * revokes the family. The predecessor is presented first; if its window is still open, the newest
 * older token of the family whose window has closed is presented too, so that the strict rule is
 * checked as well. Either way the family leaves the test.
 */
export async function retireFamily(d: CheckDeps, family: Family): Promise<void> {
  d.state.dropFamily(family);
  const { chain, receivedAt } = family;
  if (chain.length < 3) return d.ledger.note('family retired without a predecessor to check');
  const now = Date.now();
  // The server rotated token j before the client received token j + 1.
  const closed = (j: number) => now - receivedAt[j + 1]! > (d.graceSeconds + 1) * 1000;
  const predecessor = chain.length - 3;
  let older = predecessor;
  while (older >= 0 && !closed(older)) older -= 1;
  if (older !== predecessor) await presentUsed(d, family, predecessor, false);
  if (older < 0 || !(await presentUsed(d, family, older, true))) return;
  try {
    await oidc.refreshTokenGrant(d.web, chain.at(-1)!);
    d.ledger.check(REVOKED, false, `family ${family.id}: its latest token still works`);
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    d.ledger.check(REVOKED, answerOf(err)!.error === 'invalid_grant', `family ${family.id}: ${await explainError(err)}`);
  }
}

/** Presents the used token chain[j]; true when it was refused. */
async function presentUsed(d: CheckDeps, family: Family, j: number, outside: boolean): Promise<boolean> {
  const where = `${outside ? 'outside' : 'inside'} the grace window`;
  const which = j === family.chain.length - 3 ? 'the predecessor' : `an older token (${family.chain.length - 2 - j} rotations back)`;
  try {
    const tokens = await oidc.refreshTokenGrant(d.web, family.chain[j]!);
    const same = tokens.refresh_token === family.chain[j + 1];
    d.ledger.check(PREDECESSOR, same && !outside, `family ${family.id}: ${which} got ${same ? 'the same successor' : 'a new token'} ${where}`);
    if (same) d.ledger.note(`used token ${where}: the same successor again`);
    return false;
  } catch (err) {
    const answer = answerOf(err);
    if (!answer) throw err;
    d.ledger.check(PREDECESSOR, answer.error === 'invalid_grant', `family ${family.id}: ${which} got ${await explainError(err)} ${where}`);
    if (answer.error === 'invalid_grant') d.ledger.note(`used token ${where}: refused`);
    return answer.error === 'invalid_grant';
  }
}

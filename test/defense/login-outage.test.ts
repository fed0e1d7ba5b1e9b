import t from 'tap';
import { login, type LoginDeps } from '../../src/accounts/login.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { isUnavailable, unavailable } from '../../src/errors.ts';
import type { AuditEvent } from '../../src/observability/audit.ts';
import { FIXED_START, steppableClock } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD } from '../helpers/fixtures.ts';
import { databaseServices } from '../helpers/stores.ts';

/**
 * A login attempt is counted when it is admitted (a reservation, so simultaneous attempts cannot slip
 * past a limit) and settled when the password has answered. When the database fails in between, the
 * request answers 503 and the attempt had no verdict: it must not count, or a database blip throttles
 * the real user (seen under load with PostgreSQL connections terminated: the person's next sign-in
 * answered 429).
 */
for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: sign-ins cut off by a database failure do not count as failures`, async (t) => {
    const clock = steppableClock(FIXED_START);
    const services = await databaseServices(t, kind, clock);
    const settings = loadConfig({ SECRETS: 'x'.repeat(32) }).guard;
    await createVerifiedUser(services, 'alice@example.com', PASSWORD);
    await createVerifiedUser(services, 'bob@example.com', PASSWORD);

    // The users table fails the next `outage` reads, as a dropped connection does.
    let outage = 0;
    const users = new Proxy(services.users, {
      get(target, prop, receiver) {
        if (prop === 'findByEmail' && outage > 0) {
          return async () => {
            outage -= 1;
            throw unavailable('The service is temporarily unavailable; retry shortly.');
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const deps: LoginDeps = {
      users,
      hasher: services.hasher,
      clock,
      requireEmailVerification: true,
      guard: services.guard,
      settings,
      audit: services.audit,
      mailer: services.mailer,
      background: services.background,
      issuer: 'http://localhost:3000',
    };
    const attempt = (email: string, password: string) => login(deps, { email, password, who: { ip: '198.51.100.7', userAgent: 'test' } });

    const cutOff = settings.freeAttempts + 3;
    outage = cutOff;
    for (let i = 0; i < cutOff; i++) {
      const err = await attempt('alice@example.com', PASSWORD).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.ok(isUnavailable(err), `attempt ${i + 1} during the outage fails as unavailable (503)`);
    }
    const after = await attempt('alice@example.com', PASSWORD);
    t.equal(after.ok, true, `after ${cutOff} cut-off attempts (more than the ${settings.freeAttempts} free ones) alice signs in at once`);

    // The same number of wrong passwords does count: the guard is really on in this set-up.
    for (let i = 0; i < settings.freeAttempts; i++) t.match(await attempt('bob@example.com', 'wrong password'), { ok: false, reason: 'invalid_credentials' });
    t.match(await attempt('bob@example.com', PASSWORD), { ok: false, reason: 'refused', refusal: 'throttled' }, `after ${settings.freeAttempts} wrong passwords the next attempt must wait`);

    // A failure after the verdict (here: the database fails on the audit write of the wrong
    // password's failure, after the guard has settled it) keeps the failure counted.
    clock.advance(3600);
    const before = await services.guard.admit({ email: 'carol@example.com', ip: '203.0.113.9' });
    t.ok(before.ok);
    if (before.ok) await services.guard.succeeded(before.ticket);
    const wrongThenFail = async () => {
      outage = 0;
      let failedWrites = 0;
      const late = new Proxy(services.audit, {
        get(target, prop, receiver) {
          if (prop === 'record') {
            return async (event: AuditEvent) => {
              if (event.type !== 'login.failed') return target.record(event);
              failedWrites += 1;
              throw unavailable('The service is temporarily unavailable; retry shortly.');
            };
          }
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const outcome = await login({ ...deps, audit: late }, { email: 'carol@example.com', password: 'wrong password', who: { ip: '203.0.113.9', userAgent: 'test' } }).then(
        () => 'answered',
        (e: unknown) => (isUnavailable(e) ? 'unavailable' : String(e)),
      );
      t.equal(failedWrites, 1, 'the failure reached its audit write');
      return outcome;
    };
    for (let i = 0; i < settings.freeAttempts; i++) t.equal(await wrongThenFail(), 'unavailable', `wrong password ${i + 1}, then the database fails`);
    t.match(
      await login(deps, { email: 'carol@example.com', password: 'wrong password', who: { ip: '203.0.113.9', userAgent: 'test' } }),
      { ok: false, reason: 'refused', refusal: 'throttled' },
      'wrong passwords whose request then failed still count',
    );
  });
}

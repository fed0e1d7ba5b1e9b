import type { PasskeySignInDeps } from '../accounts/passkeys/passkey-sign-in.js';
import { relyingPartyOf } from '../accounts/passkeys/relying-party.js';
import type { Config } from '../config/schema.js';
import { brandOf } from '../rendering/presentation.js';
import type { Services } from '../services.js';

/** The passkey use cases' dependencies: the relying party is the issuer (ISSUER), named like the pages. */
export function passkeyDeps(config: Readonly<Config>, services: Services): PasskeySignInDeps {
  return {
    store: services.passkeys,
    users: services.users,
    audit: services.audit,
    clock: services.clock,
    rp: relyingPartyOf(config.issuer, brandOf(config).productName),
    guard: services.guard,
    requireEmailVerification: config.requireEmailVerification,
  };
}

/**
 * argon2id with m=19456 KiB, t=2, p=1 (docs/security.md, OWASP). The parameters live in each PHC
 * string, so a hash made with older ones is recognised and can be replaced at the next login.
 */
export const ARGON2_PARAMS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

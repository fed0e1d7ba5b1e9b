/**
 * @simplewebauthn/server (and the CBOR and ASN.1 libraries under it), loaded on the first passkey
 * ceremony rather than at start: most deployments' token traffic never needs it, and every worker
 * would hold it in memory.
 */
let loading: Promise<typeof import('@simplewebauthn/server')> | undefined;
export const webauthn = () => (loading ??= import('@simplewebauthn/server'));

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A software WebAuthn authenticator for HTTP-level tests (the browser tests use Chromium's virtual
 * one): one P-256 credential, attestation `none`, user present and verified, a signature counter the
 * test can turn back. It answers the options our server sends exactly as a browser would post them.
 */
export interface SoftAuthenticator {
  credentialId: string;
  counter: number;
  /** The JSON a browser posts after navigator.credentials.create(). */
  register(options: { challenge: string; user: { id: string } }, overrides?: { origin?: string; type?: string }): string;
  /** The JSON a browser posts after navigator.credentials.get(). */
  assert(options: { challenge: string }, overrides?: { origin?: string; counter?: number; forgeSignature?: boolean; userVerified?: boolean }): string;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64u = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

export function softAuthenticator(rpId: string, origin: string, options: { backupEligible?: boolean } = {}): SoftAuthenticator {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const id = randomBytes(16);
  let userHandle = '';
  // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
  const coseKey = isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
  const backup = options.backupEligible ? 0x08 | 0x10 : 0;
  const counterBytes = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const clientData = (type: string, challenge: string, o: string) => Buffer.from(JSON.stringify({ type, challenge, origin: o, crossOrigin: false }));

  const authenticator: SoftAuthenticator = {
    credentialId: b64u(id),
    counter: 0,
    register(opts, overrides = {}) {
      userHandle = opts.user.id;
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(id.length);
      // flags: UP 0x01, UV 0x04, AT 0x40 (+ BE/BS for a synced passkey)
      const authData = Buffer.concat([sha256(rpId), Buffer.from([0x45 | backup]), counterBytes(authenticator.counter), Buffer.alloc(16), idLength, id, Buffer.from(coseKey)]);
      const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
      return JSON.stringify({
        id: b64u(id),
        rawId: b64u(id),
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64u(clientData(overrides.type ?? 'webauthn.create', opts.challenge, overrides.origin ?? origin)),
          attestationObject: b64u(attestationObject),
          transports: ['internal'],
        },
      });
    },
    assert(opts, overrides = {}) {
      const counter = overrides.counter ?? (authenticator.counter += 1);
      const flags = 0x01 | (overrides.userVerified === false ? 0 : 0x04) | backup;
      const authData = Buffer.concat([sha256(rpId), Buffer.from([flags]), counterBytes(counter)]);
      const data = clientData('webauthn.get', opts.challenge, overrides.origin ?? origin);
      const signature = sign('sha256', Buffer.concat([authData, sha256(data)]), privateKey);
      if (overrides.forgeSignature) signature[signature.length - 1]! ^= 0x01;
      return JSON.stringify({
        id: b64u(id),
        rawId: b64u(id),
        type: 'public-key',
        clientExtensionResults: {},
        response: { clientDataJSON: b64u(data), authenticatorData: b64u(authData), signature: b64u(signature), userHandle },
      });
    },
  };
  return authenticator;
}

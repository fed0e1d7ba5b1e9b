/**
 * What the clients and the operator were told, kept across kills: the state every restart must
 * show. Nothing here is read from the server; it is the clients' own memory of acknowledged answers.
 */

export interface Account {
  email: string;
  password: string;
  /** Can log in (verified by its link, or created with --verified). */
  verified: boolean;
  /** Logins answered with a redirect onward (each must have left an audit event). */
  logins: number;
  /** Made by `users create` rather than by a signup. */
  byCli: boolean;
}

/** A signup acknowledged, its address not yet confirmed. */
export interface PendingVerification {
  email: string;
  /** The mailed token, once the mail is in the outbox. */
  token?: string;
  /** The token was presented and the kill landed before the answer. */
  interrupted: boolean;
}

/** One refresh-token family (one grant) as its client knows it. */
export interface Family {
  id: number;
  /** Every refresh token acknowledged to the client, oldest first; the last is the live one. */
  chain: string[];
  /** When each token of `chain` was received (ms since the epoch, this machine's clock). */
  receivedAt: number[];
  /** When the rotation the kill cut (no answer) was sent, with the family's last token; else null. */
  interruptedAt: number | null;
  busy: boolean;
}

/** An authorization code the browser was sent to the app with, never presented. */
export interface DeliveredCode {
  callback: URL;
  verifier: string;
  state: string;
}

export interface DeviceRequest {
  deviceCode: string;
  /** issued: acknowledged, not approved; approving: the approval was cut by the kill; approved:
   * the person saw "Device connected"; polling: the token request was cut by the kill. */
  stage: 'issued' | 'approving' | 'approved' | 'polling';
}

export interface CliClient {
  clientId: string;
  secret: string;
  deleted: boolean;
  /** Checked after a restart in its latest state. */
  checked: boolean;
}

export class AcknowledgedState {
  readonly accounts = new Map<string, Account>();
  readonly pending: PendingVerification[] = [];
  readonly families: Family[] = [];
  readonly codes: DeliveredCode[] = [];
  readonly devices: DeviceRequest[] = [];
  /** Client-credentials access tokens not yet verified after a restart. */
  readonly accessTokens: string[] = [];
  readonly cliClients: CliClient[] = [];
  readonly resources = new Set<string>();
  /** email → banned, as the last acknowledged `users ban|unban` left it. */
  readonly banned = new Map<string, boolean>();
  /** ip/cidr → banned, as the last acknowledged `ips ban|unban` left it. */
  readonly ipBans = new Map<string, boolean>();
  /** The key ids the last acknowledged `keys rotate` listed as published (next, active or retired). */
  keyring: { kids: string[]; ackedAt: number } | null = null;
  private nextFamily = 1;

  verifiedAccounts(): Account[] {
    return [...this.accounts.values()].filter((a) => a.verified);
  }

  newFamily(token: string): Family {
    const family: Family = { id: this.nextFamily++, chain: [token], receivedAt: [Date.now()], interruptedAt: null, busy: false };
    this.families.push(family);
    return family;
  }

  dropFamily(family: Family): void {
    const i = this.families.indexOf(family);
    if (i >= 0) this.families.splice(i, 1);
  }
}

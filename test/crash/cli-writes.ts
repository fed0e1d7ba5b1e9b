import type { GatehouseDeployment } from '../helpers/gatehouse-process.ts';
import type { AcknowledgedState } from './acknowledged-state.ts';
import type { Ledger } from './ledger.ts';
import type { Prng } from './prng.ts';

/** The operator's writes, each `gatehouse … --json` in its own process beside the server. */
export const CLI_WRITES = ['clients create', 'clients delete', 'resources create', 'users create', 'users ban/unban', 'ips ban/unban', 'keys rotate'] as const;
export type CliWrite = (typeof CLI_WRITES)[number];

/** Never the address the traffic comes from (the server sees 127.0.0.1). */
const BANNED_IP = '203.0.113.7';

export interface Operator {
  gh: GatehouseDeployment;
  api: string;
  /** The account `users ban|unban` toggles; never used by the traffic. */
  banTarget: string;
  state: AcknowledgedState;
  ledger: Ledger;
  prng: Prng;
  /** A new, unique email address and an acceptable password for it. */
  newCredentials(prefix: string): { email: string; password: string };
}

/** Every kind in a seeded order, round after round, so that each is exercised on every run (a
 * delete with nothing to delete yet creates first and comes back at the end of the round). */
export function cliSchedule(prng: Prng, state: AcknowledgedState): () => CliWrite {
  let round: CliWrite[] = [];
  return () => {
    if (round.length === 0) {
      round = [...CLI_WRITES];
      for (let i = round.length - 1; i > 0; i--) {
        const j = prng.int(0, i);
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    const kind = round.shift()!;
    if (kind !== 'clients delete' || state.cliClients.some((c) => !c.deleted)) return kind;
    round = [...round.filter((k) => k !== 'clients create'), kind];
    return 'clients create';
  };
}

/** The operator's write of one cycle, started with its traffic (the kill does not stop the CLI). */
export async function runOperator(op: Operator, next: () => CliWrite): Promise<void> {
  await cliWrite(op, next());
}

async function cli(op: Operator, argv: string[], stdin?: string): Promise<unknown> {
  const r = await op.gh.cli([...argv, '--json'], stdin);
  if (r.code !== 0) {
    op.ledger.problem(`gatehouse ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return undefined;
  }
  return JSON.parse(r.stdout);
}

export async function cliWrite(op: Operator, kind: CliWrite): Promise<void> {
  const { state, ledger } = op;
  const acked = () => ledger.ack(`cli ${kind}`);
  switch (kind) {
    case 'clients delete': {
      const target = state.cliClients.find((c) => !c.deleted);
      if (!target) return cliWrite(op, 'clients create');
      if ((await cli(op, ['clients', 'delete', target.clientId])) === undefined) return;
      Object.assign(target, { deleted: true, checked: false });
      return acked();
    }
    case 'clients create': {
      const out = (await cli(op, ['clients', 'create', '--name', `job ${state.cliClients.length + 1}`, '--grant', 'client_credentials', '--resource', op.api])) as
        | { client_id: string; client_secret: string }
        | undefined;
      if (!out) return;
      state.cliClients.push({ clientId: out.client_id, secret: out.client_secret, deleted: false, checked: false });
      return acked();
    }
    case 'resources create': {
      const audience = `https://${op.newCredentials('api').email.replace(/@.*/, '')}.example.com`;
      if ((await cli(op, ['resources', 'create', '--audience', audience, '--scope', 'crash:read'])) === undefined) return;
      state.resources.add(audience);
      return acked();
    }
    case 'users create': {
      const { email, password } = op.newCredentials('operator-made');
      if ((await cli(op, ['users', 'create', email, '--password-stdin', '--verified'], `${password}\n`)) === undefined) return;
      // A verified account: it joins the people who log in.
      state.accounts.set(email, { email, password, verified: true, logins: 0, byCli: true });
      return acked();
    }
    case 'users ban/unban': {
      const ban = !state.banned.get(op.banTarget);
      const argv = ban ? ['users', 'ban', op.banTarget, '--reason', 'crash test'] : ['users', 'unban', op.banTarget];
      if ((await cli(op, argv)) === undefined) return;
      state.banned.set(op.banTarget, ban);
      return acked();
    }
    case 'ips ban/unban': {
      const ban = ![...state.ipBans.values()].some(Boolean);
      const out = (await cli(op, ban ? ['ips', 'ban', BANNED_IP, '--reason', 'crash test'] : ['ips', 'unban', BANNED_IP])) as { ip: string } | undefined;
      if (!out) return;
      state.ipBans.set(out.ip, ban);
      return acked();
    }
    case 'keys rotate': {
      const keys = (await cli(op, ['keys', 'rotate'])) as { kid: string; state: string }[] | undefined;
      if (!keys) return;
      state.keyring = { kids: keys.filter((k) => k.state !== 'removed').map((k) => k.kid), ackedAt: Date.now() };
      return acked();
    }
  }
}

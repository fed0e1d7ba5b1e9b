import t from 'tap';
import { cli } from '../helpers/cli.ts';
import { CLI_JS, runProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** Help at every level (program, noun, verb) and the one-line usage errors, parsed by commander. */

t.test('the program help lists every noun and verb', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['--help'], {}, dir);
  t.equal(r.code, 0);
  for (const line of ['migrate', 'config check', 'db backup <file>', 'clients create', 'resources update <audience>', 'users ban <email>', 'ips ban <ip|cidr>', 'audit', 'keys revoke <kid>', 'tokens revoke <jti>', 'completion <shell>']) {
    t.match(r.stdout, new RegExp(`^  ${line.replace(/[|]/g, '\\|')}\\s`, 'm'), `lists ${line}`);
  }
  t.match(r.stdout, /^Examples:\n  npx gatehouse /m);
  t.equal(r.stderr, '');
});

t.test('a noun alone, or with --help, lists its verbs with usage, options and examples', async (t) => {
  const dir = await tempDir(t);
  const alone = await cli(['clients'], {}, dir);
  t.equal(alone.code, 1, 'a noun without a verb is a usage error');
  t.equal(alone.stderr, '', 'the help goes to stdout, and commander writes nothing of its own');
  const help = await cli(['clients', '--help'], {}, dir);
  t.equal(help.code, 0);
  t.equal(help.stdout, alone.stdout, 'the same text');
  t.match(help.stdout, /^Usage: gatehouse clients <verb> \[options\]$/m);
  for (const verb of ['create', 'list', 'show', 'update', 'rotate-secret', 'delete']) t.match(help.stdout, new RegExp(`^  ${verb}\\b`, 'm'), `lists ${verb}`);
  t.notMatch(help.stdout, /^  (users|keys|migrate)\b/m, 'only its own verbs');
  t.match(help.stdout, /--json/);
  t.match(help.stdout, /^Examples:\n  npx gatehouse clients /m);

  const json = await cli(['users', '--help', '--json'], {}, dir);
  t.equal(json.code, 0);
  t.same(json.json().commands.map((c: { command: string }) => c.command), ['users create', 'users list', 'users show', 'users mfa', 'users ban', 'users unban', 'users unlock', 'users sign-out']);
});

t.test('every verb has --help with usage, options and at least one example', async (t) => {
  const dir = await tempDir(t);
  const all = (await cli(['--help', '--json'], {}, dir)).json().commands as { command: string; options: Record<string, unknown>; examples: string[] }[];
  t.ok(all.length >= 25);
  for (const c of all) {
    const r = await cli([...c.command.split(' '), '--help'], { PORT: 'broken' }, dir);
    t.equal(r.code, 0, `${c.command} --help exits 0 with a broken environment`);
    t.match(r.stdout, new RegExp(`^Usage: gatehouse ${c.command}`, 'm'));
    for (const name of Object.keys(c.options)) t.ok(r.stdout.includes(`--${name}`), `${c.command} --help lists --${name}`);
    t.match(r.stdout, /^Examples:\n  \S/m, `${c.command} has an example`);
    t.ok(c.examples.length >= 1);
  }
  const create = await cli(['clients', 'create', '--help'], {}, dir);
  t.match(create.stdout, /^  --name <value>\s+display name/m);
  t.match(create.stdout, /^  --public\s+no secret/m);
  t.match(create.stdout, /^  npx gatehouse clients create --name /m);
});

const usageErrors: [string, string[], string][] = [
  ['unknown command', ['frobnicate'], 'unknown command "frobnicate"; see gatehouse --help'],
  ['unknown verb', ['clients', 'frob'], 'unknown command "clients frob"; see gatehouse clients --help'],
  ['unknown option', ['clients', 'list', '--frob'], 'unknown option "--frob"; see gatehouse clients list --help'],
  ['misspelt option', ['clients', 'create', '--nam', 'x'], 'unknown option "--nam" (did you mean --name?); see gatehouse clients create --help'],
  ['missing option value', ['clients', 'create', '--name'], 'option --name needs a value; see gatehouse clients create --help'],
  ['missing positional', ['users', 'ban'], 'missing argument <email>; see gatehouse users ban --help'],
  ['extra positional', ['clients', 'show', 'a', 'b'], 'unexpected argument "b"; see gatehouse clients show --help'],
  ['bad number', ['users', 'list', '--limit', 'ten'], '--limit: "ten" is not a whole number; see gatehouse users list --help'],
  ['number out of range', ['audit', '--limit', '0'], '--limit must be 1 to 10000; see gatehouse audit --help'],
  ['negative offset', ['users', 'list', '--offset', '-1'], '--offset must be 0 or more; see gatehouse users list --help'],
  ['required option', ['resources', 'create'], '--audience is required; see gatehouse resources create --help'],
  ['unknown shell', ['completion', 'fish'], 'unknown shell "fish"; expected bash or zsh; see gatehouse completion --help'],
];

t.test('every bad argument is our own one line on stderr, exit 1, and one JSON document with --json', async (t) => {
  const dir = await tempDir(t);
  for (const [what, argv, message] of usageErrors) {
    const text = await cli(argv, {}, dir);
    t.equal(text.code, 1, `${what}: exit 1`);
    t.equal(text.stderr, `gatehouse: ${message}\n`, `${what}: the message`);
    t.equal(text.stdout, '', `${what}: nothing on stdout`);
    const json = await cli([...argv, '--json'], {}, dir);
    t.equal(json.code, 1);
    t.same(json.json(), { error: 'usage_error', error_description: message }, `${what}: one JSON document`);
  }
});

t.test('in a real process: no commander or parseArgs text leaks, exit codes hold', async (t) => {
  const dir = await tempDir(t);
  for (const [what, argv, message] of usageErrors) {
    const r = await runProcess(CLI_JS, argv, {}, dir);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.equal(r.stderr, `gatehouse: ${message}\n`, `${what}: exactly our line`);
    t.equal(r.stdout, '');
    t.notMatch(r.stderr, /^error:|ERR_PARSE_ARGS|TypeError|\n {4}at /m);
  }
  const json = await runProcess(CLI_JS, ['users', 'ban', '--json'], {}, dir);
  t.equal(json.code, 1);
  t.same(JSON.parse(json.stdout), { error: 'usage_error', error_description: 'missing argument <email>; see gatehouse users ban --help' }, 'stdout is one JSON document');
  const noun = await runProcess(CLI_JS, ['keys'], {}, dir);
  t.equal(noun.code, 1);
  t.match(noun.stdout, /^Usage: gatehouse keys <verb>/);
  t.equal(noun.stderr, '');
  const help = await runProcess(CLI_JS, ['keys', 'rotate', '--help'], {}, dir);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: gatehouse keys rotate \[options\]\n/);
  t.match(help.stdout, /--now/);
  t.equal(help.stderr, '');
});

t.test('options may come before or after the words, in either form', async (t) => {
  const dir = await tempDir(t);
  const before = await cli(['--json', 'config', 'check', '--', 'x'], { PORT: '4100' }, dir);
  t.equal(before.code, 1, 'a stray positional after -- is still refused');
  const forms = await cli(['config', '--json', 'check'], { PORT: '4100' }, dir);
  t.equal(forms.code, 0, forms.stderr);
  t.equal(forms.json().PORT, 4100);
});

t.test('an operand that starts with "-" (one jti in 64) is an operand, in any position, in-process and in a real process', async (t) => {
  const dir = await tempDir(t);
  const env = { DATABASE_URL: `file:${dir}/gatehouse.db`, LOG_LEVEL: 'silent' };
  t.equal((await cli(['migrate'], env, dir)).code, 0);
  for (const jti of ['-Qx3Fh2kLmN0pRs7TuVwXyZ', '--Qx3Fh2kLmN0pRs7TuVwX', '-_9fZk2LmN0pRs7TuVwXyZ1']) {
    for (const argv of [
      ['tokens', 'revoke', jti, '--json'],
      ['tokens', 'revoke', '--json', jti, '--reason', 'leaked'],
      ['--json', 'tokens', 'revoke', '--reason', '-leaked-', jti],
      ['tokens', 'revoke', '--json', '--', jti],
    ]) {
      const r = await cli(argv, env, dir);
      t.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      t.equal(r.code === 0 ? r.json().jti : undefined, jti, `${argv.join(' ')}: the jti is the operand`);
    }
  }
  const audit = (await cli(['audit', '--type', 'access_token.revoked', '--json'], env, dir)).json() as Array<{ detail: { jti: string; reason: string | null } }>;
  t.ok(audit.some((e) => e.detail.jti === '-Qx3Fh2kLmN0pRs7TuVwXyZ' && e.detail.reason === '-leaked-'), 'an option value that starts with "-" stays the option\'s value');

  const real = await runProcess(CLI_JS, ['tokens', 'revoke', '-Zz3Fh2kLmN0pRs7TuVwXyZ', '--json'], env, dir);
  t.equal(real.code, 0, real.stderr);
  t.equal(JSON.parse(real.stdout).jti, '-Zz3Fh2kLmN0pRs7TuVwXyZ');

  // What is still refused: an unknown option in an option's shape, a second operand, a value-less option.
  t.equal((await cli(['tokens', 'revoke', '-Qx3Fh2kLmN0pRs7TuVwXyZ', '--frob'], env, dir)).stderr, 'gatehouse: unknown option "--frob"; see gatehouse tokens revoke --help\n');
  t.equal((await cli(['tokens', 'revoke', '-Qx3Fh2kLmN0pRs7TuVwXyZ', '-Zz3Fh2kLmN0pRs7TuVwXyZ'], env, dir)).stderr, 'gatehouse: unexpected argument "-Zz3Fh2kLmN0pRs7TuVwXyZ"; see gatehouse tokens revoke --help\n');
  t.equal((await cli(['users', 'list', '--offset', '-1'], env, dir)).stderr, 'gatehouse: --offset must be 0 or more; see gatehouse users list --help\n');
  t.equal((await cli(['tokens', 'revoke', '-X'], env, dir)).stderr, 'gatehouse: unknown option "-X"; see gatehouse tokens revoke --help\n');
});

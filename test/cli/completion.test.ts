import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_JS, runProcess } from '../helpers/processes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** `gatehouse completion bash`, loaded into a real bash and asked the way readline asks. */

async function bash(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['--norc', '--noprofile', '-c', script], { cwd, env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

t.test('the bash script registers a completion function that completes nouns, verbs and options', async (t) => {
  const dir = await tempDir(t);
  const printed = await runProcess(CLI_JS, ['completion', 'bash'], {}, dir);
  t.equal(printed.code, 0, printed.stderr);
  const file = join(dir, 'gatehouse.bash');
  await writeFile(file, printed.stdout);

  // Each case: the words typed so far (the last one being completed) → what bash would offer.
  const cases: [string[], string[]][] = [
    [['gatehouse', 'clients', 'cr'], ['create']],
    [['gatehouse', 'cl'], ['clients']],
    [['gatehouse', 'keys', ''], ['list', 'rotate', 'revoke', 'prune', '--json', '--help']],
    [['gatehouse', 'clients', 'create', '--re'], ['--redirect-uri', '--resource']],
    [['gatehouse', 'clients', 'create', '--name', 'Shop', '--pu'], ['--public']],
    [['gatehouse', 'clients', 'create', '--name', ''], []],
    [['gatehouse', 'users', 'ban', 'a@example.com', '--r'], ['--reason']],
    [['gatehouse', 'audit', '--li'], ['--limit']],
    [['gatehouse', '--json', 'us'], ['users']],
    [['gatehouse', 'completion', ''], ['bash', 'zsh']],
  ];
  const script = [
    `source ${JSON.stringify(file)}`,
    'complete -p gatehouse',
    ...cases.map(([words]) =>
      [`COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`, `COMP_CWORD=${words.length - 1}`, 'COMPREPLY=()', '_gatehouse', 'echo "reply:${COMPREPLY[*]}"'].join('; '),
    ),
  ].join('\n');
  const r = await bash(script, dir);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], 'complete -o default -F _gatehouse gatehouse', 'registered for the gatehouse command');
  const replies = lines.slice(1).map((l) => l.replace(/^reply:/, '').split(' ').filter(Boolean));
  cases.forEach(([words, expected], i) => t.same(replies[i], expected, `${words.join(' ')}<TAB>`));
});

t.test('the script follows the commands: every noun, verb and option is in it', async (t) => {
  const dir = await tempDir(t);
  const help = JSON.parse((await runProcess(CLI_JS, ['--help', '--json'], {}, dir)).stdout) as { commands: { command: string; options: Record<string, unknown> }[] };
  const script = (await runProcess(CLI_JS, ['completion', 'bash'], {}, dir)).stdout;
  for (const c of help.commands) {
    for (const word of c.command.split(' ')) t.ok(script.includes(word), `has ${word}`);
    for (const name of Object.keys(c.options)) t.ok(script.includes(`--${name}`), `${c.command}: has --${name}`);
  }
  const json = JSON.parse((await runProcess(CLI_JS, ['completion', 'bash', '--json'], {}, dir)).stdout);
  t.equal(json.shell, 'bash');
  t.equal(json.script, script, 'the same script, inside one JSON document');
  const zsh = await runProcess(CLI_JS, ['completion', 'zsh'], {}, dir);
  t.equal(zsh.code, 0);
  t.match(zsh.stdout, /^autoload -U \+X bashcompinit && bashcompinit\n/, 'zsh loads its bash compatibility layer first');
  t.ok(zsh.stdout.endsWith(script.replace('(bash)', '(zsh)').replace('completion bash)', 'completion zsh)')), 'then the same function');
});

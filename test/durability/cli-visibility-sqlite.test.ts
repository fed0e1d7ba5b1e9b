import t from 'tap';
import { cliVisibility } from './cli-visibility.ts';

// Some thirty CLI processes at 1–3 s each: more than tap's default per-file limit on a loaded machine.
t.setTimeout(600_000);
t.test('sqlite: every CLI write reaches a running server, every server write reaches the CLI', (t) => cliVisibility(t, 'sqlite'));

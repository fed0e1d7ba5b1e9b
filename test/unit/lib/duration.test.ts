import t from 'tap';
import { formatDuration, parseDuration } from '../../../src/lib/duration.ts';

t.test('parses seconds and unit suffixes', async (t) => {
  t.equal(parseDuration('600'), 600);
  t.equal(parseDuration('30s'), 30);
  t.equal(parseDuration('15m'), 900);
  t.equal(parseDuration('1h'), 3600);
  t.equal(parseDuration('14d'), 14 * 86400);
  t.equal(parseDuration(' 2h '), 7200);
  t.equal(parseDuration('0'), 0);
});

t.test('rejects what is not a duration', async (t) => {
  for (const bad of ['', 'abc', '-5', '1.5h', '10 minutes', '1w', '1e3', 'h', '9999999999d']) {
    t.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  }
});

t.test('formats the way an operator writes durations', async (t) => {
  t.equal(formatDuration(900), '15m');
  t.equal(formatDuration(86400 * 14), '14d');
  t.equal(formatDuration(3600), '1h');
  t.equal(formatDuration(61), '61s');
});

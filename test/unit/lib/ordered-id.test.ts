import t from 'tap';
import { orderedId } from '../../../src/lib/random.ts';

t.test('ids made in the same millisecond sort in creation order', async (t) => {
  const ids = Array.from({ length: 1000 }, () => orderedId(1_800_000_000_000));
  t.same([...ids].sort(), ids, 'string order is creation order');
  t.equal(new Set(ids).size, ids.length, 'all distinct');
});

t.test('a later millisecond sorts after every id of an earlier one', async (t) => {
  const early = Array.from({ length: 5 }, () => orderedId(1_800_000_000_100));
  const late = orderedId(1_800_000_000_101);
  t.ok(early.every((id) => id < late));
  t.match(late, /^[0-9a-f]{18}-[0-9a-f]{16}$/);
});

t.test('a clock that steps back does not reorder ids', async (t) => {
  const first = orderedId(1_800_000_001_000);
  const second = orderedId(1_800_000_000_000);
  t.ok(first < second);
});

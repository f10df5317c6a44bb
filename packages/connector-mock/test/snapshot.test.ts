import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '../src/index.js';

describe('InMemoryCrm.snapshot (all-or-none writes)', () => {
  it('puts inserts, updates, deletes and unique keys back as they were', () => {
    const clock = new ManualClock('2024-06-01T00:00:00.000Z');
    const crm = new InMemoryCrm({ clock });
    const kept = crm.insert('contact', { lastName: 'Kept', externalKey: 'k1' });
    const binned = crm.insert('contact', { lastName: 'Binned', externalKey: 'k2' });
    if (!kept.ok || !binned.ok) throw new Error('seed failed');
    crm.delete('contact', binned.id);
    const before = crm.get('contact', kept.id)!.changedAt;
    const restore = crm.snapshot();
    clock.advance(60_000);
    const added = crm.insert('contact', { lastName: 'Added', externalKey: 'k3' });
    crm.update('contact', kept.id, { lastName: 'Changed', externalKey: 'k9' });
    crm.undelete('contact', binned.id);
    restore();
    expect(added.ok && crm.get('contact', added.id)).toBeFalsy();
    expect(crm.count('contact')).toBe(1);
    expect(crm.get('contact', kept.id)).toMatchObject({ changedAt: before, values: { lastName: 'Kept', externalKey: 'k1' } });
    expect(crm.get('contact', binned.id)).toBeUndefined();
    // Unique indexes follow: the old key is taken again, the rolled-back ones are free.
    expect(crm.findBy('contact', 'externalKey', 'k1').map((r) => r.id)).toEqual([kept.id]);
    expect(crm.insert('contact', { lastName: 'New', externalKey: 'k9' }).ok).toBe(true);
    expect(crm.insert('contact', { lastName: 'Dup', externalKey: 'k1' })).toMatchObject({ ok: false, reject: { code: 'duplicate' } });
  });
});

/**
 * A MockConnector whose `contact` pages are generated on request instead of read from an in-memory
 * CRM holding every record: the process then holds only the pages in flight, so scenario 1 measures
 * the sync process alone (the "a CRM that generates pages without holding them"). Describe,
 * capabilities and the value shapes are the mock's own (canonical instants, date-only texts).
 */
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { ResultAsync } from 'neverthrow';
import { contactValues } from './mock-data.mjs';

const T0 = Date.parse('2024-01-01T00:00:00.000Z');

/** The record `i` of the generated table: id, creation and change times 1 ms apart, the seed values. */
export function generatedContact(i) {
  const stamp = new Date(T0 + i).toISOString();
  return { id: `mock-${String(i).padStart(8, '0')}`, values: { ...contactValues(i), createdAt: stamp, updatedAt: stamp } };
}

/** `count` contacts, generated page by page; other objects and operations are the (empty) mock's. */
export class GeneratedContactsConnector extends MockConnector {
  constructor(count) {
    super(new InMemoryCrm({ clock: new ManualClock('2025-01-01T00:00:00.000Z') }));
    this.count = count;
    this.pagesServed = 0;
  }

  query(request, cursor) {
    if (request.object !== 'contact' || request.filter !== undefined || request.ids !== undefined || request.window !== undefined) return super.query(request, cursor);
    const offset = cursor === undefined ? 0 : Number(cursor);
    const size = Math.min(request.pageSize ?? this.capabilities.defaultPageSize, this.capabilities.maxPageSize);
    const end = Math.min(this.count, offset + size);
    const records = new Array(end - offset);
    const fields = request.fields;
    for (let i = offset; i < end; i += 1) {
      const record = generatedContact(i);
      const values = {};
      for (const name of fields) values[name] = name === 'id' ? record.id : (record.values[name] ?? null);
      records[i - offset] = { id: record.id, values };
    }
    this.pagesServed += 1;
    const serverTime = '2025-01-01T00:00:00.000Z';
    const page = end < this.count ? { records, nextCursor: String(end), serverTime } : { records, serverTime };
    // Answered on the next turn of the event loop, as a CRM over the network would be: a read made
    // only of microtasks would starve timers (the lease renewal, RSS sampling) for the whole import.
    return ResultAsync.fromSafePromise(new Promise((resolve) => setImmediate(() => resolve(page))));
  }
}

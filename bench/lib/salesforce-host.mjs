/**
 * Runs the Salesforce emulator in its own process for the HTTP scenarios, so the CRM's work
 * (SOQL, JSON encoding, inserts) does not share the event loop and the core of the client being
 * measured: on a real org the server is another machine. Driven by IPC from
 * {@link startSalesforceHost} in salesforce-client.mjs; every command answers `{ id, ok, value }`.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';

let emulator;

/**
 * The emulator's request log keeps paths without their query string; the benchmark baselines need
 * the exact SOQL crm-sync sent, so the host notes the first query URL of each run as it arrives.
 */
let firstQueryUrl;
/**
 * Arrival and answer times of every request at sub-millisecond resolution (the emulator's own log
 * has the arrival only, to the millisecond); scenario 6 needs when each 429 was answered.
 */
let wire = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, request, response, ...rest) {
  if (event === 'request') {
    if (firstQueryUrl === undefined && request.url?.includes('/query?q=')) firstQueryUrl = request.url;
    const record = { path: request.url?.split('?')[0], arrivedAt: performance.timeOrigin + performance.now(), answeredAt: undefined, status: 0 };
    wire.push(record);
    response.on('finish', () => {
      record.answeredAt = performance.timeOrigin + performance.now();
      record.status = response.statusCode;
    });
  }
  return emit.call(this, event, request, response, ...rest);
};

async function start({ latencyMs = 0, faults = [] } = {}) {
  await emulator?.close();
  wire = [];
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
  emulator = await startSalesforceEmulator({ crm, latencyMs, faults });
  emulator.clock = clock;
  return { url: emulator.url, accessToken: emulator.issueAccessToken() };
}

/** Inserts `count` contacts, 1 ms apart, with realistic values. */
function seed({ count }) {
  for (let i = 0; i < count; i += 1) {
    const outcome = emulator.crm.insert('Contact', {
      FirstName: `First${i % 997}`,
      LastName: `Last-${i}`,
      Email: `person.${i}@example.com`,
      Phone: `+1 415 555 ${String(i % 10000).padStart(4, '0')}`,
      Birthdate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
      Score__c: (i % 1000) / 10,
      DoNotCall: i % 7 === 0,
      Sync_Key__c: `seed-${i}`,
    });
    if (!outcome.ok) throw new Error(`[crm-sync] [bench] seeding Contact ${i} was rejected: ${outcome.reject.message}`);
    emulator.clock.advance(1);
  }
  // Every record is in the past of the server clock, so an incremental window (now - safety lag) covers them all.
  emulator.clock.advance(3_600_000);
  return emulator.crm.count('Contact');
}

/** Inserts `count` more contacts 1 ms apart (changes for an incremental run), then moves the clock on by `thenMs`. */
function insertContacts({ count, from, thenMs = 60_000 }) {
  for (let i = 0; i < count; i += 1) {
    const n = from + i;
    const outcome = emulator.crm.insert('Contact', { FirstName: `New${n}`, LastName: `Changed-${n}`, Email: `new.${n}@example.com`, Sync_Key__c: `new-${n}` });
    if (!outcome.ok) throw new Error(`[crm-sync] [bench] inserting Contact ${n} was rejected: ${outcome.reject.message}`);
    emulator.clock.advance(1);
  }
  emulator.clock.advance(thenMs);
  return emulator.crm.count('Contact');
}

const commands = {
  start,
  seed,
  insertContacts,
  count: () => emulator.crm.count('Contact'),
  /** A fresh access token (a connector's close() may revoke the one it was given). */
  issueToken: () => emulator.issueAccessToken(),
  /** Deletes every contact (a fresh table for the next export run). */
  clearContacts: () => {
    for (const record of [...emulator.crm.records('Contact')]) emulator.crm.delete('Contact', record.id);
    return emulator.crm.count('Contact');
  },
  resetCounters: () => {
    firstQueryUrl = undefined;
    wire = [];
    emulator.resetCounters();
  },
  firstQueryUrl: () => firstQueryUrl,
  apiCalls: () => emulator.apiCalls,
  wireLog: () => wire,
  requestLog: () => emulator.requestLog.map((entry) => ({ ...entry })),
  setFaults: ({ faults }) => {
    emulator.faults.clear();
    if (faults.length > 0) emulator.faults.add(...faults);
  },
  rss: () => Math.round(process.resourceUsage().maxRSS / 1024),
  /** CPU time (user + system, ms) this emulator process has used so far: the server's share of a run. */
  cpuMs: () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  },
  close: async () => {
    await emulator?.close();
    emulator = undefined;
  },
};

process.on('message', async (message) => {
  try {
    const value = await commands[message.command](message.args);
    process.send({ id: message.id, ok: true, value });
  } catch (error) {
    process.send({ id: message.id, ok: false, error: error instanceof Error ? error.stack : String(error) });
  }
});

// The scenario process owns this one: when it goes (even by a crash), so does the emulator.
process.on('disconnect', () => process.exit(0));

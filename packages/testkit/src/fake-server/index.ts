/**
 * `@crm-sync/testkit/fake-server`: a small kit for writing an HTTP fake of a CRM for a connector's
 * tests: an in-memory record store with server-assigned ids and change times, keyset and
 * opaque-cursor paging, a deletion log with retention, a token issuer with expiry, a fault queue
 * (status codes, headers, latency, resets after commit) and a request log, on 127.0.0.1.
 *
 * @packageDocumentation
 */
export { FakeRecordStore, type FakeDeletion, type FakeRecord, type FakeRecordStoreOptions, type FakeValue } from './store.js';
export { compareFakeValues, compareSortKeys, cursorPage, decodeFakeCursor, encodeFakeCursor, keysetPage, type FakePage, type FakeSortKey } from './paging.js';
export { FakeTokenIssuer, type FakeToken, type FakeTokenIssuerOptions, type FakeTokenState } from './tokens.js';
export { FakeFaultQueue, json, startFakeServer, type FakeFault, type FakeHandler, type FakeLogEntry, type FakeRequest, type FakeResponse, type FakeServer } from './server.js';
export { resetAtHeader } from './rate-limit.js';

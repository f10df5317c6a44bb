/**
 * Keeps a mock CRM's records in a JSON file between `crm-sync` processes, so that two successive
 * commands (or a killed export and its resume) see the same CRM. The file holds every record,
 * live or recycle-binned, with its id and timestamps; loading replays them through the engine's
 * public API, so the engine's checks and indexes stay its own.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FieldValues, Instant } from '@crm-sync/sdk';
import type { InMemoryCrm } from '@crm-sync/connector-mock';
import { err, ok, type Result } from 'neverthrow';

const FORMAT = 'crm-sync-mock-crm/1';

interface SavedRecord {
  readonly id: string;
  readonly values: FieldValues;
  readonly changedAt: Instant;
  readonly createdAt: Instant;
  readonly deletedAt?: Instant;
}

interface SavedCrm {
  readonly format: string;
  readonly savedAt: Instant;
  /** The CRM clock when saved: a manual clock resumes after it. */
  readonly clockAt?: Instant;
  readonly objects: Record<string, SavedRecord[]>;
}

/** Writes every record of `crm` to `path` atomically (temporary file, then rename). */
export function saveMockCrm(crm: InMemoryCrm, path: string): void {
  const objects: Record<string, SavedRecord[]> = {};
  for (const summary of crm.listObjects()) {
    objects[summary.name] = crm.records(summary.name, { includeDeleted: true }).map((record) => ({
      id: record.id,
      values: record.values,
      changedAt: record.changedAt,
      createdAt: record.createdAt,
      ...(record.deletedAt !== undefined ? { deletedAt: record.deletedAt } : {}),
    }));
  }
  const saved: SavedCrm = { format: FORMAT, savedAt: new Date().toISOString(), clockAt: crm.clock.now().toISOString(), objects };
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(saved));
  renameSync(temporary, path);
}

/** The CRM clock a saved file was written at, if the file exists and says. */
export function savedClock(path: string): Instant | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as SavedCrm).clockAt;
  } catch {
    return undefined;
  }
}

/**
 * Loads `path` into an empty `crm`. `ok(false)` when there is no file yet; an error text when
 * the file is not a saved mock CRM or a record does not fit the schema any more.
 */
export function loadMockCrm(crm: InMemoryCrm, path: string): Result<boolean, string> {
  if (!existsSync(path)) return ok(false);
  let saved: SavedCrm;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as SavedCrm;
  } catch (thrown) {
    return err(`${path} is not valid JSON (${thrown instanceof Error ? thrown.message : String(thrown)}); delete it to start from fresh sample data`);
  }
  if (saved.format !== FORMAT || typeof saved.objects !== 'object') {
    return err(`${path} is not a saved mock CRM (format ${FORMAT}); delete it to start from fresh sample data`);
  }
  for (const [object, records] of Object.entries(saved.objects)) {
    const schema = crm.schema(object);
    if (schema === undefined) continue;
    // Only fields an insert may set: ids, stamps and computed fields come back from the engine.
    const writable = new Set(schema.fields.filter((field) => field.createable && !field.primaryKey).map((field) => field.name));
    for (const record of records) {
      const values = Object.fromEntries(Object.entries(record.values).filter(([name]) => writable.has(name)));
      const outcome = crm.insert(object, values, { id: record.id, at: record.createdAt });
      if (!outcome.ok) return err(`${path}: ${object} ${record.id} cannot be restored: ${outcome.reject.message}; delete the file to start from fresh sample data`);
      if (record.changedAt !== record.createdAt) crm.stampChange(object, record.id, record.changedAt);
      if (record.deletedAt !== undefined) crm.delete(object, record.id, { at: record.deletedAt });
    }
  }
  return ok(true);
}

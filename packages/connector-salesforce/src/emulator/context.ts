/**
 * What every emulator route shares: the engine, issued tokens, open query locators and bulk jobs,
 * plus the Salesforce JSON encoding of records and the shape of an answer.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { InMemoryCrm, StoredRecord } from '@crm-sync/connector-mock';
import { parseInstant, type FieldDescription, type FieldValue, type FieldValues, type ObjectDescription } from '@crm-sync/sdk';
import type { EmulatorFault } from './faults.js';

/** Credentials the token endpoint accepts. Unset members accept anything. */
export interface EmulatorCredentials {
  readonly username?: string;
  /** The password with the security token appended, as Salesforce expects it. */
  readonly password?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** An access token valid from the start (for `access-token` auth). */
  readonly accessToken?: string;
  /** Issue refresh tokens with the password flow, and rotate them on every refresh. */
  readonly rotateRefreshTokens?: boolean;
}

/** One answer of a route. */
export interface RouteAnswer {
  readonly status: number;
  /** JSON value (sent with `application/json`) or text. */
  readonly body?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers?: Record<string, string>): RouteAnswer {
  return { status, body, ...(headers ? { headers } : {}) };
}

/** A Salesforce error answer: `[{ message, errorCode, fields? }]`. */
export function sfError(status: number, errorCode: string, message: string, fields?: readonly string[]): RouteAnswer {
  return json(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]);
}

/** A query result set held between pages. */
interface OpenQuery {
  readonly object: string;
  readonly rows: readonly Record<string, unknown>[];
  readonly batchSize: number;
}

/** A Bulk API 2.0 ingest job. */
export interface IngestJob {
  readonly id: string;
  readonly object: string;
  readonly operation: string;
  readonly externalIdFieldName?: string;
  state: string;
  csv?: string;
  createdDate: string;
  successful: Record<string, string>[];
  failed: Record<string, string>[];
  unprocessed: Record<string, string>[];
  columns: string[];
}

/** State shared by the routes of one emulator. */
export class EmulatorContext {
  readonly tokens = new Set<string>();
  readonly refreshTokens = new Set<string>();
  readonly queries = new Map<string, OpenQuery>();
  readonly jobs = new Map<string, IngestJob>();
  /** REST calls counted against the daily limit (token and versions calls excluded). */
  apiCalls = 0;
  /** How far behind the clock `getDeleted`/`getUpdated` replication runs, in ms (the current minute is never covered). */
  replicationLagMs = 0;
  /** Scripted `lock-row` fault for the current collections request. */
  lockItem: EmulatorFault | undefined;
  private sequence = 0;

  constructor(
    readonly crm: InMemoryCrm,
    readonly credentials: EmulatorCredentials,
    readonly dailyApiLimit: number,
    public instanceUrl: string,
  ) {
    if (credentials.accessToken) this.tokens.add(credentials.accessToken);
  }

  /** A fresh opaque token (`00D...!...`). */
  newToken(): string {
    return `00DEMU0000000001!${randomBytes(24).toString('base64url')}`;
  }

  /** A fresh id with a prefix, e.g. `01g` (query locator) or `750` (bulk job); 18 characters. */
  newId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}EMU${String(this.sequence).padStart(12 - prefix.length + 3, '0')}`.slice(0, 18);
  }

  /** The engine's description, or `undefined`. */
  describe(object: string): ObjectDescription | undefined {
    return this.crm.describe(object);
  }
}

/** `2024-05-20T20:49:32.000+0000`, Salesforce's REST date-time format. */
export function salesforceDateTime(instant: string): string {
  return instant.replace(/Z$/, '+0000');
}

/** Values as the engine stores them plus what Salesforce computes (IsDeleted, Contact/Lead Name). */
export function materialize(record: StoredRecord, description: ObjectDescription): FieldValues {
  const values: FieldValues = { ...record.values, IsDeleted: record.deletedAt !== undefined };
  if (!description.fields.some((f) => f.name === 'Name' && f.createable) && ('LastName' in values)) {
    values.Name = [values.FirstName, values.LastName].filter((v) => v !== null && v !== undefined && v !== '').join(' ');
  }
  return values;
}

/** One record as REST JSON: `attributes` first, then the selected fields. */
export function recordJson(object: string, apiVersion: string, id: string, values: FieldValues, fields: readonly FieldDescription[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: object, url: `/services/data/v${apiVersion}/sobjects/${object}/${id}` } };
  for (const field of fields) {
    const value = values[field.name] ?? null;
    out[field.name] = field.type === 'datetime' && typeof value === 'string' ? salesforceDateTime(value) : value;
  }
  return out;
}

/** Field types whose empty text Salesforce stores as null. */
const TEXT_TYPES = new Set(['string', 'text', 'email', 'phone', 'url', 'picklist', 'multipicklist']);

/**
 * Turns written JSON values into the engine's canonical values: date-times in any ISO form become
 * canonical instants, an empty text becomes null (Salesforce stores no empty strings); `attributes`
 * and unknown keys pass through for the engine to refuse.
 */
export function canonicalValues(description: ObjectDescription, input: Readonly<Record<string, unknown>>): FieldValues {
  const fields = new Map(description.fields.map((f) => [f.name, f]));
  const out: FieldValues = {};
  for (const [name, raw] of Object.entries(input)) {
    if (name === 'attributes') continue;
    const field = fields.get(name);
    let value = raw as FieldValue;
    if (field?.type === 'datetime' && typeof value === 'string') value = parseInstant(value) ?? value;
    if (field !== undefined && value === '' && TEXT_TYPES.has(field.type)) value = null;
    out[name] = value;
  }
  return out;
}

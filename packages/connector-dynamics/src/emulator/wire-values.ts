/**
 * Values between the engine (canonical crm-sync values) and the Web API JSON the emulator sends
 * and receives. Dataverse keeps date-times to the second and renders them `YYYY-MM-DDTHH:mm:ssZ`;
 * the emulator does the same, and filters and sorts over the rendered row, so a client's keyset
 * built from what it read always matches what the server compares.
 *
 * @module
 */
import { parseInstant, toInstant, type FieldDescription, type FieldValue } from '@crm-sync/sdk';

/** Renders an engine value as Dataverse JSON. */
export function toWire(field: FieldDescription, value: FieldValue | undefined): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'datetime': {
      if (typeof value !== 'string') return null;
      if (field.timeSemantics === 'floating') return `${value.slice(0, 19)}Z`;
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? value : `${new Date(ms).toISOString().slice(0, 19)}Z`;
    }
    case 'date':
      return typeof value === 'string' ? value.slice(0, 10) : null;
    case 'picklist':
      return Number(value);
    case 'multipicklist':
      return String(value).split(';').join(',');
    default:
      return value;
  }
}

/** Why a Web API value cannot be stored, or the engine value. */
type FromWireResult = { readonly ok: true; readonly value: FieldValue } | { readonly ok: false; readonly message: string };

/** Reads a Dataverse JSON value into an engine value (seconds precision for date-times). */
export function fromWire(field: FieldDescription, raw: unknown): FromWireResult {
  if (raw === null) return { ok: true, value: null };
  const invalid = (expected: string): FromWireResult => ({
    ok: false,
    message: `Cannot convert the literal '${String(raw)}' to the expected type '${expected}'.`,
  });
  switch (field.type) {
    case 'datetime': {
      if (typeof raw !== 'string') return invalid('Edm.DateTimeOffset');
      if (field.timeSemantics === 'floating') {
        const wall = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)/.exec(raw)?.[1];
        return wall === undefined ? invalid('Edm.DateTimeOffset') : { ok: true, value: `${wall.length === 16 ? `${wall}:00` : wall}.000` };
      }
      // No offset means UTC for Web API writes, as Dataverse documents.
      const instant = parseInstant(/(Z|[+-]\d{2}:?\d{2})$/.test(raw) ? raw : `${raw}Z`);
      if (instant === undefined) return invalid('Edm.DateTimeOffset');
      return { ok: true, value: toInstant(Math.floor(Date.parse(instant) / 1000) * 1000) };
    }
    case 'date':
      return typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw) ? { ok: true, value: raw } : invalid('Edm.Date');
    case 'picklist':
      return typeof raw === 'number' && Number.isInteger(raw) ? { ok: true, value: String(raw) } : invalid('Edm.Int32');
    case 'multipicklist':
      return typeof raw === 'string' ? { ok: true, value: raw.split(',').map((item) => item.trim()).join(';') } : invalid('Edm.String');
    case 'integer':
      return typeof raw === 'number' && Number.isInteger(raw) ? { ok: true, value: raw } : invalid('Edm.Int32');
    case 'decimal':
    case 'currency':
    case 'percent':
      return typeof raw === 'number' && Number.isFinite(raw) ? { ok: true, value: raw } : invalid('Edm.Decimal');
    case 'boolean':
      return typeof raw === 'boolean' ? { ok: true, value: raw } : invalid('Edm.Boolean');
    case 'id':
    case 'reference':
      return typeof raw === 'string' && /^[0-9a-fA-F-]{36}$/.test(raw) ? { ok: true, value: raw.toLowerCase() } : invalid('Edm.Guid');
    default:
      return typeof raw === 'string' ? { ok: true, value: raw } : invalid('Edm.String');
  }
}

/**
 * The engine's canonical rejects as Dataverse errors: HTTP status, hex code and message.
 *
 * @module
 */
import type { Reject } from '@crm-sync/sdk';
import { errorResponse, type EmulatorResponse } from './http-types.js';

/** Dataverse codes the emulator answers with. */
export const EMULATOR_CODES = {
  objectDoesNotExist: '0x80040217',
  duplicateRecord: '0x80040237',
  requiredFieldMissing: '0x80040200',
  validationLength: '0x80044331',
  invalidArgument: '0x80040203',
  /**
   * OData URI / query errors: unknown property in `$select`/`$filter`/`$orderby`, incompatible
   * operand types, and an unknown property in a write body. Microsoft's client-error list
   * ("Troubleshoot Dataverse Web API client errors") shows code `0x0` for these; some clients
   * quote `0x80060888` from live services, so clients must not rely on the code.
   */
  invalidProperty: '0x0',
  /** "Resource not found for the segment ..." (Microsoft's Web API client-error list). */
  unknownSegment: '0x8006088a',
  /** "Error identified in Payload provided by the user for Entity ..." (Microsoft's Web API client-error list). */
  payloadError: '0x80048d19',
  /** What the emulator answers (HTTP 501) for a documented Dataverse feature it does not implement. */
  notImplementedByEmulator: '0x80040216',
  pluginBusinessError: '0x80040265',
  concurrencyVersionMismatch: '0x80060882',
  privilegeDenied: '0x80040220',
  sqlDeadlock: '0x80044150',
  changeTrackingTokenExpired: '0x80044352',
  requestsLimit: '0x80072322',
} as const;

/** Maps an engine reject to the Dataverse answer for the write that caused it. */
export function rejectResponse(reject: Reject, entity: string, id?: string): EmulatorResponse {
  const field = reject.fields?.[0];
  switch (reject.code) {
    case 'duplicate':
      return errorResponse(412, EMULATOR_CODES.duplicateRecord, 'A record with matching key values already exists.');
    case 'required-field-missing':
      return errorResponse(400, EMULATOR_CODES.requiredFieldMissing, `The '${field ?? 'unknown'}' attribute is required and cannot be empty. ${reject.message}`);
    case 'validation':
      return errorResponse(400, reject.symbol?.startsWith('0x') ? reject.symbol : EMULATOR_CODES.pluginBusinessError, reject.message);
    case 'invalid-field':
      return errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${field ?? 'unknown'}' on type 'Microsoft.Dynamics.CRM.${entity}'.`);
    case 'invalid-value':
      return /length|long/i.test(reject.message)
        ? errorResponse(400, EMULATOR_CODES.validationLength, `A validation error occurred. The length of the '${field ?? 'unknown'}' attribute of the '${entity}' entity exceeded the maximum allowed length.`)
        : errorResponse(400, EMULATOR_CODES.invalidArgument, reject.message);
    case 'not-found':
    case 'deleted-in-crm':
      return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${entity} With Id = ${id ?? 'unknown'} Does Not Exist`);
    case 'conflict':
      return errorResponse(412, EMULATOR_CODES.concurrencyVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
    case 'permission':
      return errorResponse(403, EMULATOR_CODES.privilegeDenied, 'The user does not hold the necessary privileges.');
    case 'locked':
      return errorResponse(500, EMULATOR_CODES.sqlDeadlock, 'Generic SQL error.');
    default:
      return errorResponse(400, EMULATOR_CODES.invalidArgument, reject.message);
  }
}

/**
 * A base class with defaults for the optional parts of the contract, so that adding to the
 * contract does not break existing connectors.
 *
 * @module
 */
import { errAsync, type ResultAsync } from 'neverthrow';
import { crmError, type CrmError } from '../errors/crm-error.js';
import { defineCapabilities, type ConnectorCapabilities } from './capabilities.js';
import type { CrmConnector } from './connector.js';
import type { ObjectDescription, ObjectSummary } from './describe.js';
import type {
  CallOptions,
  DeleteBatchRequest,
  DeletedPage,
  DeletedRequest,
  QueryRequest,
  RecordPage,
  UpsertBatchRequest,
  WriteOutcome,
} from './requests.js';

/**
 * Extend this to write a connector: implement `listObjects`, `describe`, `query` and whichever
 * write methods the CRM supports; the others answer `unsupported`.
 */
export abstract class ConnectorBase implements CrmConnector {
  abstract readonly id: string;
  readonly capabilities: ConnectorCapabilities;

  protected constructor(capabilities: Partial<ConnectorCapabilities> = {}) {
    this.capabilities = defineCapabilities(capabilities);
  }

  abstract listObjects(options?: CallOptions): ResultAsync<readonly ObjectSummary[], CrmError>;
  abstract describe(object: string, options?: CallOptions): ResultAsync<ObjectDescription, CrmError>;
  abstract query(request: QueryRequest, cursor?: string, options?: CallOptions): ResultAsync<RecordPage, CrmError>;

  upsertBatch(_request: UpsertBatchRequest, _options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return this.unsupported('upsertBatch');
  }

  getDeleted(_request: DeletedRequest, _cursor?: string, _options?: CallOptions): ResultAsync<DeletedPage, CrmError> {
    return this.unsupported('getDeleted');
  }

  delete(_request: DeleteBatchRequest, _options?: CallOptions): ResultAsync<readonly WriteOutcome[], CrmError> {
    return this.unsupported('delete');
  }

  async close(): Promise<void> {}

  /** An `unsupported` error naming this connector and the operation. */
  protected unsupported<T>(operation: string): ResultAsync<T, CrmError> {
    return errAsync(
      crmError('unsupported', this.id, `${operation} is not supported by this connector; check its capabilities before calling it`),
    );
  }
}

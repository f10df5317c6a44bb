/**
 * An in-memory {@link OptionStore}, for tests and for applications that keep state elsewhere.
 *
 * @module
 */
import type { Fence, MemoryLeaseStore } from './lease.js';
import type { OptionStore, StoredOption } from './types.js';

/** Options in a `Map`. Lost with the process. */
export class MemoryOptionStore implements OptionStore {
  private readonly options = new Map<string, StoredOption>();

  /**
   * @param now The clock for `updatedAt` (defaults to the system clock).
   * @param leases Checks the fences of fenced writes; without it fences are ignored (no zombie protection).
   */
  constructor(
    private readonly now: () => Date = () => new Date(),
    readonly leases?: MemoryLeaseStore,
  ) {}

  async getOption(name: string): Promise<StoredOption | undefined> {
    return this.options.get(name);
  }

  async setOption(name: string, value: string, meta?: Readonly<Record<string, unknown>>, fence?: Fence): Promise<void> {
    if (fence !== undefined) this.leases?.assertFence(fence);
    this.setOptionNow(name, value, meta);
  }

  /**
   * Sets an option synchronously, so that a memory sink can store a checkpoint in the same step as
   * its records (the in-memory stand-in for one transaction).
   */
  setOptionNow(name: string, value: string, meta?: Readonly<Record<string, unknown>>): void {
    const option: StoredOption = {
      name,
      value,
      updatedAt: this.now().toISOString(),
      ...(meta === undefined ? {} : { meta: structuredClone(meta) }),
    };
    this.options.set(name, option);
  }

  async listOptions(prefix = ''): Promise<readonly StoredOption[]> {
    return [...this.options.values()]
      .filter((option) => option.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteOption(name: string, fence?: Fence): Promise<void> {
    if (fence !== undefined) this.leases?.assertFence(fence);
    this.options.delete(name);
  }
}

/**
 * Builds the `RuntimeConnector` of a container from its registrations.
 *
 * @module
 */
import './reflect.js';
import { inject, injectable } from 'tsyringe';
import type { CrmConnector } from '../contract/connector.js';
import type { Logger } from '../runtime/logger.js';
import { RuntimeConnector } from '../runtime/runtime-connector.js';
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import { TOKENS, type Clock } from './tokens.js';

/**
 * Wraps the registered connector in a {@link RuntimeConnector}, with the registered options,
 * logger and clock. Resolvable through DI (every constructor parameter has an explicit token) and
 * usable without it: `new RuntimeConnectorFactory(connector, {}, logger, systemClock)`.
 */
@injectable()
export class RuntimeConnectorFactory {
  constructor(
    @inject(TOKENS.Connector) private readonly connector: CrmConnector,
    @inject(TOKENS.RuntimeOptions) private readonly options: RuntimeOptions,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  /** A new wrapper; `overrides` (e.g. a run's abort signal) win over the registered options. */
  create(overrides: RuntimeOptions = {}): RuntimeConnector {
    return new RuntimeConnector(this.connector, {
      logger: this.logger,
      now: () => this.clock.now(),
      ...this.options,
      ...overrides,
    });
  }
}

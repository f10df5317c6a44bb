/**
 * Salesforce and Dynamics connectors, loaded on demand from their packages, with the account's
 * settings mapped onto each package's configuration.
 *
 * @module
 */
import type { CrmConnector } from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import type { DynamicsAccount, SalesforceAccount } from '../accounts/account-schema.js';
import { describeThrown, invalidInput, runFailed, type CliError } from '../cli-error.js';
import { importOptional, type ConnectorOpenContext, type OpenedConnector } from './registry.js';

const SALESFORCE_PACKAGE = '@crm-sync/connector-salesforce';
const DYNAMICS_PACKAGE = '@crm-sync/connector-dynamics';

/** The message for a connector package that cannot be loaded. */
function notAvailable(id: string, packageName: string): CliError {
  return invalidInput(
    `[${id}] the ${id} connector is not available: package ${packageName} is not installed or not built yet. Install it (pnpm add ${packageName}) or, in this repository, run pnpm build; the mock connector works meanwhile (connector: mock)`,
  );
}

/** Salesforce settings to the connector's configuration; the sign-in flow follows from the keys given. */
function salesforceConfig(account: SalesforceAccount): Result<Record<string, unknown>, string> {
  const common = {
    ...(account.instanceUrl !== undefined ? { instanceUrl: account.instanceUrl } : {}),
    ...(account.loginUrl !== undefined ? { loginUrl: account.loginUrl } : {}),
    ...(account.apiVersion !== undefined ? { apiVersion: account.apiVersion } : {}),
  };
  if (account.accessToken !== undefined) {
    if (account.instanceUrl === undefined) return err('accessToken needs instanceUrl (https://<your-domain>.my.salesforce.com)');
    return ok({ ...common, auth: { kind: 'access-token', accessToken: account.accessToken } });
  }
  if (account.username !== undefined && account.password !== undefined) {
    return ok({
      ...common,
      auth: {
        kind: 'password',
        username: account.username,
        password: account.password,
        ...(account.securityToken !== undefined ? { securityToken: account.securityToken } : {}),
        ...(account.clientId !== undefined ? { clientId: account.clientId } : {}),
        ...(account.clientSecret !== undefined ? { clientSecret: account.clientSecret } : {}),
      },
    });
  }
  if (account.clientId !== undefined && account.username !== undefined && account.privateKey !== undefined) {
    return ok({ ...common, auth: { kind: 'jwt', clientId: account.clientId, username: account.username, privateKey: account.privateKey } });
  }
  if (account.clientId !== undefined && account.clientSecret !== undefined) {
    return ok({ ...common, auth: { kind: 'client-credentials', clientId: account.clientId, clientSecret: account.clientSecret } });
  }
  return err(
    'no way to sign in: give instanceUrl + accessToken, or username + password (+ securityToken), or clientId + clientSecret (client credentials), or clientId + username + privateKey(File) (JWT)',
  );
}

/** Dynamics settings to the connector's configuration. */
function dynamicsConfig(account: DynamicsAccount): Result<Record<string, unknown>, string> {
  const certificate =
    account.certificateThumbprint !== undefined && account.certificatePrivateKey !== undefined
      ? { certificate: { thumbprintSha256: account.certificateThumbprint, privateKey: account.certificatePrivateKey } }
      : undefined;
  if (account.clientSecret === undefined && certificate === undefined) {
    return err('give clientSecret, or certificateThumbprint + certificatePrivateKey(File)');
  }
  return ok({
    orgUrl: account.orgUrl,
    tenantId: account.tenantId,
    clientId: account.clientId,
    ...(account.clientSecret !== undefined ? { clientSecret: account.clientSecret } : {}),
    ...(certificate ?? {}),
    ...(account.authorityHost !== undefined ? { authority: `${account.authorityHost.replace(/\/$/, '')}/${account.tenantId}` } : {}),
    ...(account.apiVersion !== undefined ? { apiVersion: account.apiVersion } : {}),
  });
}

/** Opens a Salesforce connector from the account's settings. */
export async function openSalesforceConnector(context: ConnectorOpenContext): Promise<Result<OpenedConnector, CliError>> {
  const config = salesforceConfig(context.account.settings as unknown as SalesforceAccount);
  if (config.isErr()) return err(invalidInput(`[salesforce] account "${context.account.name}" (${context.account.origin}): ${config.error}`));
  return openVendor(context, SALESFORCE_PACKAGE, 'salesforce', 'SalesforceConnector', config.value);
}

/** Opens a Dynamics 365 connector from the account's settings. */
export async function openDynamicsConnector(context: ConnectorOpenContext): Promise<Result<OpenedConnector, CliError>> {
  const config = dynamicsConfig(context.account.settings as unknown as DynamicsAccount);
  if (config.isErr()) return err(invalidInput(`[dynamics] account "${context.account.name}" (${context.account.origin}): ${config.error}`));
  return openVendor(context, DYNAMICS_PACKAGE, 'dynamics', 'DynamicsConnector', config.value);
}

/**
 * Builds the connector `className` of `packageName` with `config`, through its
 * `create<ClassName>(config)` factory (a `Result`) when the package has one, else its constructor.
 * A missing package or class means "not available"; a factory error or a throw means bad settings.
 */
export async function openVendor(
  context: Pick<ConnectorOpenContext, 'account' | 'logger'>,
  packageName: string,
  id: string,
  className: string,
  config: Record<string, unknown>,
): Promise<Result<OpenedConnector, CliError>> {
  let module: Record<string, unknown> | undefined;
  try {
    module = await importOptional(packageName);
  } catch (thrown) {
    return err(runFailed(`[${id}] package ${packageName} is installed but failed to load: ${describeThrown(thrown)}; reinstall or rebuild it (pnpm build)`));
  }
  const factory = module?.[className];
  if (typeof factory !== 'function') return err(notAvailable(id, packageName));
  const create = module?.[`create${className}`];
  try {
    const built =
      typeof create === 'function'
        ? await fromResult((create as (config: unknown) => unknown)({ ...config, logger: context.logger }))
        : await buildConnector(factory, { ...config, logger: context.logger });
    if (built.isErr()) return err(invalidInput(`[${id}] account "${context.account.name}" (${context.account.origin}): ${withoutPrefix(built.error)}`));
    const connector = built.value;
    return ok({ connector, notes: [], close: async () => connector.close?.() });
  } catch (thrown) {
    return err(invalidInput(`[${id}] account "${context.account.name}" (${context.account.origin}): ${withoutPrefix(describeThrown(thrown))}`));
  }
}

/** The connector's own `[crm-sync] [<id>] ` prefix, which the CLI's message already carries. */
function withoutPrefix(message: string): string {
  return message.replace(/^\[crm-sync\] \[[^\]]+\] /, '');
}

/** The connector inside a `Result` (or the connector itself). */
async function fromResult(value: unknown): Promise<Result<CrmConnector, string>> {
  const settled = await value;
  if (isResult(settled)) return settled.isErr() ? err(describeThrown(settled.error)) : asConnector(settled.value);
  return asConnector(settled);
}

/** A class with a static `create(config)` returning a Result, or a plain constructor. */
async function buildConnector(factory: unknown, config: Record<string, unknown>): Promise<Result<CrmConnector, string>> {
  const create = (factory as { create?: unknown }).create;
  const built: unknown = typeof create === 'function' ? await (create as (config: unknown) => unknown).call(factory, config) : new (factory as new (config: unknown) => unknown)(config);
  if (isResult(built)) return built.isErr() ? err(describeThrown(built.error)) : asConnector(built.value);
  return asConnector(built);
}

function asConnector(value: unknown): Result<CrmConnector, string> {
  return typeof value === 'object' && value !== null && typeof (value as CrmConnector).describe === 'function'
    ? ok(value as CrmConnector)
    : err('the connector package returned something that is not a connector');
}

function isResult(value: unknown): value is Result<unknown, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { isErr?: unknown }).isErr === 'function';
}

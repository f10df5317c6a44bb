/**
 * What an account may hold, per connector. Accounts live in their own file (or the environment),
 * never in a job file, because they hold secrets.
 *
 * @module
 */
import { z } from 'zod';

/**
 * `maxConcurrentJobs`: jobs of this account running at once across all `crm-sync worker`
 * processes together (the account queue's global concurrency in BullMQ). Without it: 25 for
 * Salesforce (long-running requests per org), 52 for Dynamics (concurrent requests per user), 10
 * for other connectors. Used by workers only; `crm-sync run` ignores it.
 */
export const maxConcurrentJobsSchema = z
  .number({ error: 'expected a whole number >= 1: the jobs of this account running at once across all workers' })
  .int({ error: 'expected a whole number >= 1: the jobs of this account running at once across all workers' })
  .min(1, { error: 'must be at least 1: the jobs of this account running at once across all workers (remove the key for the connector\'s default)' })
  .max(10_000, { error: 'must be at most 10000 jobs at once' });

/** The accounts-file keys every account may have, whatever its connector. */
const commonAccountKeys = { maxConcurrentJobs: maxConcurrentJobsSchema.optional() };

/** A mock CRM account: where its data comes from and, optionally, where it persists. */
export const mockAccountSchema = z.strictObject({
  connector: z.literal('mock'),
  ...commonAccountKeys,
  mock: z
    .strictObject({
      /** `demo`: generated sample contacts and accounts; `empty`: no records. */
      seed: z.enum(['demo', 'empty']).optional(),
      /** A JSON file keeping the mock CRM's state across runs; relative to the accounts file. */
      db: z.string().min(1).optional(),
      /** How many sample contacts `seed: demo` generates. */
      contacts: z.number().int().min(1).max(200_000).optional(),
      /** Milliseconds added before each write call: models a slow network (and lets tests interrupt an export). */
      latencyMs: z.number().int().min(0).max(60_000).optional(),
    })
    .optional(),
});

/** A Salesforce account: one of the four ways to sign in (see docs/cli.md). */
export const salesforceAccountSchema = z.strictObject({
  connector: z.literal('salesforce'),
  ...commonAccountKeys,
  instanceUrl: z.string().url().optional(),
  loginUrl: z.string().url().optional(),
  apiVersion: z.string().regex(/^\d+\.\d$/, { message: 'expected an API version such as 62.0' }).optional(),
  accessToken: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  securityToken: z.string().optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  privateKey: z.string().min(1).optional(),
  privateKeyFile: z.string().min(1).optional(),
});

/** A Dynamics 365 / Dataverse account: an Entra ID application with a secret or a certificate. */
export const dynamicsAccountSchema = z.strictObject({
  connector: z.literal('dynamics'),
  ...commonAccountKeys,
  orgUrl: z.string().url(),
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  certificateThumbprint: z.string().min(1).optional(),
  certificatePrivateKey: z.string().min(1).optional(),
  certificatePrivateKeyFile: z.string().min(1).optional(),
  authorityHost: z.string().url().optional(),
  apiVersion: z.string().optional(),
});

/** Any account of a connector this CLI knows; third-party connectors get their settings as is. */
export const accountSchema = z.union([
  mockAccountSchema,
  salesforceAccountSchema,
  dynamicsAccountSchema,
  z.looseObject({ connector: z.string().min(1).refine((id) => !['mock', 'salesforce', 'dynamics'].includes(id)), ...commonAccountKeys }),
]);

/** A mock account. */
export type MockAccount = z.infer<typeof mockAccountSchema>;
/** A Salesforce account. */
export type SalesforceAccount = z.infer<typeof salesforceAccountSchema>;
/** A Dynamics account. */
export type DynamicsAccount = z.infer<typeof dynamicsAccountSchema>;
/** Any account. */
export type AccountSettings = Readonly<Record<string, unknown>> & { readonly connector: string };

/** Keys whose values are secrets: registered with `registerSecret` as soon as read. */
export const SECRET_ACCOUNT_KEYS: readonly string[] = [
  'accessToken',
  'password',
  'securityToken',
  'clientSecret',
  'privateKey',
  'certificatePrivateKey',
];

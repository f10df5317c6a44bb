/**
 * The job file's shape, as a zod schema: one activity of the seed's "CRM Connector", one to one.
 * The filter is checked separately (see `filter-from-yaml.ts`) because its errors need the seed's
 * rules, not a type mismatch. Documented for users in `docs/cli.md`.
 *
 * @module
 */
import { isValidTimeZone } from '@crm-sync/sdk';
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration.js';

const NAME = /^[A-Za-z0-9_-]+$/;
/** A `maxDeletes` percentage: `10%`, `2.5%`. */
const PERCENTAGE = /^\d+(\.\d+)?%$/;
/** The `confirm` value a delete of every linked row of a table needs. */
export const DELETE_ALL_LINKED_ROWS = 'all-linked-rows';

/** The four operations of the seed's activity. */
export const OPERATIONS = ['import', 'export', 'import-deleted', 'delete'] as const;

/** The conversions of the seed's "Conversion" column. */
export const CONVERSIONS = ['default', 'date-only', 'without-time-offset', 'copy-paste'] as const;

const name = (what: string) =>
  z.string().min(1).regex(NAME, { message: `${what} may use letters, digits, "-" and "_" only` });

const duration = z
  .union([z.string(), z.number()])
  .refine((value) => parseDuration(value) !== undefined, { message: `expected ${DURATION_HINT}` });

const dateOrExpression = z.union([
  z.string().min(1),
  z.strictObject({ expr: z.string().min(1) }),
]);

const fieldSchema = z.strictObject({
  remote: z.string().min(1),
  local: z.string().min(1).optional(),
  conversion: z.enum(CONVERSIONS).optional(),
});

const orderBySchema = z.union([
  z.string().min(1),
  z.strictObject({ field: z.string().min(1), direction: z.enum(['asc', 'desc']).optional() }),
]);

const automaticIndexSchema = z.union([
  z.boolean(),
  z.strictObject({
    enabled: z.boolean().optional(),
    option: z.string().min(1).optional(),
    changeField: z.string().min(1).optional(),
    safetyLag: duration.optional(),
    overlap: duration.optional(),
    initialStart: z.string().min(1).optional(),
  }),
]);

const retrySchema = z.strictObject({
  attempts: z.number().int().min(0).max(100),
  wait: duration,
});

/** The job file schema. */
export const jobFileSchema = z
  .strictObject({
    activity: name('activity'),
    instance: name('instance').optional(),
    connector: z.string().min(1),
    account: z.string().min(1),
    operation: z.enum(OPERATIONS),
    object: z.string().min(1),
    timeZone: z
      .string()
      .refine(isValidTimeZone, { message: 'expected an IANA time zone such as Europe/Amsterdam, America/New_York or UTC' })
      .optional(),
    fields: z.array(fieldSchema).min(1).optional(),
    filter: z.unknown().optional(),
    filterProfile: z.enum(['portable', 'native']).optional(),
    variables: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    orderBy: z.array(orderBySchema).optional(),
    automaticIndex: automaticIndexSchema.optional(),
    ids: z.union([z.string().min(1), z.array(z.union([z.string().min(1), z.number()]))]).optional(),
    pageSize: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).optional(),
    local: z.strictObject({ table: z.string().min(1), key: z.string().min(1).optional() }).optional(),
    confirm: z.literal(DELETE_ALL_LINKED_ROWS).optional(),
    maxDeletes: z
      .union([
        z.number().int().min(1),
        z.string().refine((value) => PERCENTAGE.test(value) && Number(value.slice(0, -1)) > 0 && Number(value.slice(0, -1)) <= 100, {
          message: 'expected a whole number >= 1 (e.g. 500) or a percentage of the object above 0% and at most 100% (e.g. "10%")',
        }),
      ])
      .optional(),
    export: z
      .strictObject({
        mode: z.enum(['insert', 'update', 'upsert', 'auto']).optional(),
        syncKey: z.string().min(1).optional(),
        inDoubtPolicy: z.enum(['stop', 'resend', 'skip']).optional(),
        resendRejected: z.boolean().optional(),
        changedSince: z.string().min(1).optional(),
      })
      .optional(),
    window: z.strictObject({ start: dateOrExpression, end: dateOrExpression.optional() }).optional(),
    behavior: z
      .strictObject({
        processRejects: z.boolean().optional(),
        processErrors: z.union([z.boolean(), z.strictObject({ retry: retrySchema })]).optional(),
      })
      .optional(),
    outputs: z
      .strictObject({
        rejects: z.string().regex(/\.(jsonl|csv)$/i, { message: 'expected a file name ending in .jsonl or .csv' }).optional(),
        errors: z.string().regex(/\.(jsonl|csv)$/i, { message: 'expected a file name ending in .jsonl or .csv' }).optional(),
      })
      .optional(),
  })
  .superRefine((job, context) => {
    const need = (condition: boolean, path: (string | number)[], message: string) => {
      if (!condition) context.addIssue({ code: 'custom', path, message });
    };
    const op = job.operation;
    if (op === 'import' || op === 'export') {
      need(job.fields !== undefined, ['fields'], `is required for operation ${op}: list the fields as { remote, local, conversion }`);
    }
    if (op !== 'delete') {
      need(job.local !== undefined, ['local'], `is required for operation ${op}: name the local table as local: { table: contacts }`);
    }
    if (op === 'import-deleted') {
      need(job.window !== undefined, ['window'], 'is required for operation import-deleted: give window: { start: "2024-01-01", end: "2024-01-15" }');
    }
    if (op === 'delete') {
      need(
        job.ids !== undefined || job.local !== undefined,
        ['ids'],
        'operation delete needs the records to delete: ids (a list or a file of ids, one per line) or local: { table } whose rows carry CRM ids',
      );
    }
    if (job.confirm !== undefined && (op !== 'delete' || job.ids !== undefined)) {
      context.addIssue({ code: 'custom', path: ['confirm'], message: 'only confirms deleting every linked row of local.table (operation delete without ids); remove it', input: job.confirm });
    }
    if (job.maxDeletes !== undefined && op !== 'delete' && op !== 'import-deleted') {
      context.addIssue({ code: 'custom', path: ['maxDeletes'], message: `only applies to operations delete and import-deleted, not ${op}; remove it`, input: job.maxDeletes });
    }
    if (job.export !== undefined && op !== 'export') {
      context.addIssue({ code: 'custom', path: ['export'], message: `only applies to operation export, not ${op}; remove it` });
    }
    if (op === 'import-deleted' && typeof job.automaticIndex === 'object') {
      for (const key of ['changeField', 'safetyLag', 'overlap', 'initialStart'] as const) {
        if (job.automaticIndex[key] !== undefined) {
          context.addIssue({
            code: 'custom',
            path: ['automaticIndex', key],
            message: `only applies to operation import; an import-deleted index takes enabled and option only (window.start serves its first run); remove it`,
          });
        }
      }
    }
    if (job.window !== undefined && op !== 'import-deleted') {
      context.addIssue({ code: 'custom', path: ['window'], message: `only applies to operation import-deleted, not ${op}; remove it` });
    }
    if (job.filter !== undefined && op !== 'import') {
      context.addIssue({ code: 'custom', path: ['filter'], message: `only applies to operation import, not ${op}; remove it` });
    }
    if (job.ids !== undefined && job.filter !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['ids'],
        message: 'record identification (ids) replaces the filter; keep one of ids and filter',
      });
    }
  });

/** A job file after schema validation (filter still raw). */
export type JobFile = z.infer<typeof jobFileSchema>;

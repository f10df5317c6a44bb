/**
 * Generators of hostile filter values for the injection fuzzers: quotes, backslashes, LIKE and URL
 * metacharacters, control characters, lone surrogates, already-quoted values and very long text.
 */
import fc from 'fast-check';

/** Characters with a meaning in SOQL, OData, LIKE patterns or URLs. */
const META = ["'", "''", '"', '\\', "\\'", '%', '_', '&', '#', '+', '/', '?', '=', '(', ')', ',', ';', ' ', '$', '*', '[', ']', '{', '}', ':'];

/** Fragments that try to close the literal and add a clause. */
const ATTACKS = [
  "' OR Name != '",
  "x' or lastname ne 'y",
  "') OR (Id != null",
  '&$top=1',
  '&$filter=true',
  "%27 or 1 eq 1",
  "\\' OR Id != null --",
  "'a'",
  "''a''",
  '"a"',
  'null',
  ' eq null',
  '%00',
  '\u0027',
  '\u202e',
  '\ufeff',
];

/** One control character (C0, DEL, C1). */
const control = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constantFrom(0x7f, 0x85, 0x2028, 0x2029)).map((code) => String.fromCharCode(code));

/** A lone UTF-16 surrogate: not valid text, cannot be percent-encoded. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** One unit of hostile text. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...META) },
  { weight: 2, arbitrary: fc.constantFrom(...ATTACKS) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
  { weight: 2, arbitrary: control },
  { weight: 1, arbitrary: loneSurrogate },
);

/** A hostile string: mostly short mixtures, sometimes already quoted, sometimes very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.array(unit, { maxLength: 12 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.array(unit, { maxLength: 6 }).map((parts) => `'${parts.join('')}'`) },
  { weight: 1, arbitrary: fc.tuple(fc.array(unit, { minLength: 1, maxLength: 4 }), fc.integer({ min: 200, max: 3_000 })).map(([parts, times]) => parts.join('').repeat(times).slice(0, 20_000)) },
);

/** Whether `text` holds a lone surrogate (what a URL cannot carry). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Fuzz cases per compiler in `pnpm test` (the issue asks for 10,000), more in the soak. */
export const FUZZ_RUNS = process.env['CRM_SYNC_SOAK'] === '1' ? 50_000 : 10_000;

/** The fixed seed of the fuzzers, printed by fast-check on failure. */
export const FUZZ_SEED = 20_261_125;

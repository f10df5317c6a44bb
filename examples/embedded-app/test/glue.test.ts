/**
 * The measure of issue 19: the app's glue (src/sync.ts: table declaration, stores, orchestrator,
 * jobs, export callback, rejects, loop) stays under 40 lines, not counting blank lines and comments.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Lines that are neither blank nor only a comment (`//`, or inside a block comment). */
export function glueLines(text: string): string[] {
  let inBlock = false;
  return text.split('\n').filter((raw) => {
    const line = raw.trim();
    if (inBlock) {
      inBlock = !line.includes('*/');
      return false;
    }
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      return false;
    }
    return line !== '' && !line.startsWith('//');
  });
}

describe('the glue of the embedded app', () => {
  it('is under 40 non-blank, non-comment lines', () => {
    const lines = glueLines(readFileSync(new URL('../src/sync.ts', import.meta.url), 'utf8'));
    console.info(`[embedded-app] glue: ${lines.length} lines (src/sync.ts)`);
    expect(lines.length).toBeLessThan(40);
    expect(lines.length).toBeGreaterThan(10); // the count sees the code
  });

  it('counts code, not comments or blank lines', () => {
    expect(glueLines('// a\n\n/** b\n * c\n */\nconst x = 1;\n/* d */\n  return x; // e\n')).toEqual(['const x = 1;', '  return x; // e']);
  });
});

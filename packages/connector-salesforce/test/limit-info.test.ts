import { describe, expect, it } from 'vitest';
import { parseLimitInfo } from '../src/index.js';

describe('parseLimitInfo', () => {
  it('reads api-usage', () => {
    expect(parseLimitInfo('api-usage=18/5000')).toEqual({ used: 18, limit: 5000 });
  });

  it('reads the per-app part with its app name', () => {
    expect(parseLimitInfo('api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)')).toEqual({
      used: 25,
      limit: 5000,
      perApp: { used: 17, limit: 250, app: 'sample-app' },
    });
  });

  it('returns undefined without api-usage', () => {
    expect(parseLimitInfo(undefined)).toBeUndefined();
    expect(parseLimitInfo('per-app-api-usage=1/2')).toBeUndefined();
  });
});

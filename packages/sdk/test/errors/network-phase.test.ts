import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isConnectPhaseFailure, networkFailure } from '../../src/index.js';

const coded = (message: string, code: string, syscall?: string) => Object.assign(new Error(message), { code, ...(syscall ? { syscall } : {}) });

describe('networkFailure', () => {
  it('finds a connect-phase code through undici, jsforce and AggregateError wrappers', () => {
    const refused = coded('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED', 'connect');
    expect(networkFailure(refused)).toEqual({ code: 'ECONNREFUSED', phase: 'connect' });
    expect(networkFailure(new TypeError('fetch failed', { cause: new Error('x', { cause: refused }) }))).toEqual({ code: 'ECONNREFUSED', phase: 'connect' });
    expect(networkFailure(new AggregateError([coded('a', 'ECONNREFUSED', 'connect'), coded('b', 'ENETUNREACH', 'connect')]))?.phase).toBe('connect');
    expect(networkFailure({ name: 'FetchError', errno: 'ENOTFOUND' })).toEqual({ code: 'ENOTFOUND', phase: 'connect' });
    expect(networkFailure(coded('connect ETIMEDOUT', 'ETIMEDOUT', 'connect'))?.phase).toBe('connect');
    expect(networkFailure(coded('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET'))?.phase).toBe('connect');
    expect(isConnectPhaseFailure(coded('self-signed', 'DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(true);
  });

  it('says after-send for a reset, hang-up, read time-out or undici socket error, and nothing for other errors', () => {
    expect(networkFailure(coded('socket hang up', 'ECONNRESET'))).toEqual({ code: 'ECONNRESET', phase: 'after-send' });
    expect(networkFailure(coded('read ETIMEDOUT', 'ETIMEDOUT', 'read'))?.phase).toBe('after-send');
    expect(networkFailure(new TypeError('fetch failed', { cause: coded('other side closed', 'UND_ERR_SOCKET') }))?.phase).toBe('after-send');
    expect(networkFailure(new Error('boom'))).toBeUndefined();
    expect(networkFailure('ECONNREFUSED')).toBeUndefined();
    const cyclic: { cause?: unknown; code: string } = { code: 'EPIPE' };
    cyclic.cause = cyclic;
    expect(networkFailure(cyclic)?.phase).toBe('after-send');
  });

  it("classes a real refused connection (Node's own error) as connect-phase", async () => {
    const error = await new Promise<Error>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: 9 });
      socket.once('error', resolve);
      socket.once('connect', () => {
        socket.destroy();
        resolve(new Error('port 9 accepted a connection'));
      });
    });
    expect(networkFailure(error)?.phase).toBe('connect');
  });
});

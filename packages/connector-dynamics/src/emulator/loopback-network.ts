/**
 * An msal-node network client that only talks to loopback hosts: in tests, any attempt to reach
 * Entra ID or another host on the internet fails loudly instead of leaving the machine.
 *
 * @module
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

/** A loopback-only network client, with the URLs it refused. */
export interface LoopbackNetworkClient extends INetworkModule {
  /** Hosts msal tried to reach that are not loopback (should stay empty). */
  readonly refused: string[];
  /** Every URL msal asked for, with query strings removed. */
  readonly requested: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Creates a client that sends msal's requests with `fetch` to loopback hosts only. */
export function loopbackNetworkClient(): LoopbackNetworkClient {
  const refused: string[] = [];
  const requested: string[] = [];
  async function send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    const target = new URL(url);
    requested.push(`${method} ${target.origin}${target.pathname}`);
    if (!LOOPBACK.has(target.hostname)) {
      refused.push(target.host);
      throw new Error(`[crm-sync] [dynamics] emulator: msal tried to reach ${target.host}; only loopback hosts are allowed in offline tests`);
    }
    const response = await fetch(target, { method, ...(options?.headers ? { headers: options.headers } : {}), ...(method === 'POST' && options?.body !== undefined ? { body: options.body } : {}) });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const text = await response.text();
    return { status: response.status, headers, body: (text === '' ? {} : JSON.parse(text)) as T };
  }
  return {
    refused,
    requested,
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('GET', url, options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}

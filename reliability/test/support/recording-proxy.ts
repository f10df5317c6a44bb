/**
 * A loopback HTTP proxy in front of an emulator that records every URL the CRM side received and
 * every token the CRM side issued. Bodies are buffered whole and the emulator's origin is swapped
 * for the proxy's (and back), so absolute links (`instance_url`, OAuth scopes, next links) keep
 * traffic flowing through the proxy. Hand-written: a test tool of ~80 lines, and the proxies on
 * npm either do TLS interception or stream without letting a test read whole bodies.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A transport fault the proxy plays instead of (or after) forwarding a request. */
export type ProxyFault =
  | { readonly kind: 'answer'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body: string }
  /** The connection drops before the emulator sees the request: nothing committed. */
  | { readonly kind: 'reset-before-commit' }
  /** The emulator handles the request (writes committed), then the connection drops. */
  | { readonly kind: 'reset-after-commit' }
  /** The emulator's answer is cut in half (a truncated JSON body). */
  | { readonly kind: 'truncate' }
  /** The emulator's answer, rewritten: a malformed response. */
  | { readonly kind: 'mutate'; readonly name: string; readonly mutate: (answer: { body: string; contentType: string }) => { body: string; contentType: string } };

/** Decides, per request, whether to inject a fault. */
export type FaultPlan = (request: { readonly method: string; readonly url: string; readonly n: number }) => ProxyFault | undefined;

/** A running recording proxy. */
export interface RecordingProxy {
  /** `http://127.0.0.1:PORT`: give it to the connector instead of the emulator's URL. */
  readonly url: string;
  /** Every request target (path and query string) the emulator received. */
  readonly urls: string[];
  /** Access and refresh tokens found in the emulator's answers. */
  readonly issuedTokens: Set<string>;
  /** Faults injected so far, by kind. */
  readonly injected: Map<string, number>;
  /** Sets (or clears) the fault plan. */
  setFaults(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}

function swapOrigins(text: string, from: string, to: string): string {
  return text.replaceAll(from, to).replaceAll(encodeURIComponent(from), encodeURIComponent(to));
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function withoutLength(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers };
  delete copy['content-length'];
  delete copy['transfer-encoding'];
  return copy;
}

/** Starts a recording proxy for the emulator at `target` (an `http://127.0.0.1:PORT` origin). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const urls: string[] = [];
  const issuedTokens = new Set<string>();
  const targetUrl = new URL(target);
  const injected = new Map<string, number>();
  let plan: FaultPlan | undefined;
  let count = 0;
  let self = '';
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      urls.push(incoming.url ?? '');
      count += 1;
      const fault = plan?.({ method: incoming.method ?? 'GET', url: incoming.url ?? '/', n: count });
      if (fault) injected.set(fault.kind === 'answer' ? `answer ${fault.status}` : fault.kind, (injected.get(fault.kind === 'answer' ? `answer ${fault.status}` : fault.kind) ?? 0) + 1);
      if (fault?.kind === 'answer') {
        await collect(incoming);
        outgoing.writeHead(fault.status, { 'content-length': Buffer.byteLength(fault.body), ...fault.headers });
        outgoing.end(fault.body);
        return;
      }
      if (fault?.kind === 'reset-before-commit') {
        incoming.socket.destroy();
        return;
      }
      const body = swapOrigins((await collect(incoming)).toString('utf8'), self, target);
      const upstream = request(
        { host: targetUrl.hostname, port: targetUrl.port, method: incoming.method, path: swapOrigins(incoming.url ?? '/', self, target), headers: { ...withoutLength(incoming.headers), host: targetUrl.host, 'content-length': Buffer.byteLength(body) } },
        (answer) => {
          void collect(answer).then(
            (raw) => {
              const text = raw.toString('utf8');
              for (const match of text.matchAll(/"(?:access_token|refresh_token)"\s*:\s*"([^"]+)"/g)) issuedTokens.add(match[1] as string);
              const rewritten = swapOrigins(text, target, self);
              if (fault?.kind === 'reset-after-commit') {
                incoming.socket.destroy();
                return;
              }
              if (fault?.kind === 'mutate') {
                const mutated = fault.mutate({ body: rewritten, contentType: String(answer.headers['content-type'] ?? '') });
                outgoing.writeHead(answer.statusCode ?? 502, { ...withoutLength(answer.headers), 'content-type': mutated.contentType, 'content-length': Buffer.byteLength(mutated.body) });
                outgoing.end(mutated.body);
                return;
              }
              if (fault?.kind === 'truncate') {
                const half = rewritten.slice(0, Math.floor(rewritten.length / 2));
                outgoing.writeHead(answer.statusCode ?? 502, { ...withoutLength(answer.headers), 'content-length': Buffer.byteLength(half) });
                outgoing.end(half);
                return;
              }
              outgoing.writeHead(answer.statusCode ?? 502, { ...withoutLength(answer.headers), 'content-length': Buffer.byteLength(rewritten) });
              outgoing.end(rewritten);
            },
            () => outgoing.destroy(),
          );
        },
      );
      // A reset from the emulator (a scripted fault) is passed on as a reset.
      upstream.on('error', () => outgoing.destroy());
      upstream.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    urls,
    issuedTokens,
    injected,
    setFaults(next) {
      plan = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A loopback forwarding proxy that records what went over the wire (status, headers, body of each
 * answer), so a test that drives the emulator through a real client library can assert the
 * documented response headers the library itself does not surface (`OData-Version`,
 * `Preference-Applied`, `OData-EntityId`, an empty 401 body). Exchanges are recorded as the
 * emulator sent them; what the client receives has the emulator's origin replaced by the tap's.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** One exchange seen by the tap. */
export interface TappedExchange {
  readonly method: string;
  /** Path and query as the client sent it. */
  readonly path: string;
  readonly requestHeaders: IncomingHttpHeaders;
  readonly status: number;
  /** Lower-case header names, as Node reports them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A running tap. */
export interface WireTap {
  /** `http://127.0.0.1:<port>/`: give this to the client as its server URL. */
  readonly url: string;
  /** Every exchange, oldest first. */
  readonly exchanges: TappedExchange[];
  /** The last exchange whose method and path match. */
  last(method: string, path: RegExp): TappedExchange;
  close(): Promise<void>;
}

/** Starts a tap forwarding everything to `target` (an `http://127.0.0.1:<port>` origin). */
export async function startWireTap(target: string): Promise<WireTap> {
  const origin = new URL(target);
  const exchanges: TappedExchange[] = [];
  const sockets = new Set<Socket>();
  const tapOrigin = { value: '' };
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const forward = httpRequest(
        { hostname: origin.hostname, port: origin.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: origin.host } },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(body);
            exchanges.push({
              method: incoming.method ?? 'GET',
              path: incoming.url ?? '/',
              requestHeaders: incoming.headers,
              status: answer.statusCode ?? 0,
              headers: answer.headers,
              body: text.toString('utf8'),
            });
            // As a reverse proxy does, links the emulator builds on its own origin are rewritten to
            // the tap's, so a client follows @odata.nextLink back through the tap.
            const rewrite = (value: string) => value.split(origin.origin).join(tapOrigin.value);
            const forwarded = Buffer.from(rewrite(text.toString('utf8')), 'utf8');
            const headers: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value !== undefined) headers[name] = Array.isArray(value) ? value.map(rewrite) : rewrite(value);
            }
            if (text.length > 0 || headers['content-length'] !== undefined) headers['content-length'] = String(forwarded.length);
            outgoing.writeHead(answer.statusCode ?? 502, headers);
            outgoing.end(forwarded);
          });
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  tapOrigin.value = `http://127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}/`,
    exchanges,
    last(method, path) {
      const found = [...exchanges].reverse().find((exchange) => exchange.method === method && path.test(exchange.path));
      if (found === undefined) throw new Error(`wire tap: no ${method} ${String(path)} among ${exchanges.map((e) => `${e.method} ${e.path}`).join(', ')}`);
      return found;
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
    },
  };
}

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import type { ResolvedWebConfig } from './web-config.js';

/**
 * The agent's HTTP(S) server from a resolved exporter-toolkit web config: TLS with the client-certificate
 * policy of `client_auth_type`, `client_allowed_sans`, the configured response headers, and HTTP basic auth
 * for `basic_auth_users` (bcrypt, successful checks cached like the toolkit does). Paths under `ownAuthPaths`
 * (the receiver's /alerts/, which require their own bearer token in the same Authorization header) skip basic
 * auth but not TLS.
 */
export interface WebServerOptions {
  readonly web: ResolvedWebConfig;
  readonly ownAuthPaths: readonly string[];
  readonly onRejected?: (reason: string) => void;
}

/** The SAN entries of a peer certificate ("DNS:a, IP Address:10.0.0.1, URI:…, email:…"), values only. */
export function subjectAltNames(san: string | undefined): string[] {
  if (san === undefined || san.length === 0) return [];
  return san.split(/,\s*/).map((entry) => entry.slice(entry.indexOf(':') + 1));
}

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function createWebServer(app: RequestListener, opts: WebServerOptions): { readonly server: Server; readonly scheme: 'http' | 'https' } {
  const { web } = opts;
  const users = web.basicAuthUsers;
  const needsBasic = Object.keys(users).length > 0;
  /** sha256(user, password, hash) of credentials that passed: bcrypt runs once per credential. */
  const passed = new Set<string>();
  const authorized = async (req: IncomingMessage): Promise<boolean> => {
    const creds = basicCredentials(req.headers.authorization);
    if (!creds) return false;
    const hash = Object.hasOwn(users, creds.user) ? users[creds.user] : undefined;
    if (hash === undefined) return false;
    const id = createHash('sha256').update(`${creds.user}\u0000${creds.password}\u0000${hash}`).digest('hex');
    if (passed.has(id)) return true;
    const ok = await bcrypt.compare(creds.password, hash);
    if (ok) passed.add(id);
    return ok;
  };
  const listener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(web.headers)) res.setHeader(name, value);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!needsBasic || opts.ownAuthPaths.some((p) => path.startsWith(p))) {
      app(req, res);
      return;
    }
    authorized(req).then(
      (ok) => {
        if (ok) {
          app(req, res);
          return;
        }
        opts.onRejected?.('basic auth failed');
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Basic');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end('Unauthorized\n');
      },
      (error: unknown) => {
        res.statusCode = 500;
        res.end(`basic auth check failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  };
  const tls = web.tls;
  if (!tls) return { server: createHttpServer(listener), scheme: 'http' };
  const requestCert = tls.clientAuth !== 'NoClientCert';
  const server = createHttpsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      requestCert,
      rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
      minVersion: tls.minVersion,
      maxVersion: tls.maxVersion,
    },
    listener,
  );
  // The policies Node's handshake options cannot express are enforced right after the handshake.
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!requestCert) return;
    const peer = socket.getPeerCertificate();
    const given = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
    let reason: string | undefined;
    if (!given && (tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'RequireAndVerifyClientCert')) reason = 'no client certificate';
    else if (given && tls.clientAuth === 'VerifyClientCertIfGiven' && !socket.authorized) reason = `client certificate not verified: ${String(socket.authorizationError)}`;
    else if (tls.allowedSans !== undefined) {
      const sans = subjectAltNames(given ? peer.subjectaltname : undefined);
      if (!sans.some((s) => tls.allowedSans?.includes(s))) reason = `client certificate SANs [${sans.join(', ')}] not in client_allowed_sans`;
    }
    if (reason !== undefined) {
      opts.onRejected?.(reason);
      socket.destroy();
    }
  });
  return { server, scheme: 'https' };
}

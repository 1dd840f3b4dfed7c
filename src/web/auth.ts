import type { RequestHandler } from 'express';
import { authorize, hasCredentials, type Credentials } from '../receiver/auth.js';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Guards the status page and the reports. On a loopback listener anyone who can reach it is on the machine
 * already: no authentication. On any other listener a request needs the receiver's credentials (bearer token
 * or basic auth, receiver.auth); with none configured the page is refused (403) rather than served openly.
 */
export function pageAuth(listenHost: string, credentials: Credentials): RequestHandler {
  const loopback = isLoopbackHost(listenHost);
  return (req, res, next) => {
    if (loopback) {
      next();
      return;
    }
    if (!hasCredentials(credentials)) {
      res.status(403).type('text').send('the status page is off on a non-loopback listener without credentials: configure receiver.auth (token_file or basic_auth_file)\n');
      return;
    }
    if (authorize(req.headers.authorization, credentials)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', credentials.basic !== undefined ? 'Basic realm="headroom", charset="UTF-8"' : 'Bearer realm="headroom"');
    res.status(401).type('text').send('authentication required (receiver.auth credentials)\n');
  };
}

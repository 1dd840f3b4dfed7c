import { createHash, timingSafeEqual } from 'node:crypto';
import type { ReceiverConfig } from '../config/sections/receiver.js';
import { errorMessage } from '../logging/logger.js';

/** The configured credentials (at most one bearer token and one basic-auth pair). */
export interface Credentials {
  readonly bearer?: string;
  readonly basic?: { readonly user: string; readonly password: string };
}

/** Reads the credentials named by the config: token file, token environment variable, basic-auth file. */
export function loadCredentials(auth: ReceiverConfig['auth'], env: NodeJS.ProcessEnv, readText: (path: string) => string): Credentials {
  const read = (key: string, path: string): string => {
    try {
      return readText(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
      throw new Error(`receiver.auth.${key}: cannot read ${path} (${reason}); create it, readable by headroom only`, { cause: error });
    }
  };
  let bearer: string | undefined;
  if (auth.token_file !== undefined) {
    bearer = read('token_file', auth.token_file).trim();
    if (bearer.length === 0) throw new Error(`receiver.auth.token_file: ${auth.token_file} is empty; put the bearer token in it`);
  } else if (auth.token_env !== undefined) {
    bearer = env[auth.token_env]?.trim();
    if (bearer === undefined || bearer.length === 0) throw new Error(`receiver.auth.token_env: environment variable ${auth.token_env} is unset or empty`);
  }
  let basic: Credentials['basic'];
  if (auth.basic_auth_file !== undefined) {
    const text = read('basic_auth_file', auth.basic_auth_file).trim();
    const colon = text.indexOf(':');
    if (colon <= 0 || colon === text.length - 1) {
      throw new Error(`receiver.auth.basic_auth_file: ${auth.basic_auth_file} must hold one line "user:password"`);
    }
    basic = { user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return { bearer, basic };
}

export function hasCredentials(c: Credentials): boolean {
  return c.bearer !== undefined || c.basic !== undefined;
}

/** Constant-time comparison (of SHA-256 digests, so lengths never leak either). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * Checks an Authorization header against the credentials. With no credentials configured every request
 * passes (the receiver then never acts: notify only).
 */
export function authorize(header: string | undefined, creds: Credentials): boolean {
  if (!hasCredentials(creds)) return true;
  if (header === undefined) return false;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) return false;
  const scheme = (m[1] ?? '').toLowerCase();
  const value = m[2] ?? '';
  if (scheme === 'bearer' && creds.bearer !== undefined) return safeEqual(value, creds.bearer);
  if (scheme === 'basic' && creds.basic !== undefined) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = safeEqual(decoded.slice(0, colon), creds.basic.user);
    const passOk = safeEqual(decoded.slice(colon + 1), creds.basic.password);
    return userOk && passOk;
  }
  return false;
}

import { describe, expect, it } from 'vitest';
import { authorize, hasCredentials, loadCredentials } from '../../src/receiver/auth.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('receiver credentials', () => {
  const files: Record<string, string> = { '/t': '  tok-123\n', '/b': 'alertmanager:pa:ss\n', '/empty': '\n', '/bad': 'nocolon\n' };
  const read = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT ${path}`);
    return text;
  };

  it('reads a bearer token from a file or an environment variable, and basic auth from a file', () => {
    expect(loadCredentials({ token_file: '/t' }, {}, read)).toEqual({ bearer: 'tok-123', basic: undefined });
    expect(loadCredentials({ token_env: 'HR_TOKEN' }, { HR_TOKEN: ' env-tok ' }, read).bearer).toBe('env-tok');
    expect(loadCredentials({ basic_auth_file: '/b' }, {}, read).basic).toEqual({ user: 'alertmanager', password: 'pa:ss' });
    expect(hasCredentials(loadCredentials({}, {}, read))).toBe(false);
  });

  it('says which setting is wrong', () => {
    expect(() => loadCredentials({ token_file: '/empty' }, {}, read)).toThrow(/receiver\.auth\.token_file: \/empty is empty/);
    expect(() => loadCredentials({ token_env: 'NOPE' }, {}, read)).toThrow(/receiver\.auth\.token_env: environment variable NOPE is unset or empty/);
    expect(() => loadCredentials({ basic_auth_file: '/bad' }, {}, read)).toThrow(/must hold one line "user:password"/);
    expect(() => loadCredentials({ token_file: '/missing' }, {}, read)).toThrow(/receiver\.auth\.token_file: cannot read \/missing/);
  });

  it('accepts exactly the configured bearer token or basic credential', () => {
    const creds = loadCredentials({ token_file: '/t', basic_auth_file: '/b' }, {}, read);
    expect(authorize('Bearer tok-123', creds)).toBe(true);
    expect(authorize('bearer tok-123', creds)).toBe(true);
    expect(authorize('Bearer tok-1234', creds)).toBe(false);
    expect(authorize(basic('alertmanager', 'pa:ss'), creds)).toBe(true);
    expect(authorize(basic('alertmanager', 'pa:sS'), creds)).toBe(false);
    expect(authorize(basic('someone', 'pa:ss'), creds)).toBe(false);
    expect(authorize(undefined, creds)).toBe(false);
    expect(authorize('Digest whatever', creds)).toBe(false);
    expect(authorize('Bearer', creds)).toBe(false);
  });

  it('lets everything through only when nothing is configured (the receiver then never acts)', () => {
    expect(authorize(undefined, {})).toBe(true);
  });
});

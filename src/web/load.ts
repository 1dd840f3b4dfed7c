import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../config/load.js';
import { parseWebConfig, resolveWebConfig, type ResolvedWebConfig } from './web-config.js';

/**
 * Loads `--web.config.file` (config key web.config_file) at agent start. Any problem — a missing file, a key
 * that does not match its certificate, an expired certificate — is a ConfigError (exit 2) naming the key.
 * Without a file: plain HTTP, no basic auth.
 */
export function loadWebConfig(path: string | undefined, readText: (path: string) => string, now: Date): ResolvedWebConfig {
  if (path === undefined) return { headers: {}, basicAuthUsers: {}, ignored: [] };
  const source = `web config file ${path} (--web.config.file / web.config_file)`;
  let text: string;
  try {
    text = readText(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigError(source, [`cannot read the file${typeof code === 'string' ? ` (${code})` : ''}; give the path of an exporter-toolkit web config file`]);
  }
  const parsed = parseWebConfig(text);
  if (!parsed.ok) throw new ConfigError(source, parsed.problems);
  const base = dirname(path);
  const resolved = resolveWebConfig(parsed.config, readText, (p) => (isAbsolute(p) ? p : resolve(base, p)), now);
  if (!resolved.ok) throw new ConfigError(source, resolved.problems);
  return resolved.config;
}

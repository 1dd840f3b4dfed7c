import { createPrivateKey, X509Certificate } from 'node:crypto';
import { load } from 'js-yaml';
import { z } from 'zod';

/**
 * The Prometheus exporter-toolkit web config file (docs/web-configuration.md of prometheus/exporter-toolkit):
 * the same file node_exporter takes as --web.config.file. Parsing is pure (text in, problems or a parsed file
 * out); reading the files it names and checking the certificates is `resolveWebConfig`. Keys headroom does not
 * apply are tolerated (listed in `ignored`, which the agent logs), as the format grows over time.
 */

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;
const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]], { error: `must be one of ${Object.keys(TLS_VERSIONS).join(', ')}` });

const tlsServerSchema = z.looseObject({
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  client_ca: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  client_ca_file: z.string().min(1).optional(),
  client_auth_type: z.enum(CLIENT_AUTH_TYPES, { error: `must be one of ${CLIENT_AUTH_TYPES.join(', ')}` }).default('NoClientCert'),
  client_allowed_sans: z.array(z.string().min(1)).optional(),
  min_version: tlsVersion.default('TLS12'),
  max_version: tlsVersion.default('TLS13'),
});

const HEADER_NAMES = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'] as const;

const webConfigSchema = z.looseObject({
  tls_server_config: tlsServerSchema.nullish(),
  http_server_config: z.looseObject({ headers: z.record(z.string(), z.string()).nullish() }).nullish(),
  basic_auth_users: z.record(z.string().min(1), z.string().regex(/^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/, { error: 'must be a bcrypt hash ($2y$10$…), e.g. from `htpasswd -nBC 10 "" | tr -d \':\\n\'`' })).nullish(),
});

/** Keys of the format that headroom accepts but does not apply (logged at start). */
const NOT_APPLIED: Readonly<Record<string, string>> = {
  'tls_server_config.cipher_suites': 'Node uses OpenSSL\'s default cipher list',
  'tls_server_config.curve_preferences': 'Node uses OpenSSL\'s default curves',
  'tls_server_config.prefer_server_cipher_suites': 'Node prefers the server\'s order by default',
  'http_server_config.http2': 'the agent serves HTTP/1.1',
  rate_limit: 'not implemented; put a reverse proxy in front if you need it',
};

export interface ParsedWebConfig {
  readonly tls?: z.infer<typeof tlsServerSchema>;
  readonly headers: Readonly<Record<string, string>>;
  readonly basicAuthUsers: Readonly<Record<string, string>>;
  /** "key: why" for keys present in the file that headroom does not apply. */
  readonly ignored: readonly string[];
}

export type WebConfigProblems = { readonly ok: false; readonly problems: readonly string[] };

function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(top level)';
}

/** Parses the file's text: YAML, then the schema; each problem names the key. */
export function parseWebConfig(text: string): { readonly ok: true; readonly config: ParsedWebConfig } | WebConfigProblems {
  let raw: unknown;
  try {
    raw = load(text);
  } catch (error) {
    return { ok: false, problems: [`not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`] };
  }
  if (raw === undefined || raw === null) raw = {};
  const result = webConfigSchema.safeParse(raw);
  if (!result.success) return { ok: false, problems: result.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`) };
  const c = result.data;
  const problems: string[] = [];
  const tls = c.tls_server_config ?? undefined;
  const ignored: string[] = [];
  const rawObj = raw as Record<string, unknown>;
  for (const [key, why] of Object.entries(NOT_APPLIED)) {
    const [a, b] = key.split('.') as [string, string | undefined];
    const v = b === undefined ? rawObj[a] : (rawObj[a] as Record<string, unknown> | null | undefined)?.[b];
    if (v !== undefined && v !== null) ignored.push(`${key}: ${why}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.http_server_config?.headers ?? {})) {
    const known = HEADER_NAMES.find((h) => h.toLowerCase() === name.toLowerCase());
    if (known === undefined) problems.push(`http_server_config.headers.${name}: not one of ${HEADER_NAMES.join(', ')}`);
    else if (value.length > 0) headers[known] = value;
  }
  if (tls) {
    if (tls.cert !== undefined && tls.cert_file !== undefined) problems.push('tls_server_config.cert: give cert or cert_file, not both');
    if (tls.key !== undefined && tls.key_file !== undefined) problems.push('tls_server_config.key: give key or key_file, not both');
    if (tls.client_ca !== undefined && tls.client_ca_file !== undefined) problems.push('tls_server_config.client_ca: give client_ca or client_ca_file, not both');
    if (tls.cert === undefined && tls.cert_file === undefined) problems.push('tls_server_config.cert_file: required (the server certificate, PEM)');
    if (tls.key === undefined && tls.key_file === undefined) problems.push('tls_server_config.key_file: required (the server\'s private key, PEM)');
    const verifies = tls.client_auth_type === 'VerifyClientCertIfGiven' || tls.client_auth_type === 'RequireAndVerifyClientCert';
    if (verifies && tls.client_ca === undefined && tls.client_ca_file === undefined) {
      problems.push(`tls_server_config.client_ca_file: required with client_auth_type ${tls.client_auth_type} (the CA that signs client certificates)`);
    }
    if (!verifies && (tls.client_ca !== undefined || tls.client_ca_file !== undefined) && tls.client_auth_type !== 'NoClientCert') {
      // Go's toolkit accepts this too; the CA is then unused for verification.
    }
    if (tls.client_allowed_sans !== undefined && tls.client_auth_type !== 'RequireAnyClientCert' && tls.client_auth_type !== 'RequireAndVerifyClientCert') {
      problems.push('tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
    }
    const order = Object.keys(TLS_VERSIONS);
    if (order.indexOf(tls.min_version) > order.indexOf(tls.max_version)) problems.push(`tls_server_config.min_version: ${tls.min_version} is above max_version ${tls.max_version}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { ...(tls ? { tls } : {}), headers, basicAuthUsers: c.basic_auth_users ?? {}, ignored } };
}

/** What the HTTP server needs: PEM material and the client-certificate policy, all checked. */
export interface ResolvedWebConfig {
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    readonly ca?: string;
    readonly clientAuth: ClientAuthType;
    readonly allowedSans?: readonly string[];
    readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    readonly maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    /** The server certificate's notAfter (for the log line). */
    readonly validTo: Date;
  };
  readonly headers: Readonly<Record<string, string>>;
  readonly basicAuthUsers: Readonly<Record<string, string>>;
  readonly ignored: readonly string[];
}

/**
 * Reads the files the config names (relative paths against the config file's directory, as the toolkit does)
 * and checks them: each is readable PEM, the key matches the certificate, the certificate is valid now.
 */
export function resolveWebConfig(
  parsed: ParsedWebConfig,
  readText: (path: string) => string,
  resolvePath: (path: string) => string,
  now: Date,
): { readonly ok: true; readonly config: ResolvedWebConfig } | WebConfigProblems {
  const base = { headers: parsed.headers, basicAuthUsers: parsed.basicAuthUsers, ignored: parsed.ignored };
  const tls = parsed.tls;
  if (!tls) return { ok: true, config: base };
  const problems: string[] = [];
  const material = (inline: string | undefined, file: string | undefined, key: string): string | undefined => {
    if (inline !== undefined) return inline;
    if (file === undefined) return undefined;
    try {
      return readText(resolvePath(file));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      problems.push(`tls_server_config.${key}: cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}; give a readable PEM file`);
      return undefined;
    }
  };
  const certPem = material(tls.cert, tls.cert_file, tls.cert !== undefined ? 'cert' : 'cert_file');
  const keyPem = material(tls.key, tls.key_file, tls.key !== undefined ? 'key' : 'key_file');
  const caPem = material(tls.client_ca, tls.client_ca_file, tls.client_ca !== undefined ? 'client_ca' : 'client_ca_file');
  const certKey = tls.cert !== undefined ? 'cert' : 'cert_file';
  const keyKey = tls.key !== undefined ? 'key' : 'key_file';
  let cert: X509Certificate | undefined;
  if (certPem !== undefined) {
    try {
      cert = new X509Certificate(certPem);
    } catch {
      problems.push(`tls_server_config.${certKey}: ${tls.cert_file ?? 'inline cert'} is not a PEM certificate`);
    }
  }
  let keyOk = false;
  if (keyPem !== undefined) {
    try {
      const key = createPrivateKey(keyPem);
      keyOk = true;
      if (cert && !cert.checkPrivateKey(key)) {
        problems.push(`tls_server_config.${keyKey}: the private key in ${tls.key_file ?? 'inline key'} does not match the certificate in ${tls.cert_file ?? 'inline cert'}`);
      }
    } catch {
      problems.push(`tls_server_config.${keyKey}: ${tls.key_file ?? 'inline key'} is not a PEM private key (an encrypted key is not supported)`);
    }
  }
  if (cert) {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (to.getTime() <= now.getTime()) problems.push(`tls_server_config.${certKey}: the certificate ${tls.cert_file ?? ''} expired on ${to.toISOString()}; renew it`.replace('  ', ' '));
    else if (from.getTime() > now.getTime()) problems.push(`tls_server_config.${certKey}: the certificate ${tls.cert_file ?? ''} is not valid before ${from.toISOString()}`.replace('  ', ' '));
  }
  if (caPem !== undefined) {
    try {
      new X509Certificate(caPem);
    } catch {
      problems.push(`tls_server_config.${tls.client_ca !== undefined ? 'client_ca' : 'client_ca_file'}: ${tls.client_ca_file ?? 'inline client_ca'} is not a PEM certificate`);
    }
  }
  if (problems.length > 0 || certPem === undefined || keyPem === undefined || !cert || !keyOk) {
    return { ok: false, problems: problems.length > 0 ? problems : ['tls_server_config: certificate or key missing'] };
  }
  return {
    ok: true,
    config: {
      ...base,
      tls: {
        cert: certPem,
        key: keyPem,
        ...(caPem !== undefined ? { ca: caPem } : {}),
        clientAuth: tls.client_auth_type,
        ...(tls.client_allowed_sans ? { allowedSans: tls.client_allowed_sans } : {}),
        minVersion: TLS_VERSIONS[tls.min_version],
        maxVersion: TLS_VERSIONS[tls.max_version],
        validTo: new Date(cert.validTo),
      },
    },
  };
}

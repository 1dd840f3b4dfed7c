import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Real X.509 material made by openssl for TLS tests: a CA, and certificates it signs (server certificates with
 * IP/DNS SANs, client certificates, an expired one). EC P-256 keys: fast to make.
 */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', [...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

export function makeCa(dir: string, name = 'ca'): CertPair {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=headroom test ${name}`], dir);
  return { cert, key };
}

/** A certificate signed by `ca`; `days` < 0 makes one that has already expired. */
export function makeCert(dir: string, ca: CertPair, name: string, opts: { readonly sans: readonly string[]; readonly client?: boolean; readonly days?: number }): CertPair {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${opts.sans.join(',')}\nextendedKeyUsage=${opts.client ? 'clientAuth' : 'serverAuth'}\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', String(opts.days ?? 2), '-extfile', ext], dir);
  return { cert, key };
}

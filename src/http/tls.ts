// TLS for the HTTPS server: a configured certificate, or a self-signed one generated on first start
// for the embedded default (kept in <data dir>/tls, mode 0600).
import fs from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  selfSigned: boolean;
}

export async function loadOrCreateTls(opts: {
  dataDir: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  hostnames: string[];
}): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    return {
      key: fs.readFileSync(opts.keyFile, 'utf8'),
      cert: fs.readFileSync(opts.certFile, 'utf8'),
      selfSigned: false,
    };
  }
  const dir = path.join(opts.dataDir, 'tls');
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  if (fs.existsSync(keyPath) && fs.existsSync(certPath)) {
    return {
      key: fs.readFileSync(keyPath, 'utf8'),
      cert: fs.readFileSync(certPath, 'utf8'),
      selfSigned: true,
    };
  }
  const altNames = opts.hostnames.map((h) =>
    /^[\d.]+$/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h },
  );
  const pems = await selfsigned.generate(
    [{ name: 'commonName', value: opts.hostnames[0] ?? 'localhost' }],
    {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 825 * 86_400_000),
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ],
    },
  );
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyPath, pems.private, { mode: 0o600 });
  fs.writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return { key: pems.private, cert: pems.cert, selfSigned: true };
}

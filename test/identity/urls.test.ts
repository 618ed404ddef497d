// The one rule for where an identity provider may be reached (sign-in, the API, the CLI).
import { describe, expect, it } from 'vitest';
import { isProviderUrl } from '../../src/identity/urls.js';

describe('isProviderUrl', () => {
  it('accepts TLS anywhere and plain HTTP on a loopback host only', () => {
    for (const ok of [
      'https://login.example.com',
      'https://login.example.com:8443/realms/corp',
      'http://127.0.0.1:5556/dex',
      'http://localhost/idp',
      'http://[::1]:8080/',
      new URL('http://127.0.0.1/'),
    ])
      expect(isProviderUrl(ok), String(ok)).toBe(true);
  });

  it('refuses plain HTTP elsewhere, look-alike hosts, other schemes and non-URLs', () => {
    for (const bad of [
      'http://login.example.com',
      'http://localhost.example.com/',
      'http://127.0.0.1.nip.io/',
      'http://127.0.0.2/',
      'http://user@evil.example.com#@127.0.0.1',
      'ftp://127.0.0.1/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      '//127.0.0.1/',
      'not a url',
      '',
    ])
      expect(isProviderUrl(bad), bad).toBe(false);
  });
});

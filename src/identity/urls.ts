// Where an identity provider may be reached: over TLS, or over plain HTTP on this machine only (tests,
// development). One rule for sign-in, the API that configures providers and the CLI that calls it.

/** A URL on this machine. */
export function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** True for an identity provider URL Axiom accepts: https, or http on a loopback host. */
export function isProviderUrl(value: string | URL): boolean {
  let u: URL;
  try {
    u = typeof value === 'string' ? new URL(value) : value;
  } catch {
    return false;
  }
  return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u));
}

/** How the rule reads in an error message. */
export const PROVIDER_URL_RULE =
  'an https:// URL (plain http only on this machine: 127.0.0.1, localhost)';

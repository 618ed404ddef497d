// A real browser for dashboard tests: Debian's Chromium (`apt-get install chromium`; .ci/run installs
// it) driven by playwright-core. The server's self-signed certificate is trusted by its public-key
// pin (--ignore-certificate-errors-spki-list), so the page is a secure context without certificate
// errors — WebAuthn refuses to run otherwise. Screenshots of each step go to test-artifacts/.
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Page,
} from 'playwright-core';

export const ARTIFACTS = path.resolve('test-artifacts');

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found)
    throw new Error(
      'Chromium is not installed: run `apt-get install chromium` (or set CHROMIUM_PATH); .ci/run does this',
    );
  return found;
}

/** base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate, as Chromium's SPKI allow-list wants it. */
export function spkiPin(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export async function launchBrowser(certPem: string): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--ignore-certificate-errors-spki-list=${spkiPin(certPem)}`,
    ],
  });
}

export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

/** A virtual security key (CTAP2, user verification) attached to the page through the DevTools protocol. */
export async function addVirtualAuthenticator(
  page: Page,
): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const r = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: r.authenticatorId };
}

let shot = 0;
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  shot++;
  await page.screenshot({
    path: path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`),
    fullPage: true,
  });
}

/** Fill the dashboard's sign-in form (already on the page) with a password and submit it. */
export async function submitPasswordSignIn(
  page: Page,
  who: { organization: string; email: string; password: string },
): Promise<void> {
  await page.fill('input[name=organization]', who.organization);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await page.click('button[type=submit]');
}

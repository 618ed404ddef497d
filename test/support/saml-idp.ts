// A test SAML 2.0 identity provider: a certificate generated at test time (selfsigned) and responses
// whose assertion is signed with xml-crypto (RSA-SHA256, exclusive C14N, enveloped), as an IdP's
// HTTP-POST binding sends them. Each option bends one rule the service provider must enforce.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import selfsigned from 'selfsigned';
import { SignedXml } from 'xml-crypto';

export interface SamlIdp {
  entityId: string;
  ssoUrl: string;
  certificate: string;
  privateKey: string;
  /** A base64 SAMLResponse for the HTTP-POST binding. */
  response(opts: SamlResponseOptions): string;
}

export interface SamlResponseOptions {
  audience: string;
  recipient: string;
  nameId: string;
  email?: string;
  displayName?: string;
  /** Sign the assertion (default true). */
  signed?: boolean;
  /** Sign with this key instead of the IdP's (a forged signature). */
  signingKey?: string;
  /** Minutes from now the assertion stops being valid (default 5; negative: already expired). */
  validMinutes?: number;
  assertionId?: string;
}

const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

async function keyPair(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
  });
  return { cert: pems.cert, key: pems.private };
}

/** A key pair that is not the IdP's, for forged signatures. */
export async function otherSigningKey(): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return await Promise.resolve(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
}

export async function createSamlIdp(): Promise<SamlIdp> {
  const { cert, key } = await keyPair('test-idp');
  const entityId = `https://idp-${randomBytes(3).toString('hex')}.example.test/saml`;
  return {
    entityId,
    ssoUrl: `${entityId}/sso`,
    certificate: cert,
    privateKey: key,
    response: (o) => {
      const now = Date.now();
      const iso = (ms: number): string => new Date(ms).toISOString();
      const validMs = (o.validMinutes ?? 5) * 60_000;
      const issued =
        o.validMinutes !== undefined && o.validMinutes < 0 ? now + validMs - 60_000 : now;
      const until = iso(now + validMs);
      const assertionId = o.assertionId ?? `_a${randomBytes(16).toString('hex')}`;
      const email = o.email
        ? `<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>${esc(o.email)}</saml:AttributeValue></saml:Attribute>` +
          (o.displayName
            ? `<saml:Attribute Name="displayName"><saml:AttributeValue>${esc(o.displayName)}</saml:AttributeValue></saml:Attribute>`
            : '') +
          `</saml:AttributeStatement>`
        : '';
      const assertion =
        `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${iso(issued)}">` +
        `<saml:Issuer>${esc(entityId)}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
        `<saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${esc(o.recipient)}"/>` +
        `</saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${iso(issued - 60_000)}" NotOnOrAfter="${until}">` +
        `<saml:AudienceRestriction><saml:Audience>${esc(o.audience)}</saml:Audience></saml:AudienceRestriction>` +
        `</saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${iso(issued)}" SessionIndex="_s${randomBytes(8).toString('hex')}">` +
        `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
        `</saml:AuthnStatement>${email}</saml:Assertion>`;
      const response =
        `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${iso(issued)}" Destination="${esc(o.recipient)}">` +
        `<saml:Issuer>${esc(entityId)}</saml:Issuer>` +
        `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
        `${assertion}</samlp:Response>`;
      let xml = response;
      if (o.signed ?? true) {
        const sig = new SignedXml({
          privateKey: o.signingKey ?? key,
          publicCert: cert,
          signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
          canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
        });
        sig.addReference({
          xpath: "//*[local-name(.)='Assertion']",
          transforms: [
            'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
            'http://www.w3.org/2001/10/xml-exc-c14n#',
          ],
          digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
        });
        sig.computeSignature(response, {
          location: {
            reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']",
            action: 'after',
          },
        });
        xml = sig.getSignedXml();
      }
      return Buffer.from(xml, 'utf8').toString('base64');
    },
  };
}

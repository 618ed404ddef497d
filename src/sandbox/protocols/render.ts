// Responses on the wire, per protocol: success bodies and errors in each service's own shape.
import type { ServerResponse } from 'node:http';
import type { NormalizedSchema } from '@smithy/core/schema';
import { AwsError } from '../errors.js';
import type { Protocol, RawResponse, ServiceDef } from '../framework.js';
import { escapeXml } from '../xml.js';
import { encodeXmlMembers, encodeXmlValue, writeJson, type Obj } from './serde.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export function renderError(
  service: ServiceDef | Protocol,
  err: AwsError,
  requestId: string,
): WireResponse {
  const protocol = typeof service === 'string' ? service : service.protocol;
  const headers: Record<string, string> = {};
  switch (protocol) {
    case 'ec2':
      headers['content-type'] = 'text/xml;charset=UTF-8';
      return {
        status: err.status,
        headers,
        body: `${XML_DECL}<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(
          err.message,
        )}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      };
    case 'query': {
      headers['content-type'] = 'text/xml';
      headers['x-amzn-requestid'] = requestId;
      const ns = typeof service === 'string' ? '' : ` xmlns="${service.xmlns ?? ''}"`;
      return {
        status: err.status,
        headers,
        body: `<ErrorResponse${ns}><Error><Type>${err.fault}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(
          err.message,
        )}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    }
    case 'json': {
      const version = typeof service === 'string' ? '1.1' : (service.jsonVersion ?? '1.1');
      headers['content-type'] = `application/x-amz-json-${version}`;
      headers['x-amzn-requestid'] = requestId;
      headers['x-amzn-errortype'] = err.code;
      if (typeof service !== 'string' && service.queryCompatible)
        headers['x-amzn-query-error'] = `${err.code};${err.fault}`;
      return {
        status: err.status,
        headers,
        body: JSON.stringify({ __type: err.code, message: err.message }),
      };
    }
    case 'restxml': {
      headers['content-type'] = 'application/xml';
      headers['x-amz-request-id'] = requestId;
      headers['x-amz-id-2'] = Buffer.from(requestId).toString('base64');
      for (const [k, v] of Object.entries(err.extra))
        if (k.startsWith('header:')) headers[k.slice(7)] = v;
      const extra = Object.entries(err.extra)
        .filter(([k]) => !k.startsWith('header:'))
        .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
        .join('');
      return {
        status: err.status,
        headers,
        body: `${XML_DECL}<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(
          err.message,
        )}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${headers['x-amz-id-2']}</HostId></Error>`,
      };
    }
  }
}

export function renderSuccess(
  service: ServiceDef,
  operation: string,
  output: NormalizedSchema,
  value: unknown,
  requestId: string,
  httpCode = 200,
): WireResponse {
  const obj = (value ?? {}) as Obj;
  switch (service.protocol) {
    case 'ec2':
      return {
        status: 200,
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: `${XML_DECL}<${operation}Response xmlns="${service.xmlns}"><requestId>${requestId}</requestId>${
          output.isStructSchema() ? encodeXmlMembers(output, obj) : ''
        }</${operation}Response>`,
      };
    case 'query': {
      const members = output.isStructSchema() ? encodeXmlMembers(output, obj) : '';
      const result = output.isStructSchema()
        ? `<${operation}Result>${members}</${operation}Result>`
        : '';
      return {
        status: 200,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<${operation}Response xmlns="${service.xmlns}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`,
      };
    }
    case 'json':
      return {
        status: 200,
        headers: {
          'content-type': `application/x-amz-json-${service.jsonVersion ?? '1.1'}`,
          'x-amzn-requestid': requestId,
        },
        body: JSON.stringify(output.isStructSchema() ? (writeJson(output, obj) ?? {}) : {}),
      };
    case 'restxml':
      return renderRestXml(output, obj, requestId, httpCode);
  }
}

function renderRestXml(
  output: NormalizedSchema,
  obj: Obj,
  requestId: string,
  httpCode: number,
): WireResponse {
  const headers: Record<string, string> = {
    'x-amz-request-id': requestId,
    'x-amz-id-2': Buffer.from(requestId).toString('base64'),
  };
  let body: Buffer | string = '';
  let status = httpCode;
  if (output.isStructSchema()) {
    let payloadDone = false;
    for (const [name, member] of output.structIterator()) {
      const v = obj[name];
      const t = member.getMergedTraits();
      if (t.httpResponseCode && typeof v === 'number') status = v;
      if (v === undefined || v === null) continue;
      if (typeof t.httpHeader === 'string') {
        headers[t.httpHeader.toLowerCase()] =
          v instanceof Date
            ? v.toUTCString()
            : typeof v === 'object'
              ? JSON.stringify(v)
              : String(v);
      } else if (t.httpPayload) {
        payloadDone = true;
        if (member.isStructSchema()) {
          const rootName = typeof t.xmlName === 'string' ? t.xmlName : (member.getName() ?? name);
          headers['content-type'] = 'application/xml';
          body = `${XML_DECL}<${rootName} xmlns="${S3_XMLNS}">${encodeXmlMembers(member, v as Obj)}</${rootName}>`;
        } else if (Buffer.isBuffer(v)) body = v;
        else body = String(v);
      }
    }
    if (!payloadDone) {
      const members = encodeXmlMembers(output, obj, true);
      if (members) {
        const ot = output.getMergedTraits();
        const rootName =
          typeof ot.xmlName === 'string' ? ot.xmlName : (output.getName() ?? 'Result');
        headers['content-type'] = 'application/xml';
        body = `${XML_DECL}<${rootName} xmlns="${S3_XMLNS}">${members}</${rootName}>`;
      }
    }
  }
  return { status, headers, body };
}

export function renderRaw(raw: RawResponse, requestId: string): WireResponse {
  return {
    status: raw.status ?? 200,
    headers: {
      'x-amz-request-id': requestId,
      'x-amz-id-2': Buffer.from(requestId).toString('base64'),
      ...raw.headers,
    },
    body: raw.body ?? '',
  };
}

export function send(res: ServerResponse, wire: WireResponse, head = false): void {
  const body = typeof wire.body === 'string' ? Buffer.from(wire.body) : wire.body;
  const headers: Record<string, string | number> = wire.headers;
  if (!('content-length' in headers)) headers['content-length'] = body.length;
  res.writeHead(wire.status, headers);
  res.end(head ? undefined : body);
}

/** A single member's XML, for hand-written S3 bodies. */
export function xmlElement(ns: NormalizedSchema, value: unknown, name: string): string {
  return encodeXmlValue(ns, value, name);
}

// ---------- protocol-specific error codes ----------
export function authErrors(protocol: Protocol, serviceName: string) {
  const json = protocol === 'json' && serviceName !== 'cloudwatch';
  return {
    invalidKey: (): AwsError => {
      if (protocol === 'ec2')
        return new AwsError(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          401,
        );
      if (protocol === 'restxml')
        return new AwsError(
          'InvalidAccessKeyId',
          'The AWS Access Key Id you provided does not exist in our records.',
          403,
        );
      if (json)
        return new AwsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          400,
        );
      return new AwsError(
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        403,
      );
    },
    badSignature: (): AwsError => {
      const msg =
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
      if (protocol === 'ec2')
        return new AwsError(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          401,
        );
      if (protocol === 'restxml') return new AwsError('SignatureDoesNotMatch', msg, 403);
      if (json) return new AwsError('InvalidSignatureException', msg, 400);
      return new AwsError('SignatureDoesNotMatch', msg, 403);
    },
    invalidToken: (): AwsError => {
      if (protocol === 'ec2')
        return new AwsError(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          401,
        );
      if (protocol === 'restxml')
        return new AwsError(
          'InvalidToken',
          'The provided token is malformed or otherwise invalid.',
          400,
        );
      if (json)
        return new AwsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          400,
        );
      return new AwsError(
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        403,
      );
    },
    expired: (): AwsError => {
      if (protocol === 'ec2') return new AwsError('RequestExpired', 'Request has expired.', 400);
      if (protocol === 'restxml')
        return new AwsError('ExpiredToken', 'The provided token has expired.', 400);
      if (json)
        return new AwsError(
          'ExpiredTokenException',
          'The security token included in the request is expired',
          400,
        );
      return new AwsError(
        'ExpiredToken',
        'The security token included in the request is expired',
        403,
      );
    },
    skewed: (): AwsError => {
      if (protocol === 'ec2') return new AwsError('RequestExpired', 'Request has expired.', 400);
      if (protocol === 'restxml')
        return new AwsError(
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          403,
        );
      if (json)
        return new AwsError(
          'InvalidSignatureException',
          'Signature expired: the request time is too far from the server time.',
          400,
        );
      return new AwsError(
        'SignatureDoesNotMatch',
        'Signature expired: the request time is too far from the server time.',
        403,
      );
    },
    malformed: (): AwsError => {
      if (protocol === 'restxml')
        return new AwsError(
          'AuthorizationHeaderMalformed',
          'The authorization header is malformed.',
          400,
        );
      if (protocol === 'ec2')
        return new AwsError(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          401,
        );
      return new AwsError(
        json ? 'IncompleteSignatureException' : 'IncompleteSignature',
        'The request signature does not conform to AWS standards.',
        400,
      );
    },
    missing: (): AwsError => {
      if (protocol === 'restxml') return new AwsError('AccessDenied', 'Access Denied', 403);
      if (protocol === 'ec2')
        return new AwsError(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          401,
        );
      return new AwsError(
        json ? 'MissingAuthenticationTokenException' : 'MissingAuthenticationToken',
        'Request is missing Authentication Token',
        json ? 400 : 403,
      );
    },
  };
}

export function throttleError(protocol: Protocol, serviceName: string): AwsError {
  if (protocol === 'ec2')
    return new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
  if (protocol === 'restxml')
    return new AwsError('SlowDown', 'Please reduce your request rate.', 503);
  if (protocol === 'json' && serviceName !== 'cloudwatch')
    return new AwsError('ThrottlingException', 'Rate exceeded', 400);
  return new AwsError('Throttling', 'Rate exceeded', 400);
}

export function serverError(protocol: Protocol, status: 500 | 503): AwsError {
  if (status === 503) {
    if (protocol === 'ec2')
      return new AwsError(
        'Unavailable',
        'The server is overloaded and cannot handle the request.',
        503,
      );
    if (protocol === 'json')
      return new AwsError('ServiceUnavailableException', 'Service is unavailable.', 503);
    return new AwsError('ServiceUnavailable', 'Service is unable to handle request.', 503);
  }
  if (protocol === 'ec2' || protocol === 'restxml')
    return new AwsError(
      'InternalError',
      'We encountered an internal error. Please try again.',
      500,
    );
  if (protocol === 'json')
    return new AwsError(
      'InternalFailure',
      'The request processing has failed because of an unknown error, exception or failure.',
      500,
    );
  return new AwsError(
    'InternalFailure',
    'The request processing has failed because of an unknown error, exception or failure.',
    500,
  );
}

export function accessDeniedError(
  protocol: Protocol,
  serviceName: string,
  callerArn: string,
  action: string,
  resource: string,
  explicit: boolean,
): AwsError {
  const why = explicit
    ? `with an explicit deny in a policy`
    : `because no identity-based policy allows the ${action} action`;
  const msg = `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
  if (protocol === 'ec2')
    return new AwsError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. ${msg}`,
      403,
    );
  if (protocol === 'restxml') return new AwsError('AccessDenied', msg, 403);
  if (protocol === 'json' && serviceName !== 'cloudwatch')
    return new AwsError('AccessDeniedException', msg, 400);
  return new AwsError('AccessDenied', msg, 403);
}

export function missingParam(protocol: Protocol, name: string): AwsError {
  if (protocol === 'ec2')
    return new AwsError('MissingParameter', `The request must contain the parameter ${name}`, 400);
  if (protocol === 'restxml')
    return new AwsError('InvalidRequest', `Missing required parameter ${name}`, 400);
  const member = name[0]!.toLowerCase() + name.slice(1);
  const msg = `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`;
  if (protocol === 'json') return new AwsError('ValidationException', msg, 400);
  return new AwsError('ValidationError', msg, 400);
}

export function invalidParam(protocol: Protocol, message: string): AwsError {
  if (protocol === 'ec2') return new AwsError('InvalidParameterValue', message, 400);
  if (protocol === 'restxml') return new AwsError('InvalidArgument', message, 400);
  if (protocol === 'json') return new AwsError('ValidationException', message, 400);
  return new AwsError('ValidationError', message, 400);
}

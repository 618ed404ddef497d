// The HTTP front: one endpoint for every service. A request is routed by its SigV4 credential
// scope (and X-Amz-Target for JSON protocols), authenticated against the issued credentials,
// run through fault injection and authorisation, then handed to the operation's handler.
import http from 'node:http';
import { AwsError } from './errors.js';
import type { Engine } from './engine.js';
import type { FaultEngine } from './faults.js';
import type { Caller, Ctx, HttpInfo, OpDef, RawResponse, ServiceDef } from './framework.js';
import { requestId as newRequestId } from './ids.js';
import type { RequestContext } from './policy.js';
import {
  decodeQueryInput,
  httpTrait,
  ioSchemas,
  readJson,
  readXml,
  SerdeError,
  type Obj,
} from './protocols/serde.js';
import {
  accessDeniedError,
  authErrors,
  renderError,
  renderRaw,
  renderSuccess,
  send,
  serverError,
  throttleError,
  type WireResponse,
} from './protocols/render.js';
import {
  credentialScope,
  parseAmzDate,
  parseAuthorization,
  sha256Hex,
  verifySignature,
} from './sigv4.js';
import { parseXml, XmlSyntaxError } from './xml.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;

export interface CallRecord {
  time: number;
  service: string;
  operation: string;
  accountId: string;
  region: string;
  caller: string;
  status: number;
  errorCode?: string;
}

export interface ServerDeps {
  engine: Engine;
  faults: FaultEngine;
  services: ServiceDef[];
  /** Requests under /_sandbox/ go here. */
  control: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    url: URL,
  ) => Promise<void>;
  calls: CallRecord[];
  maxCallLog: number;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerMap(req: http.IncomingMessage): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const list = m.get(k);
    if (list) list.push(raw[i + 1]!);
    else m.set(k, [raw[i + 1]!]);
  }
  return m;
}

/** Decode an aws-chunked body (signed or unsigned chunks, optional trailers). */
function decodeAwsChunked(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const header = body.subarray(pos, lineEnd).toString('latin1');
    const size = parseInt(header.split(';')[0]!, 16);
    if (!Number.isFinite(size)) throw new SerdeError('Malformed aws-chunked body');
    pos = lineEnd + 2;
    if (size === 0) break;
    out.push(body.subarray(pos, pos + size));
    pos += size + 2;
  }
  return Buffer.concat(out);
}

const SERVICE_BY_SIGNING_NAME = (services: ServiceDef[]): Map<string, ServiceDef[]> => {
  const m = new Map<string, ServiceDef[]>();
  for (const s of services) {
    const list = m.get(s.signingName) ?? [];
    list.push(s);
    m.set(s.signingName, list);
  }
  return m;
};

interface RestRoute {
  name: string;
  def: OpDef;
  method: string;
  pathSegments: string[];
  greedyKey: boolean;
  literals: [string, string | undefined][];
}

function restRoutes(service: ServiceDef): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const [name, def] of Object.entries(service.ops)) {
    const h = httpTrait(def.schema);
    if (!h) continue;
    const [method, uri] = h;
    const [pathPart, queryPart] = uri.split('?') as [string, string | undefined];
    const literals: [string, string | undefined][] = [];
    for (const q of (queryPart ?? '').split('&')) {
      if (!q) continue;
      const [k, v] = q.split('=') as [string, string | undefined];
      if (k === 'x-id') continue;
      literals.push([k, v]);
    }
    const segs = pathPart.split('/').filter(Boolean);
    routes.push({
      name,
      def,
      method,
      pathSegments: segs,
      greedyKey: segs.some((s) => s.endsWith('+}')),
      literals,
    });
  }
  // Prefer the route with the most query literals.
  return routes.sort((a, b) => b.literals.length - a.literals.length);
}

export function createSandboxServer(deps: ServerDeps): http.Server {
  const { engine, faults } = deps;
  const bySigningName = SERVICE_BY_SIGNING_NAME(deps.services);
  const byTargetPrefix = new Map<string, ServiceDef>();
  for (const s of deps.services) {
    if (s.targetPrefix) byTargetPrefix.set(s.targetPrefix, s);
    for (const a of s.targetAliases ?? []) byTargetPrefix.set(a, s);
  }
  const routesCache = new Map<ServiceDef, RestRoute[]>();
  const s3 = deps.services.find((s) => s.name === 's3');
  const s3control = deps.services.find((s) => s.name === 's3control');

  function record(rec: CallRecord): void {
    deps.calls.push(rec);
    if (deps.calls.length > deps.maxCallLog)
      deps.calls.splice(0, deps.calls.length - deps.maxCallLog);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    const method = req.method ?? 'GET';
    const authHeader = req.headers.authorization;
    const scope = credentialScope(authHeader);
    const target = req.headers['x-amz-target'];

    // Pick the service before reading the body, so an oversized body gets the right error shape.
    let service: ServiceDef | undefined;
    if (url.pathname.startsWith('/_sandbox/') || url.pathname === '/_sandbox') {
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch {
        send(res, {
          status: 413,
          headers: { 'content-type': 'application/json' },
          body: '{"error":"body too large"}',
        });
        return;
      }
      await deps.control(req, res, body, url);
      return;
    }
    if (typeof target === 'string') {
      service = byTargetPrefix.get(target.split('.').slice(0, -1).join('.'));
    }
    if (!service && scope) {
      const candidates = bySigningName.get(scope.service);
      if (scope.service === 's3') service = url.pathname.startsWith('/v20180820/') ? s3control : s3;
      else service = candidates?.[0];
    }
    if (!service && !scope && !target) {
      // Unsigned: answer like the service the shape suggests.
      const proto = method === 'POST' ? 'query' : 'restxml';
      send(res, renderError(proto, authErrors(proto, '').missing(), requestId), method === 'HEAD');
      return;
    }
    if (!service) {
      const proto = typeof target === 'string' ? 'json' : 'query';
      const err =
        proto === 'json'
          ? new AwsError('UnknownOperationException', `Unknown operation ${String(target)}`, 400)
          : new AwsError('InvalidAction', 'Could not find operation for the request', 400);
      send(res, renderError(proto, err, requestId));
      return;
    }
    const svc = service;
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        const err =
          svc.protocol === 'restxml'
            ? new AwsError(
                'EntityTooLarge',
                'Your proposed upload exceeds the maximum allowed size',
                400,
              )
            : new AwsError('RequestEntityTooLarge', 'Request body must be less than 10 MB', 413);
        res.setHeader('connection', 'close');
        send(res, renderError(svc, err, requestId));
        return;
      }
      throw e;
    }
    const wire = await dispatch(svc, req, url, body, requestId);
    send(res, wire, method === 'HEAD');
  }

  async function dispatch(
    svc: ServiceDef,
    req: http.IncomingMessage,
    url: URL,
    rawBody: Buffer,
    requestId: string,
  ): Promise<WireResponse> {
    const errs = authErrors(svc.protocol, svc.name);
    let opName = '?';
    let caller: Caller | undefined;
    let region = 'us-east-1';
    const fail = (e: AwsError): WireResponse => {
      record({
        time: engine.now(),
        service: svc.name,
        operation: opName,
        accountId: caller?.accountId ?? '',
        region,
        caller: caller?.arn ?? '',
        status: e.status,
        errorCode: e.code,
      });
      return renderError(svc, e, requestId);
    };
    try {
      // ---- authentication ----
      const auth = parseAuthorization(req.headers.authorization);
      if (!req.headers.authorization) return fail(errs.missing());
      if (!auth) return fail(errs.malformed());
      region = auth.region;
      const headers = headerMap(req);
      let body = rawBody;
      let payloadHash: string;
      const contentSha = headers.get('x-amz-content-sha256')?.[0];
      if (contentSha && /^[0-9a-f]{64}$/.test(contentSha)) {
        if (sha256Hex(rawBody) !== contentSha)
          return fail(
            new AwsError(
              'XAmzContentSHA256Mismatch',
              "The provided 'x-amz-content-sha256' header does not match what was computed.",
              400,
            ),
          );
        payloadHash = contentSha;
      } else if (contentSha) {
        payloadHash = contentSha;
        if (
          contentSha.startsWith('STREAMING-') ||
          /aws-chunked/.test(String(req.headers['content-encoding'] ?? ''))
        )
          body = decodeAwsChunked(rawBody);
      } else payloadHash = sha256Hex(rawBody);
      const cred = engine.credentials.get(auth.accessKeyId);
      if (!cred) return fail(errs.invalidKey());
      const amzDate = headers.get('x-amz-date')?.[0];
      const signedAt = parseAmzDate(amzDate);
      if (signedAt === undefined || !amzDate) return fail(errs.malformed());
      if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) return fail(errs.skewed());
      const rawUrl = req.url ?? '/';
      const qIndex = rawUrl.indexOf('?');
      const ok = verifySignature(
        {
          method: req.method ?? 'GET',
          rawPath: qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex),
          rawQuery: qIndex < 0 ? '' : rawUrl.slice(qIndex + 1),
          headers,
          payloadHash,
        },
        auth,
        cred.secret,
        amzDate,
      );
      if (!ok) return fail(errs.badSignature());
      if (cred.session) {
        const token = headers.get('x-amz-security-token')?.[0];
        if (token !== cred.session.token) return fail(errs.invalidToken());
        if (cred.session.expiresAt <= engine.now()) return fail(errs.expired());
      }
      caller = engine.callerFor(cred);
      if (!caller) return fail(errs.invalidKey());
      const account = engine.accounts.get(caller.accountId)!;
      if (caller.userName) {
        const key = account.iam.users
          .get(caller.userName)
          ?.accessKeys.find((k) => k.id === cred.accessKeyId);
        if (key) key.lastUsed = { date: engine.now(), service: svc.signingName, region };
      }
      const regional = !['iam', 'sts', 's3', 's3control'].includes(svc.name);
      if (regional && !account.enabledRegions.includes(region)) return fail(errs.invalidKey());

      // ---- operation and input ----
      let def: OpDef | undefined;
      let input: Obj = {};
      const restExtras: { bucket?: string; key?: string } = {};
      if (svc.protocol === 'ec2' || svc.protocol === 'query') {
        const params = new Map<string, string>();
        for (const [k, v] of url.searchParams) params.set(k, v);
        const ctype = String(req.headers['content-type'] ?? '');
        if (body.length > 0 && (ctype.includes('x-www-form-urlencoded') || ctype === '')) {
          for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
        }
        const action = params.get('Action');
        if (!action) return fail(new AwsError('MissingAction', 'Missing Action', 400));
        opName = action;
        def = Object.hasOwn(svc.ops, action) ? svc.ops[action] : undefined;
        if (!def)
          return fail(
            new AwsError(
              'InvalidAction',
              `The action ${action} is not valid for this web service.`,
              400,
            ),
          );
        params.delete('Action');
        params.delete('Version');
        input = decodeQueryInput(ioSchemas(def.schema).input, params, svc.protocol === 'ec2');
      } else if (svc.protocol === 'json') {
        const t = String(req.headers['x-amz-target'] ?? '');
        const name = t.slice(t.lastIndexOf('.') + 1);
        opName = name || '?';
        const prefix = t.slice(0, t.lastIndexOf('.'));
        const knownPrefix =
          prefix === svc.targetPrefix || (svc.targetAliases ?? []).includes(prefix);
        if (!knownPrefix || !Object.hasOwn(svc.ops, name))
          return fail(new AwsError('UnknownOperationException', `Unknown operation ${t}`, 400));
        def = svc.ops[name]!;
        let parsed: unknown = {};
        if (body.length > 0) {
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            return fail(
              new AwsError(
                'SerializationException',
                'Start of structure or map found where not expected.',
                400,
              ),
            );
          }
        }
        input = (readJson(ioSchemas(def.schema).input, parsed) as Obj | undefined) ?? {};
      } else {
        const routed = routeRest(svc, req.method ?? 'GET', url, body, req.headers, restExtras);
        if (!routed)
          return fail(
            new AwsError(
              'MethodNotAllowed',
              'The specified method is not allowed against this resource.',
              405,
            ),
          );
        opName = routed.name;
        def = routed.def;
        input = routed.input;
      }

      // ---- faults ----
      if (faults.active) {
        const d = faults.decide(svc.name, opName, account.id, region);
        for (const del of d.deleteRoles) {
          const acct = engine.accounts.get(del.accountId ?? account.id);
          acct?.iam.roles.delete(del.roleName);
        }
        for (const ex of d.expireSessions) {
          for (const c of engine.credentials.values()) {
            if (!c.session) continue;
            if (c.accountId !== (ex.accountId ?? account.id)) continue;
            if (ex.roleName && c.session.roleName !== ex.roleName) continue;
            c.session.expiresAt = Math.min(c.session.expiresAt, engine.now());
          }
        }
        if (d.delayMs > 0) await new Promise((r) => setTimeout(r, d.delayMs));
        if (d.expireSessions.length && cred.session && cred.session.expiresAt <= engine.now())
          return fail(errs.expired());
        if (d.error === 'throttle') return fail(throttleError(svc.protocol, svc.name));
        if (d.error === 'error500') return fail(serverError(svc.protocol, 500));
        if (d.error === 'error503') return fail(serverError(svc.protocol, 503));
        if (d.error === 'accessDenied')
          return fail(
            accessDeniedError(
              svc.protocol,
              svc.name,
              caller.arn,
              def.action ?? `${svc.actionPrefix}:${opName}`,
              '*',
              true,
            ),
          );
      }

      // ---- context, authorisation, handler ----
      const httpInfo: HttpInfo = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      const theCaller = caller;
      const ctx: Ctx = {
        engine,
        account,
        region,
        get regionState() {
          return engine.region(account, region);
        },
        caller: theCaller,
        now: engine.now(),
        requestId,
        service: svc,
        operation: opName,
        http: httpInfo,
        allowed: (action: string, resource: string, extra?: RequestContext) =>
          engine.decide(
            theCaller,
            action,
            resource,
            region,
            extra,
            svc.resourcePolicy?.(ctx, input, resource),
          ) === 'allow',
        authorize: (action: string, resource: string, extra?: RequestContext) => {
          const decision = engine.decide(
            theCaller,
            action,
            resource,
            region,
            extra,
            svc.resourcePolicy?.(ctx, input, resource),
          );
          if (decision !== 'allow')
            throw accessDeniedError(
              svc.protocol,
              svc.name,
              theCaller.arn,
              action,
              resource,
              decision === 'explicit-deny',
            );
        },
      };
      if (restExtras.bucket !== undefined)
        (ctx as Ctx & { bucket?: string }).bucket = restExtras.bucket;
      svc.precheck?.(ctx, opName, input);
      if (!def.noAuth && !def.selfAuth) {
        const action = def.action ?? `${svc.actionPrefix}:${opName}`;
        const resource = def.resource ? def.resource(input, ctx) : '*';
        ctx.authorize(action, resource);
      }
      const out = await def.handler(ctx, input);
      let wire: WireResponse;
      if (out && typeof out === 'object' && (out as RawResponse).$raw)
        wire = renderRaw(out as RawResponse, requestId);
      else
        wire = renderSuccess(
          svc,
          opName,
          ioSchemas(def.schema).output,
          out,
          requestId,
          httpTrait(def.schema)?.[2] ?? 200,
        );
      record({
        time: engine.now(),
        service: svc.name,
        operation: opName,
        accountId: account.id,
        region,
        caller: caller.arn,
        status: wire.status,
      });
      return wire;
    } catch (e) {
      if (e instanceof AwsError) return fail(e);
      if (e instanceof SerdeError) {
        const code =
          svc.protocol === 'json'
            ? 'SerializationException'
            : svc.protocol === 'restxml'
              ? 'MalformedXML'
              : svc.protocol === 'ec2'
                ? 'InvalidParameterValue'
                : 'ValidationError';
        return fail(new AwsError(code, e.message, 400));
      }
      if (e instanceof XmlSyntaxError)
        return fail(
          new AwsError(
            'MalformedXML',
            'The XML you provided was not well-formed or did not validate against our published schema',
            400,
          ),
        );
      return fail(serverError(svc.protocol, 500));
    }
  }

  function routeRest(
    svc: ServiceDef,
    method: string,
    url: URL,
    body: Buffer,
    headers: http.IncomingHttpHeaders,
    extras: { bucket?: string; key?: string },
  ): { name: string; def: OpDef; input: Obj } | undefined {
    let routes = routesCache.get(svc);
    if (!routes) {
      routes = restRoutes(svc);
      routesCache.set(svc, routes);
    }
    const segs = url.pathname.split('/').filter(Boolean);
    const labels: Record<string, string> = {};
    let candidates: RestRoute[];
    if (svc.name === 's3') {
      const bucket = segs[0] !== undefined ? decodeURIComponent(segs[0]) : undefined;
      const rest = url.pathname.split('/').slice(2).join('/');
      const key = rest ? decodeURIComponent(rest) : undefined;
      if (bucket !== undefined) labels.Bucket = bucket;
      if (key !== undefined) labels.Key = key;
      extras.bucket = bucket;
      extras.key = key;
      candidates = routes.filter(
        (r) =>
          r.method === method &&
          (bucket === undefined ? r.name === 'ListBuckets' : r.name !== 'ListBuckets') &&
          r.greedyKey === (key !== undefined),
      );
    } else {
      candidates = routes.filter((r) => {
        if (r.method !== method || r.pathSegments.length !== segs.length) return false;
        return r.pathSegments.every((p, i) => p.startsWith('{') || p === segs[i]);
      });
      for (const r of candidates.slice(0, 1))
        r.pathSegments.forEach((p, i) => {
          if (p.startsWith('{')) labels[p.replace(/[{}+]/g, '')] = decodeURIComponent(segs[i]!);
        });
    }
    const route = candidates.find((r) =>
      r.literals.every(
        ([k, v]) => url.searchParams.has(k) && (v === undefined || url.searchParams.get(k) === v),
      ),
    );
    if (!route) return undefined;
    const ns = ioSchemas(route.def.schema).input;
    const input: Obj = {};
    let bodyMembers = false;
    for (const [name, member] of ns.structIterator()) {
      const t = member.getMergedTraits();
      if (t.httpLabel) {
        if (labels[name] !== undefined) input[name] = labels[name];
      } else if (typeof t.httpQuery === 'string') {
        const v = url.searchParams.get(t.httpQuery);
        if (v !== null)
          input[name] = member.isListSchema()
            ? url.searchParams.getAll(t.httpQuery)
            : readXml(member, v, name);
      } else if (typeof t.httpHeader === 'string') {
        const v = headers[t.httpHeader.toLowerCase()];
        if (v !== undefined)
          input[name] = readXml(member, Array.isArray(v) ? v.join(',') : v, name);
      } else if (t.httpPayload) {
        if (member.isStructSchema()) {
          if (body.length > 0) {
            const parsed = parseXml(body.toString('utf8'));
            const root = Object.keys(parsed)[0];
            if (root !== undefined) input[name] = readXml(member, parsed[root] ?? '', name);
          }
        } else if (member.isBlobSchema()) input[name] = body;
        else if (body.length > 0) input[name] = body.toString('utf8');
      } else if (!t.httpPrefixHeaders && !t.httpQueryParams) bodyMembers = true;
    }
    if (bodyMembers && body.length > 0) {
      const parsed = parseXml(body.toString('utf8'));
      const root = Object.keys(parsed)[0];
      if (root !== undefined) Object.assign(input, readXml(ns, parsed[root] ?? '') as Obj);
    }
    return { name: route.name, def: route.def, input };
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, headers: {}, body: '' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  return server;
}

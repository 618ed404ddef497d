// Schema-driven (de)serialisation, server side. The shapes come from the SDK's own models
// (the static schemas exported by each @aws-sdk/client-*), walked with @smithy/core's
// NormalizedSchema, so the wire names (ec2QueryName, xmlName, flattened lists, payload members)
// are the ones the SDK expects.
import { NormalizedSchema } from '@smithy/core/schema';
import { escapeXml } from '../xml.js';

export type Obj = Record<string, unknown>;
// The SDK's static operation schema: [9, namespace, name, traits, input, output].
export type OperationSchema = readonly [number, string, string, unknown, unknown, unknown];

export class SerdeError extends Error {}

const schemaCache = new WeakMap<object, { input: NormalizedSchema; output: NormalizedSchema }>();
export function ioSchemas(op: OperationSchema): {
  input: NormalizedSchema;
  output: NormalizedSchema;
} {
  let hit = schemaCache.get(op);
  if (!hit) {
    hit = {
      input: NormalizedSchema.of(op[4] as never),
      output: NormalizedSchema.of(op[5] as never),
    };
    schemaCache.set(op, hit);
  }
  return hit;
}

export function httpTrait(op: OperationSchema): [string, string, number] | undefined {
  const t = op[3] as { http?: [string, string, number] } | number;
  return typeof t === 'object' && t ? t.http : undefined;
}

// ---------- scalars ----------
function readScalar(ns: NormalizedSchema, raw: string, where: string): unknown {
  if (ns.isBooleanSchema()) {
    if (raw === 'true' || raw === 'True') return true;
    if (raw === 'false' || raw === 'False') return false;
    throw new SerdeError(`Invalid boolean value '${raw}' for ${where}`);
  }
  if (ns.isNumericSchema()) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new SerdeError(`Invalid numeric value '${raw}' for ${where}`);
    return n;
  }
  if (ns.isTimestampSchema()) {
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
    if (!Number.isFinite(n)) throw new SerdeError(`Invalid timestamp '${raw}' for ${where}`);
    return new Date(n);
  }
  if (ns.isBlobSchema()) return Buffer.from(raw, 'base64');
  return raw;
}

// ---------- query protocol input (EC2 and awsQuery) ----------
interface QNode {
  value?: string;
  children?: Map<string, QNode>;
}

function buildTree(params: Map<string, string>): QNode {
  const root: QNode = {};
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      node.children ??= new Map();
      let child = node.children.get(part);
      if (!child) {
        child = {};
        node.children.set(part, child);
      }
      node = child;
    }
    node.value = value;
  }
  return root;
}

function memberKey(name: string, ns: NormalizedSchema, ec2: boolean): string {
  const t = ns.getMergedTraits();
  if (ec2) {
    if (typeof t.ec2QueryName === 'string') return t.ec2QueryName;
    const base = typeof t.xmlName === 'string' ? t.xmlName : name;
    return base[0]!.toUpperCase() + base.slice(1);
  }
  return typeof t.xmlName === 'string' ? t.xmlName : name;
}

function readQuery(ns: NormalizedSchema, node: QNode, ec2: boolean, where: string): unknown {
  if (ns.isListSchema()) {
    if (!node.children) return node.value === '' ? [] : undefined;
    const member = ns.getValueSchema();
    const flat = ec2 || !!ns.getMergedTraits().xmlFlattened;
    let container: QNode | undefined = node;
    if (!flat) {
      const mt = member.getMergedTraits();
      const itemKey = typeof mt.xmlName === 'string' ? mt.xmlName : 'member';
      container = node.children.get(itemKey);
      if (!container?.children) return [];
    }
    const indexes = [...container.children!.keys()]
      .filter((k) => /^\d+$/.test(k))
      .map(Number)
      .sort((a, b) => a - b);
    return indexes.map((i) =>
      readQuery(member, container!.children!.get(String(i))!, ec2, `${where}.${i}`),
    );
  }
  if (ns.isMapSchema()) {
    const out: Obj = {};
    const entries = ns.getMergedTraits().xmlFlattened
      ? node.children
      : node.children?.get('entry')?.children;
    for (const [, entry] of entries ?? []) {
      const k = entry.children?.get('key')?.value;
      const v = entry.children?.get('value');
      if (k !== undefined && v) out[k] = readQuery(ns.getValueSchema(), v, ec2, `${where}.${k}`);
    }
    return out;
  }
  if (ns.isStructSchema()) {
    const out: Obj = {};
    for (const [name, member] of ns.structIterator()) {
      const child = node.children?.get(memberKey(name, member, ec2));
      if (!child) continue;
      const v = readQuery(member, child, ec2, where ? `${where}.${name}` : name);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
  if (node.value === undefined) return undefined;
  return readScalar(ns, node.value, where);
}

export function decodeQueryInput(
  ns: NormalizedSchema,
  params: Map<string, string>,
  ec2: boolean,
): Obj {
  return (readQuery(ns, buildTree(params), ec2, '') as Obj | undefined) ?? {};
}

// ---------- XML output ----------
// The schema walk is compiled once per shape into a small plan (element names, list/map
// wrappers, scalar kinds), so encoding a response does not re-derive traits on every call.
type XmlPlan =
  | { kind: 'struct'; members: XmlMember[]; attrs: XmlMember[] }
  | { kind: 'list'; flat: boolean; itemName: string; item: () => XmlPlan }
  | { kind: 'map'; value: () => XmlPlan }
  | { kind: 'document' }
  | { kind: 'scalar'; ns: NormalizedSchema; timestamp?: string; blob: boolean };
interface XmlMember {
  name: string;
  element: string;
  httpBound: boolean;
  plan: () => XmlPlan;
}

function lazy<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

const planCache = new WeakMap<NormalizedSchema, XmlPlan>();

function compile(ns: NormalizedSchema): XmlPlan {
  const hit = planCache.get(ns);
  if (hit) return hit;
  let plan: XmlPlan;
  if (ns.isListSchema()) {
    const member = ns.getValueSchema();
    const mt = member.getMergedTraits();
    plan = {
      kind: 'list',
      flat: !!ns.getMergedTraits().xmlFlattened,
      itemName: typeof mt.xmlName === 'string' ? mt.xmlName : 'member',
      item: lazy(() => compile(member)),
    };
  } else if (ns.isMapSchema()) {
    const value = ns.getValueSchema();
    plan = { kind: 'map', value: lazy(() => compile(value)) };
  } else if (ns.isStructSchema()) {
    const members: XmlMember[] = [];
    const attrs: XmlMember[] = [];
    for (const [name, member] of ns.structIterator()) {
      const t = member.getMergedTraits();
      const mt = member.getMemberTraits();
      const entry: XmlMember = {
        name,
        element: t.xmlAttribute
          ? typeof t.xmlName === 'string'
            ? t.xmlName
            : name
          : typeof mt.xmlName === 'string'
            ? mt.xmlName
            : name,
        httpBound: !!(t.httpHeader || t.httpPayload || t.httpResponseCode || t.httpPrefixHeaders),
        plan: lazy(() => compile(member)),
      };
      (t.xmlAttribute ? attrs : members).push(entry);
    }
    plan = { kind: 'struct', members, attrs };
  } else if (ns.isDocumentSchema()) plan = { kind: 'document' };
  else {
    const fmt = ns.getMergedTraits().timestampFormat;
    plan = {
      kind: 'scalar',
      ns,
      timestamp: ns.isTimestampSchema() ? (typeof fmt === 'string' ? fmt : 'date-time') : undefined,
      blob: ns.isBlobSchema(),
    };
  }
  planCache.set(ns, plan);
  return plan;
}

function scalarText(plan: Extract<XmlPlan, { kind: 'scalar' }>, v: unknown): string {
  if (plan.timestamp) {
    const d = v instanceof Date ? v : new Date(v as number | string);
    if (plan.timestamp === 'http-date') return d.toUTCString();
    if (plan.timestamp === 'epoch-seconds') return String(d.getTime() / 1000);
    return d.toISOString();
  }
  if (plan.blob)
    return Buffer.isBuffer(v) ? v.toString('base64') : Buffer.from(String(v)).toString('base64');
  return typeof v === 'string' ? escapeXml(v) : String(v);
}

function encodePlan(plan: XmlPlan, value: unknown, name: string): string {
  if (value === undefined || value === null) return '';
  switch (plan.kind) {
    case 'list': {
      if (!Array.isArray(value)) return '';
      const item = plan.item();
      if (plan.flat) {
        let s = '';
        for (const v of value) s += encodePlan(item, v, name);
        return s;
      }
      let s = `<${name}>`;
      for (const v of value) s += encodePlan(item, v, plan.itemName);
      return s + `</${name}>`;
    }
    case 'map': {
      const vp = plan.value();
      let s = `<${name}>`;
      for (const [k, v] of Object.entries(value as Obj))
        s += `<entry><key>${escapeXml(k)}</key>${encodePlan(vp, v, 'value')}</entry>`;
      return s + `</${name}>`;
    }
    case 'struct': {
      let attrs = '';
      for (const a of plan.attrs) {
        const v = (value as Obj)[a.name];
        if (v === undefined || v === null) continue;
        if (a.element.startsWith('xsi:'))
          attrs += ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
        attrs += ` ${a.element}="${escapeXml(String(v))}"`;
      }
      return `<${name}${attrs}>${encodeStruct(plan, value as Obj, false)}</${name}>`;
    }
    case 'document':
      return `<${name}>${escapeXml(JSON.stringify(value))}</${name}>`;
    case 'scalar':
      return `<${name}>${scalarText(plan, value)}</${name}>`;
  }
}

function encodeStruct(
  plan: Extract<XmlPlan, { kind: 'struct' }>,
  value: Obj,
  skipHttpBound: boolean,
): string {
  let s = '';
  for (const m of plan.members) {
    const v = value[m.name];
    if (v === undefined || v === null) continue;
    if (skipHttpBound && m.httpBound) continue;
    s += encodePlan(m.plan(), v, m.element);
  }
  return s;
}

export function encodeXmlValue(ns: NormalizedSchema, value: unknown, name: string): string {
  return encodePlan(compile(ns), value, name);
}

/** The members of a structure as XML elements (no wrapper), optionally skipping HTTP-bound members. */
export function encodeXmlMembers(ns: NormalizedSchema, value: Obj, skipHttpBound = false): string {
  const plan = compile(ns);
  return plan.kind === 'struct' ? encodeStruct(plan, value, skipHttpBound) : '';
}

// ---------- XML input (REST-XML payloads) ----------
export function readXml(ns: NormalizedSchema, value: unknown, where = ''): unknown {
  if (value === undefined || value === null) return undefined;
  if (ns.isListSchema()) {
    const member = ns.getValueSchema();
    let items: unknown;
    if (ns.getMergedTraits().xmlFlattened) items = value;
    else {
      if (typeof value !== 'object') return [];
      const mt = member.getMergedTraits();
      items = (value as Obj)[typeof mt.xmlName === 'string' ? mt.xmlName : 'member'];
    }
    if (items === undefined || items === '') return [];
    const arr = Array.isArray(items) ? items : [items];
    return arr.map((v, i) => readXml(member, v, `${where}[${i}]`));
  }
  if (ns.isMapSchema()) {
    const out: Obj = {};
    const entries = (value as Obj).entry;
    for (const e of Array.isArray(entries) ? entries : entries ? [entries] : []) {
      const entry = e as Obj;
      out[String(entry.key)] = readXml(ns.getValueSchema(), entry.value, where);
    }
    return out;
  }
  if (ns.isStructSchema()) {
    if (typeof value !== 'object') {
      if (value === '') return {};
      throw new SerdeError(`Expected an element for ${where || 'the document'}`);
    }
    const out: Obj = {};
    for (const [name, member] of ns.structIterator()) {
      const mt = member.getMemberTraits();
      const key = typeof mt.xmlName === 'string' ? mt.xmlName : name;
      const v = (value as Obj)[key];
      if (v === undefined) continue;
      out[name] = readXml(member, v, where ? `${where}.${name}` : name);
    }
    return out;
  }
  if (typeof value === 'object') {
    const text = (value as Obj)['#text'];
    if (text === undefined) {
      if (Object.keys(value as Obj).every((k) => k.startsWith('xmlns')))
        return readScalar(ns, '', where);
      throw new SerdeError(`Unexpected element content for ${where}`);
    }
    return readScalar(ns, String(text), where);
  }
  return readScalar(ns, String(value), where);
}

// ---------- JSON ----------
export function readJson(ns: NormalizedSchema, value: unknown, where = ''): unknown {
  if (value === null || value === undefined) return undefined;
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) throw new SerdeError(`Expected a list for ${where}`);
    return value.map((v, i) => readJson(ns.getValueSchema(), v, `${where}[${i}]`));
  }
  if (ns.isMapSchema()) {
    if (typeof value !== 'object' || Array.isArray(value))
      throw new SerdeError(`Expected a map for ${where}`);
    const out: Obj = {};
    for (const [k, v] of Object.entries(value as Obj))
      out[k] = readJson(ns.getValueSchema(), v, `${where}.${k}`);
    return out;
  }
  if (ns.isStructSchema()) {
    if (typeof value !== 'object' || Array.isArray(value))
      throw new SerdeError(`Expected an object for ${where || 'the request'}`);
    const out: Obj = {};
    for (const [name, member] of ns.structIterator()) {
      const v = (value as Obj)[name];
      if (v !== undefined && v !== null)
        out[name] = readJson(member, v, where ? `${where}.${name}` : name);
    }
    return out;
  }
  if (ns.isTimestampSchema()) {
    const ms = typeof value === 'number' ? value * 1000 : Date.parse(String(value));
    if (!Number.isFinite(ms)) throw new SerdeError(`Invalid timestamp for ${where}`);
    return new Date(ms);
  }
  if (ns.isBlobSchema()) {
    if (typeof value !== 'string') throw new SerdeError(`Expected base64 for ${where}`);
    return Buffer.from(value, 'base64');
  }
  if (ns.isBooleanSchema() && typeof value !== 'boolean')
    throw new SerdeError(`Expected a boolean for ${where}`);
  if (ns.isNumericSchema() && typeof value !== 'number')
    throw new SerdeError(`Expected a number for ${where}`);
  if (ns.isStringSchema() && typeof value !== 'string')
    throw new SerdeError(`Expected a string for ${where}`);
  return value;
}

export function writeJson(ns: NormalizedSchema, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (ns.isListSchema()) return (value as unknown[]).map((v) => writeJson(ns.getValueSchema(), v));
  if (ns.isMapSchema()) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value as Obj)) out[k] = writeJson(ns.getValueSchema(), v);
    return out;
  }
  if (ns.isStructSchema()) {
    const out: Obj = {};
    for (const [name, member] of ns.structIterator()) {
      const v = (value as Obj)[name];
      if (v !== undefined && v !== null) out[name] = writeJson(member, v);
    }
    return out;
  }
  if (ns.isTimestampSchema()) {
    const ms = value instanceof Date ? value.getTime() : Number(value);
    return ms / 1000;
  }
  if (ns.isBlobSchema()) return Buffer.isBuffer(value) ? value.toString('base64') : value;
  return value;
}

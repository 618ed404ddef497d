// People by name instead of by id: the organization's principals, read once (GET /api/v1/principals,
// open to every member) and kept for a minute, so tables of events, decisions and authors say who.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import type { Principal } from './types';
import { Mono, short } from './ui';

let cache: { at: number; people: Promise<Map<string, Principal>> } | undefined;

function people(): Promise<Map<string, Principal>> {
  if (!cache || Date.now() - cache.at > 60_000) {
    const people = api
      .get<{ principals: Principal[] }>('/api/v1/principals')
      .then((r) => new Map(r.principals.map((p) => [p.id, p])));
    // A failed read is not kept: the next table asks again (ids show meanwhile).
    people.catch(() => (cache = undefined));
    cache = { at: Date.now(), people };
  }
  return cache.people;
}

/** A principal's name (e-mail and id on hover); the short id until the names are known, or if unknown. */
export function Person(props: { id: string | null | undefined }): JSX.Element {
  const [who, setWho] = useState<Principal>();
  useEffect(() => {
    let live = true;
    if (props.id)
      people().then(
        (m) => live && setWho(m.get(props.id!)),
        () => undefined,
      );
    return () => {
      live = false;
    };
  }, [props.id]);
  if (!props.id) return <span class="muted">—</span>;
  if (!who) return <Mono title={props.id}>{short(props.id)}</Mono>;
  return (
    <span data-testid="person" title={`${who.email} (${who.id})`}>
      {who.display_name}
    </span>
  );
}

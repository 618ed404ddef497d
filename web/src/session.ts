// Who is signed in, as the server says (GET /api/v1/auth/session), shared by every page.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Grant {
  id: string;
  domain: string;
  facility_id: string | null;
  level: 'read' | 'operate' | 'author' | 'review';
  valid_until: string | null;
  delegation_type: string | null;
}

export interface Session {
  principal: { id: string; email: string; display_name: string; kind: string };
  organization: { id: string; slug: string; name: string; plan_tier: string };
  session: { id: string; kind: string; expires_at: string; auth_method: string };
  grants: Grant[];
  csrf_token: string;
}

const levels = ['read', 'operate', 'author', 'review'] as const;

/** Does the session hold at least `level` in `domain` (at `facility`, or organization-wide)? */
export function can(
  s: Session,
  level: Grant['level'],
  domain: string,
  facility?: string | null,
): boolean {
  const need = levels.indexOf(level);
  return s.grants.some(
    (g) =>
      g.domain === domain &&
      levels.indexOf(g.level) >= need &&
      (g.facility_id === null || facility === undefined || g.facility_id === facility),
  );
}

export const SessionContext = createContext<{ session: Session; refresh: () => void } | null>(null);

export function useSession(): { session: Session; refresh: () => void } {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

/** Organizations this browser has signed in to (for the switcher); slugs only, never credentials. */
export function knownOrganizations(): string[] {
  try {
    const v = JSON.parse(window.localStorage.getItem('axiom.organizations') ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 20) : [];
  } catch {
    return [];
  }
}

export function rememberOrganization(slug: string): void {
  const list = [slug, ...knownOrganizations().filter((s) => s !== slug)].slice(0, 20);
  window.localStorage.setItem('axiom.organizations', JSON.stringify(list));
}

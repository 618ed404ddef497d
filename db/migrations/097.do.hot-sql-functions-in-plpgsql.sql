-- 097: small helper functions on the read paths keep their plans (issue 9, the load benchmark).
--
-- An SQL-language function PostgreSQL cannot inline into its caller — one whose body holds a subquery,
-- an aggregate or a FROM list — is run by the SQL-function executor, which (before PostgreSQL 18) parses
-- and plans its body again on every call. PL/pgSQL keeps each statement's plan for the session. Measured
-- with track_functions on the load benchmark's organization: internal.valid_approvals took ~130 µs a
-- call and api.plan_get calls it twice (a quarter of the call); internal.readable_finding_facilities
-- (095) ~150 µs of api.finding_list. Serially, api.plan_get 1.32 → 0.99 ms and api.finding_list 1.84 →
-- 1.70 ms (api.session_whoami, the floor of any call, 0.82 ms). The functions below are the
-- non-inlinable SQL functions that run on requests; each keeps its signature, result and volatility,
-- and its body is the same query.

-- Approvals of a change request that count: one per person, not revoked, newer than p_since if given.
create or replace function internal.valid_approvals(p_change_request uuid, p_since timestamptz default null)
returns integer
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select count(distinct d.principal_id)::integer from core.change_request_decisions d
           where d.change_request_id = p_change_request and d.decision = 'approved'
             and (p_since is null or d.created_at > p_since)
             and not exists (select 1 from core.approval_revocations v where v.decision_id = d.id));
end
$$;

-- The facilities whose findings of a domain the caller may read.
create or replace function internal.readable_facilities(p_caller internal.caller, p_domain core.domain)
returns uuid[]
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(array_agg(f.id), '{}') from core.facilities f
           where internal.has_grant(p_caller.principal_id, 'read', p_domain, f.id)
             and internal.scope_allows(p_caller.scope, 'read', p_domain, f.id));
end
$$;

-- internal.readable_facilities for the three finding domains, in one statement (095).
create or replace function internal.readable_finding_facilities(
  p_caller internal.caller,
  out security uuid[],
  out cost uuid[],
  out drift uuid[]
)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  select coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'security', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'security', f.id)), '{}'),
         coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'cost', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'cost', f.id)), '{}'),
         coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'drift', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'drift', f.id)), '{}')
    into security, cost, drift
    from core.facilities f;
end
$$;

-- A connection's External IDs still accepted, the current one first (020).
create or replace function internal.external_ids(p_connection uuid)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return coalesce((
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('external_id', e.external_id, 'created_at', e.created_at,
             'current', e.superseded_at is null, 'accepted_until', e.accepted_until)
             order by e.superseded_at is null desc, e.created_at desc)
      from core.connection_external_ids e
     where e.connection_id = p_connection
       and (e.superseded_at is null or e.accepted_until > pg_catalog.now())), '[]'::jsonb);
end
$$;

-- The sealed secret of a connection's slot in use (020).
create or replace function internal.active_secret(p_connection uuid, p_slot text)
returns core.connection_secrets
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select s from core.connection_secrets s
           where s.connection_id = p_connection and s.slot = p_slot and s.retired_at is null);
end
$$;

-- The risk tier a change request's e-signature policy is chosen by (070).
create or replace function internal.change_request_risk_tier(c core.change_requests)
returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return case
    when c.target_kind = 'plan' then coalesce((select r.content ->> 'risk_tier' from core.records r
                                                where r.kind = 'plan' and r.record_id = c.proposed_record_id), 'high')
    when c.target_kind in ('signing_policy', 'facility_configuration') then 'high'
    else 'medium' end;
end
$$;

-- Consecutive successes of an action type since its last failure, in this organization (071).
create or replace function internal.action_streak(p_action text)
returns integer
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select count(*)::integer from core.execution_outcomes o
           where o.action_id = p_action and o.outcome = 'succeeded'
             and o.recorded_at > coalesce((select max(x.recorded_at) from core.execution_outcomes x
                                            where x.action_id = p_action and x.outcome <> 'succeeded'), '-infinity'));
end
$$;

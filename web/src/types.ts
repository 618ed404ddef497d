// Shapes the API returns (the api.* functions' JSON), as the dashboard reads them.

export interface Facility {
  id: string;
  slug: string;
  name: string;
  environment_tier: 'production' | 'staging' | 'development';
  created_at: string;
  retired_at: string | null;
}

export interface Principal {
  id: string;
  email: string;
  display_name: string;
  kind: string;
  is_agent: boolean;
  created_at: string;
  disabled_at: string | null;
}

export interface GrantRow {
  id: string;
  principal_id: string;
  domain: string;
  facility_id: string | null;
  level: string;
  granted_by: string | null;
  reason: string;
  valid_from: string;
  valid_until: string | null;
  delegation_type: string | null;
  source_grant_id: string | null;
  created_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
  in_force: boolean;
}

export interface RecordVersion {
  record_id: string;
  id: string;
  kind: string;
  version: number;
  lifecycle_state: string;
  facility_id: string | null;
  item_key?: string | null;
  content: Record<string, unknown>;
  record_hash: string;
  previous_record_hash: string | null;
  created_at: string;
  [k: string]: unknown;
}

export interface ChangeRequest {
  id: string;
  facility_id: string | null;
  domain: string;
  target_kind: string;
  target_item_id: string;
  proposed_record_id: string;
  proposed_record_hash: string;
  title: string;
  reason: string;
  author_id: string;
  required_approvals: number;
  created_at: string;
  state: 'draft' | 'in_review' | 'approved' | 'rejected' | 'withdrawn';
  submitted_at: string | null;
  decided_at: string | null;
  decisions: Array<{
    principal_id: string;
    decision: string;
    comment: string | null;
    record_hash: string;
    signature_id: string | null;
    created_at: string;
  }>;
  proposed_record?: RecordVersion;
  [k: string]: unknown;
}

export interface AuditEvent {
  id: string;
  event_type: string;
  occurred_at: string;
  actor_id: string | null;
  domain: string | null;
  facility_id: string | null;
  target_table: string | null;
  target_id: string | null;
  reason: string | null;
  /** JSON text, exactly as hashed. */
  details: string | null;
  has_state: boolean;
  cursor: string;
  [k: string]: unknown;
}

export interface SessionEvent {
  id: string;
  occurred_at: string;
  principal_id: string | null;
  session_id: string | null;
  operation: string;
  outcome: 'ok' | 'denied' | 'error';
  target_type: string | null;
  target_id: string | null;
  client_ip: string | null;
  request_id: string | null;
  error_code: string | null;
  cursor: string;
  [k: string]: unknown;
}

// The thresholds a check configuration can set, with their defaults and bounds (the database holds
// the same bounds: db/migrations/030, internal.validate_check_configuration).
export interface ThresholdSpec {
  default: number;
  min: number;
  max: number;
  integer: boolean;
  unit: string;
  description: string;
}

export const THRESHOLDS = {
  ec2_idle_cpu_percent: {
    default: 5,
    min: 0.1,
    max: 100,
    integer: false,
    unit: '%',
    description: 'an instance is idle on a day when its average CPU is below this',
  },
  ec2_idle_network_bytes_per_day: {
    default: 5_000_000,
    min: 1,
    max: 1e12,
    integer: true,
    unit: 'bytes',
    description: '… and its NetworkIn + NetworkOut for the day is below this',
  },
  ec2_idle_window_days: {
    default: 14,
    min: 1,
    max: 90,
    integer: true,
    unit: 'days',
    description: 'idle on every one of the last N days (and launched at least N days ago)',
  },
  ec2_stopped_days: {
    default: 30,
    min: 1,
    max: 3650,
    integer: true,
    unit: 'days',
    description: 'stopped for more than N days',
  },
  ebs_snapshot_age_days: {
    default: 90,
    min: 1,
    max: 3650,
    integer: true,
    unit: 'days',
    description: 'own snapshots started more than N days ago',
  },
  rds_idle_window_days: {
    default: 14,
    min: 1,
    max: 90,
    integer: true,
    unit: 'days',
    description: 'no connections on every one of the last N days (and created at least N days ago)',
  },
  rds_idle_max_connections: {
    default: 0,
    min: 0,
    max: 1_000_000,
    integer: true,
    unit: 'connections',
    description: 'a day counts as idle when its maximum DatabaseConnections is at most this',
  },
  iam_access_key_max_age_days: {
    default: 90,
    min: 1,
    max: 3650,
    integer: true,
    unit: 'days',
    description: 'active keys created more than N days ago',
  },
  iam_access_key_unused_days: {
    default: 45,
    min: 1,
    max: 3650,
    integer: true,
    unit: 'days',
    description:
      'active keys not used for more than N days (never used: created more than N days ago)',
  },
  password_min_length: {
    default: 14,
    min: 6,
    max: 128,
    integer: true,
    unit: 'characters',
    description: 'the password policy requires at least this length',
  },
  password_reuse_prevention: {
    default: 24,
    min: 1,
    max: 24,
    integer: true,
    unit: 'passwords',
    description: 'the password policy remembers at least this many previous passwords',
  },
} as const satisfies Record<string, ThresholdSpec>;

export type ThresholdKey = keyof typeof THRESHOLDS;
export const THRESHOLD_KEYS = Object.keys(THRESHOLDS) as [ThresholdKey, ...ThresholdKey[]];
export type Thresholds = Record<ThresholdKey, number>;

export function defaultThresholds(): Thresholds {
  return Object.fromEntries(THRESHOLD_KEYS.map((k) => [k, THRESHOLDS[k].default])) as Thresholds;
}

// The words findings are described with, in a module of their own so that the CLI can offer them
// without loading the check catalog.
export const DOMAINS = ['security', 'cost', 'drift'] as const;
export type FindingDomain = (typeof DOMAINS)[number];
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'] as const;
export type Severity = (typeof SEVERITIES)[number];

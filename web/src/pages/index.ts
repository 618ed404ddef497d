// Every page of the dashboard, in the order the navigation shows them.
import type { ComponentType } from 'preact';
import type { Route } from '../router';
import { AccountPage } from './account';
import { AdminPage } from './admin';
import { AuditPage } from './audit';
import { ChangesPage } from './changes';
import { ConnectionsPage, ScanPage } from './connections';
import { FindingsPage } from './findings';
import { OverviewPage } from './overview';
import { ExecutionsPage, PlansPage } from './plans';
import { SignaturePage } from './signature';

export interface PageDef {
  id: string;
  label: string;
  component: ComponentType<{ route: Route }>;
  hidden?: boolean;
}

export const pages: PageDef[] = [
  { id: 'overview', label: 'Overview', component: OverviewPage },
  { id: 'connections', label: 'Connections', component: ConnectionsPage },
  { id: 'findings', label: 'Findings', component: FindingsPage },
  { id: 'plans', label: 'Plans', component: PlansPage },
  { id: 'executions', label: 'Executions', component: ExecutionsPage },
  { id: 'changes', label: 'Change requests', component: ChangesPage },
  { id: 'audit', label: 'Audit', component: AuditPage },
  { id: 'admin', label: 'Administration', component: AdminPage },
  { id: 'scans', label: 'Scan', component: ScanPage, hidden: true },
  { id: 'account', label: 'Account', component: AccountPage, hidden: true },
  { id: 'signatures', label: 'Signature', component: SignaturePage, hidden: true },
];

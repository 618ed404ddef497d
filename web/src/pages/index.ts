// Every page of the dashboard, in the order the navigation shows them.
import type { ComponentType } from 'preact';
import type { Route } from '../router';
import { AccountPage } from './account';
import { AdminPage } from './admin';
import { AuditPage } from './audit';
import { ChangesPage } from './changes';
import { FindingsPage } from './findings';
import { OverviewPage } from './overview';
import { SignaturePage } from './signature';

export interface PageDef {
  id: string;
  label: string;
  component: ComponentType<{ route: Route }>;
  hidden?: boolean;
}

export const pages: PageDef[] = [
  { id: 'overview', label: 'Overview', component: OverviewPage },
  { id: 'findings', label: 'Findings', component: FindingsPage },
  { id: 'changes', label: 'Change requests', component: ChangesPage },
  { id: 'audit', label: 'Audit', component: AuditPage },
  { id: 'admin', label: 'Administration', component: AdminPage },
  { id: 'account', label: 'Account', component: AccountPage, hidden: true },
  { id: 'signatures', label: 'Signature', component: SignaturePage, hidden: true },
];

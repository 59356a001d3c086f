/**
 * THE route table: every HTTP API route of the server, one file each in this
 * folder. The gate (../gate.ts) runs them through ../router.ts, which applies
 * each route's access rule; Next never sees /api/* (the gate answers or 404s).
 * To add a route: a file here exporting defineRoute({...}) (../route.ts), one
 * line below, and a test that checks its answer with test/helpers/api-schema.ts
 * (against the zod schema and the OpenAPI document made from this table, ../openapi.ts).
 */
import type { RouteDef } from "../route";
import health from "./health";
import openapi from "./openapi";
import clustersList from "./clusters-list";
import clusterTimeline from "./cluster-timeline";
import clusterLogs from "./cluster-logs";
import clusterGaps from "./cluster-gaps";
import incidentsList from "./incidents-list";
import incidentGet from "./incident-get";
import stats from "./stats";
import reports from "./reports";
import metrics from "./metrics";
import authLogin from "./auth-login";
import authSetup from "./auth-setup";
import authLogout from "./auth-logout";
import authSession from "./auth-session";
import authOidcLogin from "./auth-oidc-login";
import authOidcCallback from "./auth-oidc-callback";
import incidentAck from "./incident-ack";
import maintenanceAdd from "./maintenance-add";
import maintenanceRemove from "./maintenance-remove";
import adminUsersList from "./admin-users-list";
import adminUserAdd from "./admin-user-add";
import adminUserRole from "./admin-user-role";
import adminUserPassword from "./admin-user-password";
import adminUserSessionsRevoke from "./admin-user-sessions-revoke";
import adminUserRemove from "./admin-user-remove";
import adminTokensList from "./admin-tokens-list";
import adminApiTokenAdd from "./admin-api-token-add";
import adminApiTokenRevoke from "./admin-api-token-revoke";
import adminWallTokenAdd from "./admin-wall-token-add";
import adminWallTokenRevoke from "./admin-wall-token-revoke";
import adminAgentTokenAdd from "./admin-agent-token-add";
import adminAgentTokenRevoke from "./admin-agent-token-revoke";
import downloads from "./downloads";
import agentEnrol from "./agent-enrol";
import adminEnrolmentCodesList from "./admin-enrolment-codes-list";
import adminEnrolmentCodeAdd from "./admin-enrolment-code-add";
import adminEnrolmentCodeRevoke from "./admin-enrolment-code-revoke";
import maintenanceList from "./maintenance-list";
import clusterSettings from "./cluster-settings";
import clusterSettingsSet from "./cluster-settings-set";
import maintenanceEnd from "./maintenance-end";
import auditList from "./audit-list";
import auditExport from "./audit-export";
import adminChannelsList from "./admin-channels-list";
import adminChannelAdd from "./admin-channel-add";
import adminChannelEdit from "./admin-channel-edit";
import adminChannelRemove from "./admin-channel-remove";
import adminChannelTest from "./admin-channel-test";
import adminChannelDeliveries from "./admin-channel-deliveries";

export const ROUTES: readonly RouteDef[] = [
  // public (the agent downloads and the enrolment code exchange: issue 14, "Add a node from the dashboard")
  health, openapi, downloads, agentEnrol,
  // the read API (DESIGN.md): sessions, API tokens, anonymous loopback reads; a wall session reads clusters and incidents
  clustersList, clusterTimeline, clusterLogs, clusterGaps, incidentsList, incidentGet, stats, reports, metrics, maintenanceList, clusterSettings,
  // sign-in
  authLogin, authSetup, authLogout, authSession,
  // sign-in with the identity provider (OIDC, issue 15): browser redirects, public (the flow cookie and the provider decide)
  authOidcLogin, authOidcCallback,
  // state changes (origin + CSRF + role)
  incidentAck, maintenanceAdd, maintenanceEnd, maintenanceRemove, clusterSettingsSet,
  adminUsersList, adminUserAdd, adminUserRole, adminUserPassword, adminUserSessionsRevoke, adminUserRemove,
  adminTokensList, adminApiTokenAdd, adminApiTokenRevoke, adminWallTokenAdd, adminWallTokenRevoke, adminAgentTokenAdd, adminAgentTokenRevoke,
  adminEnrolmentCodesList, adminEnrolmentCodeAdd, adminEnrolmentCodeRevoke,
  adminChannelsList, adminChannelAdd, adminChannelEdit, adminChannelRemove, adminChannelTest, adminChannelDeliveries,
  // the audit log (admin)
  auditList, auditExport,
];

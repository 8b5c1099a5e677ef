// Integracje: GoPOS and GoOrder credentials (secrets write-only), Synchronizuj with the run's
// live status, and the Połączenia tab.

import { gql, mutate } from "../api.js";
import { dateTime, t } from "../i18n.js";
import {
  Badge,
  ErrorSummary,
  html,
  Loading,
  otherErrors,
  PageTitle,
  TextInput,
  useInterval,
  useQuery,
  useState,
} from "../ui.js";
import { CHANNEL_NAMES, ConnectionBadge } from "./groups.js";
import * as documents from "../documents.js";

// The form of each channel: its plain settings and its one write-only secret.
const FORMS = {
  GOPOS: { plain: ["baseUrl", "clientId", "organizationId"], secret: "clientSecret" },
  GOORDER: { plain: ["baseUrl", "storeId"], secret: "apiKey" },
};
const FINISHED = new Set(["SUCCEEDED", "FAILED"]);

function SyncRunFacts({ run }) {
  if (!run) return html`<p class="hint">${t("integrations.neverSynced")}</p>`;
  return html`<div class="sync-run" data-sync-status=${run.status} data-run=${run.id}>
    <p>
      <${Badge} status=${run.status} label=${t(`operation.status.${run.status}`)} />
      ${" "}${dateTime(run.finishedAt || run.startedAt || run.queuedAt)}
    </p>
    ${FINISHED.has(run.status) && run.status === "SUCCEEDED"
      ? html`<p>${t("integrations.runCounts", { fetched: run.fetched, linked: run.linked, unmatched: run.unmatched })}</p>`
      : null}
    ${run.error ? html`<p class="field-error">${run.error}</p>` : null}
  </div>`;
}

function IntegrationCard({ integration, onChanged }) {
  const channel = integration.channel;
  const { plain, secret } = FORMS[channel];
  const [values, setValues] = useState({
    ...Object.fromEntries(plain.map((f) => [f, integration[f] || ""])),
    [secret]: "",
  });
  const [errors, setErrors] = useState([]);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState(integration.lastSync);
  const [syncErrors, setSyncErrors] = useState([]);
  const running = run !== null && !FINISHED.has(run.status);
  useInterval(
    async () => {
      const { syncRun } = await gql(documents.SyncRun, { id: run.id });
      setRun(syncRun);
      if (syncRun && FINISHED.has(syncRun.status)) onChanged();
    },
    500,
    running,
  );
  const set = (key) => (value) => {
    setSaved(false);
    setValues({ ...values, [key]: value });
  };
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    const input = Object.fromEntries(plain.map((f) => [f, values[f]]));
    if (values[secret]) input[secret] = values[secret];
    const { errors: problems } = await mutate(documents.ConfigureIntegration, { channel, input });
    setBusy(false);
    setErrors(problems);
    if (!problems.length) {
      setValues({ ...values, [secret]: "" });
      setSaved(true);
      onChanged();
    }
  };
  const synchronize = async () => {
    const { payload, errors: problems } = await mutate(documents.Synchronize, { channel });
    setSyncErrors(problems.filter((e) => e.code !== "CONFLICT"));
    if (payload && payload.syncRun) setRun(payload.syncRun);
  };
  const titleId = `integration-${channel}`;
  const fields = [...plain, secret].map((f) => `input.${f}`);
  return html`<section class="panel integration" aria-labelledby=${titleId}>
    <div class="title-row">
      <h2 id=${titleId}>${CHANNEL_NAMES[channel]}</h2>
      <${Badge}
        status=${integration.configured ? "CONFIGURED" : "NOT_CONFIGURED"}
        label=${t(integration.configured ? "integrations.configured" : "integrations.notConfigured")}
      />
    </div>
    <form onSubmit=${save} novalidate>
      <${ErrorSummary} errors=${otherErrors(errors, fields)} />
      ${plain.map(
        (f) => html`<${TextInput}
          label=${t(`integrations.${f}`)}
          path=${`input.${f}`}
          errors=${errors}
          value=${values[f]}
          onInput=${set(f)}
          type=${f === "baseUrl" ? "url" : "text"}
          spellcheck="false"
          autocomplete="off"
        />`,
      )}
      <${TextInput}
        label=${t(`integrations.${secret}`)}
        path=${`input.${secret}`}
        errors=${errors}
        value=${values[secret]}
        onInput=${set(secret)}
        type="password"
        autocomplete="new-password"
        hint=${t(integration.configured ? "integrations.secretKept" : "integrations.secretNew")}
      />
      <div class="actions">
        ${saved ? html`<span class="saved" role="status">${t("common.saved")}</span>` : null}
        <button type="submit" class="primary" disabled=${busy}>${t("common.save")}</button>
      </div>
    </form>
    <div class="sync" aria-live="polite">
      <h3>${t("integrations.lastSync")}</h3>
      <${SyncRunFacts} run=${run} />
      <${ErrorSummary} errors=${syncErrors} />
      <button type="button" onClick=${synchronize} disabled=${!integration.configured || running}>
        ${t("integrations.synchronize")}
      </button>
    </div>
  </section>`;
}

function Settings() {
  const found = useQuery(documents.Integrations);
  if (!found.data) return html`<${Loading} error=${found.error} />`;
  return html`<div class="cards">
    <${IntegrationCard} key="gopos" integration=${found.data.gopos} onChanged=${found.reload} />
    <${IntegrationCard} key="goorder" integration=${found.data.goorder} onChanged=${found.reload} />
  </div>`;
}

function Unmatched({ channel, integration }) {
  const references = integration.unmatchedReferences;
  return html`<div>
    <h3>${CHANNEL_NAMES[channel]}</h3>
    ${references.length
      ? html`<ul class="references" data-channel=${channel}>
          ${references.map((r) => html`<li><code>${r}</code></li>`)}
        </ul>`
      : html`<p class="empty">${t("integrations.noUnmatched")}</p>`}
  </div>`;
}

function Connections() {
  const found = useQuery(documents.GroupConnections);
  if (!found.data) return html`<${Loading} error=${found.error} />`;
  const { customerGroups, gopos, goorder } = found.data;
  return html`<section class="panel" aria-labelledby="connections-title">
      <h2 id="connections-title">${t("integrations.connections")}</h2>
      <table class="list connections">
        <thead>
          <tr>
            <th scope="col">${t("groups.name")}</th>
            <th scope="col">${t("groups.reference")}</th>
            <th scope="col">${CHANNEL_NAMES.GOPOS}</th>
            <th scope="col">${CHANNEL_NAMES.GOORDER}</th>
          </tr>
        </thead>
        <tbody>
          ${customerGroups.map(
            (g) => html`<tr key=${g.id} data-reference=${g.reference}>
              <th scope="row">${g.name}</th>
              <td><code>${g.reference}</code></td>
              ${["GOPOS", "GOORDER"].map((channel) => {
                const c = g.connections.find((x) => x.channel === channel);
                return html`<td data-channel=${channel}>
                  ${c ? html`<${ConnectionBadge} connection=${c} />` : null}
                  ${c && c.detail ? html`<div class="hint detail">${c.detail}</div>` : null}
                </td>`;
              })}
            </tr>`,
          )}
        </tbody>
      </table>
      ${customerGroups.length === 0 ? html`<p class="empty">${t("groups.none")}</p>` : null}
    </section>
    <section class="panel" aria-labelledby="unmatched-title">
      <h2 id="unmatched-title">${t("integrations.unmatched")}</h2>
      <p class="hint">${t("integrations.unmatchedHint")}</p>
      <div class="columns">
        <${Unmatched} channel="GOPOS" integration=${gopos} />
        <${Unmatched} channel="GOORDER" integration=${goorder} />
      </div>
    </section>`;
}

export function IntegrationsPage({ tab }) {
  const connections = tab === "connections";
  return html`<section>
    <${PageTitle}>${t("integrations.title")}<//>
    <nav class="tabs" aria-label=${t("integrations.sections")}>
      <a href="#/integrations" aria-current=${connections ? null : "page"}>${t("integrations.settings")}</a>
      <a href="#/integrations/connections" aria-current=${connections ? "page" : null}>${t("integrations.connections")}</a>
    </nav>
    ${connections ? html`<${Connections} />` : html`<${Settings} />`}
  </section>`;
}

// Webhooki: the location's endpoints (URL, events, whether enabled and why not); add one (its
// signing secret is shown once), edit its events, URL and days before expiry, disable or
// enable it, delete it; and each endpoint's delivery log, newest first, where any delivery can
// be sent again under the same id.

import { mutate } from "../api.js";
import { dateTime, t } from "../i18n.js";
import {
  Badge,
  ConfirmDialog,
  Dialog,
  ErrorSummary,
  errorsAt,
  Field,
  html,
  Loading,
  otherErrors,
  PageTitle,
  Pager,
  TextInput,
  useCursors,
  useId,
  useInterval,
  useQuery,
  useState,
} from "../ui.js";
import * as documents from "../documents.js";

// The API's order; credits.expiring is offered, and sent once credits can expire.
const EVENTS = ["WALLET_CHANGED", "CHECKOUT_COMMITTED", "CHECKOUT_REFUNDED", "SYNC_FINISHED", "CREDITS_EXPIRING"];

function eventNames(events) {
  return EVENTS.filter((e) => events.includes(e))
    .map((e) => t(`webhooks.event.${e}`))
    .join(", ");
}

function EventsField({ events, errors, onChange }) {
  const errorId = useId("events-error");
  const messages = errorsAt(errors, "input.events");
  const toggle = (event) =>
    onChange(EVENTS.filter((e) => (e === event ? !events.includes(e) : events.includes(e))));
  return html`<fieldset class=${messages.length ? "channels invalid" : "channels"} aria-describedby=${messages.length ? errorId : null}>
    <legend>${t("webhooks.events")}</legend>
    ${EVENTS.map(
      (e) => html`<label class="inline">
        <input
          type="checkbox"
          value=${e}
          checked=${events.includes(e)}
          onChange=${() => toggle(e)}
          aria-invalid=${messages.length ? "true" : null}
        />
        ${t(`webhooks.event.${e}`)}
      </label>`,
    )}
    ${messages.length ? html`<p class="field-error" id=${errorId} data-field="input.events">${messages.join(" ")}</p>` : null}
  </fieldset>`;
}

function SecretShown({ secret, onClose }) {
  const [copied, setCopied] = useState(null);
  const copy = async (inputId) => {
    let done = false;
    try {
      await navigator.clipboard.writeText(secret);
      done = true;
    } catch {
      document.getElementById(inputId).select();
      done = document.execCommand("copy");
    }
    setCopied(done ? "keys.copied" : "keys.copyFailed");
  };
  return html`<${Dialog} title=${t("webhooks.created")} onClose=${onClose}>
    <p>${t("webhooks.secretOnce")}</p>
    <${Field} label=${t("webhooks.secret")}>
      ${({ id }) => html`<div class="secret-row">
        <input id=${id} class="secret" type="text" readonly value=${secret} data-autofocus onFocus=${(e) => e.target.select()} />
        <button type="button" onClick=${() => copy(id)}>${t("webhooks.copy")}</button>
        <span class=${copied === "keys.copyFailed" ? "field-error" : "saved"} role="status">${copied ? t(copied) : ""}</span>
      </div>`}
    <//>
    <div class="actions">
      <button type="button" class="primary" onClick=${onClose}>${t("common.close")}</button>
    </div>
  <//>`;
}

// Adds an endpoint (no `endpoint`) or edits one.
function EndpointDialog({ endpoint, onClose, onSaved }) {
  const [url, setUrl] = useState(endpoint ? endpoint.url : "https://");
  const [events, setEvents] = useState(endpoint ? endpoint.events : ["WALLET_CHANGED"]);
  const [days, setDays] = useState(String(endpoint ? endpoint.expiringDaysBefore : 7));
  const [errors, setErrors] = useState([]);
  const [secret, setSecret] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const expiringDaysBefore = Number.parseInt(days, 10);
    if (!/^\d+$/.test(days.trim())) {
      setErrors([{ field: "input.expiringDaysBefore", message: t("webhooks.daysInvalid") }]);
      return;
    }
    setBusy(true);
    const input = { url, events, expiringDaysBefore };
    const { payload, errors: problems } = endpoint
      ? await mutate(documents.UpdateWebhookEndpoint, { id: endpoint.id, input })
      : await mutate(documents.CreateWebhookEndpoint, { input });
    setBusy(false);
    setErrors(problems);
    if (problems.length) return;
    onSaved();
    if (endpoint) onClose();
    else setSecret(payload.secret);
  };
  if (secret) return html`<${SecretShown} secret=${secret} onClose=${onClose} />`;
  const fields = ["input.url", "input.events", "input.expiringDaysBefore"];
  return html`<${Dialog} title=${t(endpoint ? "webhooks.edit" : "webhooks.add")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <${ErrorSummary} errors=${otherErrors(errors, fields)} />
      <${TextInput} label=${t("webhooks.url")} path="input.url" errors=${errors} value=${url} onInput=${setUrl} type="url" autofocus />
      <${EventsField} events=${events} errors=${errors} onChange=${setEvents} />
      <${TextInput}
        label=${t("webhooks.expiringDays")}
        path="input.expiringDaysBefore"
        errors=${errors}
        value=${days}
        onInput=${setDays}
        inputmode="numeric"
        hint=${t("webhooks.expiringDaysHint")}
      />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>${t(endpoint ? "common.save" : "webhooks.create")}</button>
      </div>
    </form>
  <//>`;
}

// The last attempt's answer and how long it took: "200 · 17 ms", "brak odpowiedzi · 5003 ms".
function answer(delivery) {
  if (delivery.lastLatencyMs === null) return "—";
  const status = delivery.lastStatusCode ?? t("webhooks.noAnswer");
  return `${status} · ${delivery.lastLatencyMs} ms`;
}

function Deliveries({ endpoint }) {
  const cursors = useCursors(endpoint.id);
  const log = useQuery(documents.WebhookDeliveries, { endpointId: endpoint.id, after: cursors.after });
  const pending = Boolean(log.data?.webhookDeliveries.edges.some((e) => e.node.status === "PENDING"));
  // While a delivery waits for its attempt, the log is read again every 2 seconds.
  useInterval(log.reload, 2000, pending);
  const [notice, setNotice] = useState(null);
  const replay = async (delivery) => {
    const { errors } = await mutate(documents.ReplayWebhookDelivery, { id: delivery.id });
    setNotice(errors.length ? errors : t("webhooks.replayed"));
    log.reload();
  };
  const connection = log.data?.webhookDeliveries;
  const rows = connection ? connection.edges.map((e) => e.node) : null;
  return html`<section class="deliveries" aria-labelledby="deliveries-title">
    <h2 id="deliveries-title">${t("webhooks.deliveriesOf", { url: endpoint.url })}</h2>
    ${typeof notice === "string" ? html`<p class="saved" role="status">${notice}</p>` : html`<${ErrorSummary} errors=${notice} />`}
    ${!rows
      ? html`<${Loading} error=${log.error} />`
      : !rows.length
        ? html`<p class="hint">${t("webhooks.noDeliveries")}</p>`
        : html`<table class="list">
            <caption class="visually-hidden">${t("webhooks.deliveries")}</caption>
            <thead>
              <tr>
                <th scope="col">${t("webhooks.createdAt")}</th>
                <th scope="col">${t("webhooks.event")}</th>
                <th scope="col">${t("webhooks.status")}</th>
                <th scope="col">${t("webhooks.attempts")}</th>
                <th scope="col">${t("webhooks.lastStatus")}</th>
                <th scope="col">${t("webhooks.deliveredAt")}</th>
                <th scope="col">${t("webhooks.messageId")}</th>
                <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (d) => html`<tr key=${d.id} data-delivery=${d.messageId}>
                  <td>${dateTime(d.createdAt)}</td>
                  <td>${t(`webhooks.event.${d.event}`)}</td>
                  <td><${Badge} status=${d.status} label=${t(`webhooks.delivery.${d.status}`)} /></td>
                  <td>${d.attempts}</td>
                  <td data-answer>${answer(d)}</td>
                  <td>${d.deliveredAt ? dateTime(d.deliveredAt) : "—"}</td>
                  <td><code>${d.messageId}</code></td>
                  <td class="row-actions">
                    <button type="button" onClick=${() => replay(d)} aria-label=${t("webhooks.replayNamed", { id: d.messageId })}>
                      ${t("webhooks.replay")}
                    </button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
          <${Pager} cursors=${cursors} pageInfo=${connection.pageInfo} label=${t("webhooks.deliveries")} />`}
  </section>`;
}

function EndpointRow({ endpoint, shown, onEdit, onToggle, onDelete, onShow }) {
  return html`<tr class=${endpoint.enabled ? null : "revoked"}>
    <td><code>${endpoint.url}</code></td>
    <td data-events>${eventNames(endpoint.events)}</td>
    <td>
      <${Badge}
        status=${endpoint.enabled ? "ENABLED" : "DISABLED"}
        label=${t(endpoint.enabled ? "webhooks.enabled" : "webhooks.disabled")}
      />
      ${endpoint.disabledReason ? html`<p class="hint" data-reason>${endpoint.disabledReason}</p>` : null}
    </td>
    <td>${dateTime(endpoint.createdAt)}</td>
    <td class="row-actions">
      <button type="button" aria-pressed=${shown ? "true" : "false"} onClick=${onShow}>${t("webhooks.deliveries")}</button>
      <button type="button" onClick=${onEdit}>${t("common.edit")}</button>
      <button type="button" onClick=${onToggle}>${t(endpoint.enabled ? "webhooks.disable" : "webhooks.enable")}</button>
      <button type="button" class="danger" onClick=${onDelete}>${t("common.delete")}</button>
    </td>
  </tr>`;
}

export function WebhooksPage() {
  const endpoints = useQuery(documents.WebhookEndpoints);
  const [editing, setEditing] = useState(null); // "new", or the endpoint
  const [deleting, setDeleting] = useState(null);
  const [shown, setShown] = useState(null);
  const [errors, setErrors] = useState([]);
  const rows = endpoints.data?.webhookEndpoints;
  const toggle = async (endpoint) => {
    const { errors: problems } = await mutate(documents.UpdateWebhookEndpoint, { id: endpoint.id, input: { enabled: !endpoint.enabled } });
    setErrors(problems);
    endpoints.reload();
  };
  const remove = async (endpoint) => {
    const { errors: problems } = await mutate(documents.DeleteWebhookEndpoint, { id: endpoint.id });
    if (!problems.length) {
      if (shown === endpoint.id) setShown(null);
      endpoints.reload();
    }
    return problems;
  };
  const selected = rows && rows.find((e) => e.id === shown);
  return html`<section>
    <div class="title-row">
      <${PageTitle}>${t("webhooks.title")}<//>
      <button type="button" class="primary" onClick=${() => setEditing("new")}>${t("webhooks.add")}</button>
    </div>
    <p class="hint">${t("webhooks.intro")}</p>
    <${ErrorSummary} errors=${errors} />
    ${!rows
      ? html`<${Loading} error=${endpoints.error} />`
      : !rows.length
        ? html`<p>${t("webhooks.none")}</p>`
        : html`<table class="list">
            <caption class="visually-hidden">${t("webhooks.title")}</caption>
            <thead>
              <tr>
                <th scope="col">${t("webhooks.url")}</th>
                <th scope="col">${t("webhooks.events")}</th>
                <th scope="col">${t("webhooks.status")}</th>
                <th scope="col">${t("webhooks.createdAt")}</th>
                <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (e) => html`<${EndpointRow}
                  key=${e.id}
                  endpoint=${e}
                  shown=${shown === e.id}
                  onShow=${() => setShown(shown === e.id ? null : e.id)}
                  onEdit=${() => setEditing(e)}
                  onToggle=${() => toggle(e)}
                  onDelete=${() => setDeleting(e)}
                />`,
              )}
            </tbody>
          </table>`}
    ${selected ? html`<${Deliveries} endpoint=${selected} />` : null}
    ${editing
      ? html`<${EndpointDialog}
          endpoint=${editing === "new" ? null : editing}
          onClose=${() => setEditing(null)}
          onSaved=${endpoints.reload}
        />`
      : null}
    ${deleting
      ? html`<${ConfirmDialog}
          title=${t("webhooks.deleteTitle")}
          message=${t("webhooks.deleteConfirm", { url: deleting.url })}
          confirmLabel=${t("common.delete")}
          onClose=${() => setDeleting(null)}
          onConfirm=${() => remove(deleting)}
        />`
      : null}
  </section>`;
}

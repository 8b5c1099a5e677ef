// Klucze API: the location's keys with the sales channels each may use; create one (its secret
// is shown once; a POS key gets the channels ticked, an ADMIN key has them all) and revoke. The
// location's last ADMIN key cannot be revoked: the row says so, and the API's refusal (the list
// was out of date) is shown beside it.

import { mutate } from "../api.js";
import { dateTime, errorText, t } from "../i18n.js";
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
  TextInput,
  useEffect,
  useId,
  useQuery,
  useState,
} from "../ui.js";
import * as documents from "../documents.js";

// The API's order; a till and its kiosk by default, the online store only when ticked.
const CHANNELS = ["POS", "KIOSK", "ONLINE"];
const TILL_CHANNELS = ["POS", "KIOSK"];

function channelNames(key) {
  if (key.role === "ADMIN") return t("keys.channelsAll");
  return CHANNELS.filter((c) => key.channels.includes(c))
    .map((c) => t(`keys.channel.${c}`))
    .join(", ");
}

// A POS key's channels as checkboxes, with the API's errors on `channels` beside them.
function ChannelsField({ channels, errors, onChange }) {
  const hintId = useId("channels-hint");
  const onlineId = useId("channels-online");
  const errorId = useId("channels-error");
  const messages = errorsAt(errors, "channels");
  const toggle = (channel) =>
    onChange(CHANNELS.filter((c) => (c === channel ? !channels.includes(c) : channels.includes(c))));
  return html`<fieldset
    class=${messages.length ? "channels invalid" : "channels"}
    aria-describedby=${[hintId, messages.length ? errorId : null].filter(Boolean).join(" ")}
  >
    <legend>${t("keys.channels")}</legend>
    <p class="hint" id=${hintId}>${t("keys.channelsHint")}</p>
    ${CHANNELS.map(
      (c) => html`<label class="inline">
        <input
          type="checkbox"
          value=${c}
          checked=${channels.includes(c)}
          onChange=${() => toggle(c)}
          aria-describedby=${c === "ONLINE" ? onlineId : null}
          aria-invalid=${messages.length ? "true" : null}
        />
        ${t(`keys.channel.${c}`)}
      </label>`,
    )}
    <p class="hint" id=${onlineId}>${t("keys.onlineHint")}</p>
    ${messages.length ? html`<p class="field-error" id=${errorId} data-field="channels">${messages.join(" ")}</p>` : null}
  </fieldset>`;
}

// Copies `text` to the clipboard (the Clipboard API, else the selected input and the copy
// command, as on a page served over plain HTTP) and says whether it worked.
function CopyButton({ text, inputId }) {
  const [state, setState] = useState(null);
  const copy = async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      const input = document.getElementById(inputId);
      input.select();
      copied = document.execCommand("copy");
    }
    setState(copied ? "keys.copied" : "keys.copyFailed");
  };
  return html`<button type="button" onClick=${copy}>${t("keys.copy")}</button>
    <span class=${state === "keys.copyFailed" ? "field-error" : "saved"} role="status">${state ? t(state) : ""}</span>`;
}

function CreateDialog({ onClose, onCreated }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("POS");
  const [channels, setChannels] = useState(TILL_CHANNELS);
  const [errors, setErrors] = useState([]);
  const [secret, setSecret] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    // An ADMIN key has every channel and names none.
    const variables = { name, role, channels: role === "POS" ? channels : null };
    const { payload, errors: problems } = await mutate(documents.CreateApiKey, variables);
    setBusy(false);
    setErrors(problems);
    if (!problems.length) {
      setSecret(payload.secret);
      onCreated();
    }
  };
  if (secret) {
    return html`<${Dialog} title=${t("keys.created")} onClose=${onClose}>
      <p>${t("keys.secretOnce")}</p>
      <${Field} label=${t("keys.secret")}>
        ${({ id }) => html`<div class="secret-row">
          <input id=${id} class="secret" type="text" readonly value=${secret} data-autofocus onFocus=${(e) => e.target.select()} />
          <${CopyButton} text=${secret} inputId=${id} />
        </div>`}
      <//>
      <div class="actions">
        <button type="button" class="primary" onClick=${onClose}>${t("common.close")}</button>
      </div>
    <//>`;
  }
  return html`<${Dialog} title=${t("keys.add")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <${ErrorSummary} errors=${otherErrors(errors, ["name", "role", "channels"])} />
      <${TextInput} label=${t("keys.name")} path="name" errors=${errors} value=${name} onInput=${setName} autofocus />
      <${Field} label=${t("keys.role")} path="role" errors=${errors} hint=${t("keys.roleHint")}>
        ${({ id, describedBy }) => html`<select id=${id} value=${role} onChange=${(e) => setRole(e.target.value)} aria-describedby=${describedBy}>
          <option value="POS">${t("role.POS")}</option>
          <option value="ADMIN">${t("role.ADMIN")}</option>
        </select>`}
      <//>
      ${role === "POS"
        ? html`<${ChannelsField} channels=${channels} errors=${errors} onChange=${setChannels} />`
        : html`<p class="channels-all">
            <strong>${t("keys.channels")}: ${t("keys.channelsAll")}</strong>
            <span class="hint">${t("keys.channelsAdmin")}</span>
          </p>`}
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>${t("keys.create")}</button>
      </div>
    </form>
  <//>`;
}

// What the actions cell of a key offers: nothing once revoked; for the location's last ADMIN
// key, why it cannot be revoked; else the revoke button (the session's own key too, so that a
// manager can replace it: the console then logs out).
function RowActions({ apiKey, lastAdmin, refusal, onRevoke }) {
  const errorId = `key-refusal-${apiKey.id}`;
  if (apiKey.revokedAt) return null;
  return html`${refusal
      ? html`<p class="field-error" id=${errorId} role="alert" tabindex="-1">${refusal}</p>`
      : lastAdmin
        ? html`<span class="hint">${t("keys.lastAdmin")}</span>`
        : null}
    ${lastAdmin
      ? null
      : html`<button
          type="button"
          class="danger"
          onClick=${() => onRevoke(apiKey)}
          aria-label=${t("keys.revokeNamed", { name: apiKey.name })}
          aria-describedby=${refusal ? errorId : null}
        >
          ${t("keys.revoke")}
        </button>`}`;
}

export function ApiKeysPage({ viewer, onOwnKeyRevoked }) {
  const keys = useQuery(documents.ApiKeys);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState(null);
  // The API's refusal to revoke a key, by key id, shown in its row.
  const [refusals, setRefusals] = useState({});
  const [refused, setRefused] = useState(null);
  const rows = keys.data?.apiKeys;
  const activeAdmins = rows ? rows.filter((k) => k.role === "ADMIN" && !k.revokedAt) : [];
  // Once the confirmation has closed, the refusal takes the focus (the button may be gone).
  useEffect(() => {
    if (!refused || revoking) return;
    document.getElementById(`key-refusal-${refused}`)?.focus();
    setRefused(null);
  }, [refused, revoking]);
  const revoke = async (key) => {
    const { errors } = await mutate(documents.RevokeApiKey, { id: key.id });
    if (errors.length) {
      setRefusals({ ...refusals, [key.id]: errors.map(errorText).join(" ") });
      setRefused(key.id);
    } else if (key.id === viewer.apiKey.id) {
      onOwnKeyRevoked();
      return [];
    }
    keys.reload();
    return [];
  };
  return html`<section>
    <div class="title-row">
      <${PageTitle}>${t("keys.title")}<//>
      <button type="button" class="primary" onClick=${() => setCreating(true)}>${t("keys.add")}</button>
    </div>
    ${rows
      ? html`<table class="list">
          <caption class="visually-hidden">${t("keys.title")}</caption>
          <thead>
            <tr>
              <th scope="col">${t("keys.name")}</th>
              <th scope="col">${t("keys.role")}</th>
              <th scope="col">${t("keys.channels")}</th>
              <th scope="col">${t("keys.createdAt")}</th>
              <th scope="col">${t("keys.revokedAt")}</th>
              <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (k) => html`<tr key=${k.id} class=${k.revokedAt ? "revoked" : null}>
                <td>${k.name}${k.id === viewer.apiKey.id ? html` <span class="hint">(${t("keys.current")})</span>` : null}</td>
                <td><${Badge} status=${k.role} label=${t(`role.${k.role}`)} /></td>
                <td data-channels>${channelNames(k)}</td>
                <td>${dateTime(k.createdAt)}</td>
                <td>${k.revokedAt ? dateTime(k.revokedAt) : "—"}</td>
                <td class="row-actions">
                  <${RowActions}
                    apiKey=${k}
                    lastAdmin=${activeAdmins.length === 1 && activeAdmins[0].id === k.id}
                    refusal=${refusals[k.id]}
                    onRevoke=${setRevoking}
                  />
                </td>
              </tr>`,
            )}
          </tbody>
        </table>`
      : html`<${Loading} error=${keys.error} />`}
    ${creating ? html`<${CreateDialog} onClose=${() => setCreating(false)} onCreated=${keys.reload} />` : null}
    ${revoking
      ? html`<${ConfirmDialog}
          title=${t("keys.revokeTitle")}
          message=${t(revoking.id === viewer.apiKey.id ? "keys.revokeConfirmCurrent" : "keys.revokeConfirm", { name: revoking.name })}
          confirmLabel=${t("keys.revoke")}
          onClose=${() => setRevoking(null)}
          onConfirm=${() => revoke(revoking)}
        />`
      : null}
  </section>`;
}

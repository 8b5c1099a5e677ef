// Klucze API: the location's keys; create one (its secret is shown once) and revoke.

import { mutate } from "../api.js";
import { dateTime, t } from "../i18n.js";
import {
  Badge,
  ConfirmDialog,
  Dialog,
  ErrorSummary,
  Field,
  html,
  Loading,
  otherErrors,
  PageTitle,
  TextInput,
  useQuery,
  useState,
} from "../ui.js";

const KEYS = `{ apiKeys { id name role createdAt revokedAt } }`;
const CREATE = `mutation Create($name: String!, $role: ApiKeyRole!) {
  createApiKey(name: $name, role: $role) { apiKey { id name role } secret errors { code field message } }
}`;
const REVOKE = `mutation Revoke($id: ID!) { revokeApiKey(id: $id) { apiKey { id revokedAt } errors { code field message } } }`;

function CreateDialog({ onClose, onCreated }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("POS");
  const [errors, setErrors] = useState([]);
  const [secret, setSecret] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    const { payload, errors: problems } = await mutate(CREATE, { name, role });
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
        ${({ id }) => html`<input id=${id} class="secret" type="text" readonly value=${secret} data-autofocus onFocus=${(e) => e.target.select()} />`}
      <//>
      <div class="actions">
        <button type="button" class="primary" onClick=${onClose}>${t("common.close")}</button>
      </div>
    <//>`;
  }
  return html`<${Dialog} title=${t("keys.add")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <${ErrorSummary} errors=${otherErrors(errors, ["name", "role"])} />
      <${TextInput} label=${t("keys.name")} path="name" errors=${errors} value=${name} onInput=${setName} autofocus />
      <${Field} label=${t("keys.role")} path="role" errors=${errors} hint=${t("keys.roleHint")}>
        ${({ id, describedBy }) => html`<select id=${id} value=${role} onChange=${(e) => setRole(e.target.value)} aria-describedby=${describedBy}>
          <option value="POS">${t("role.POS")}</option>
          <option value="ADMIN">${t("role.ADMIN")}</option>
        </select>`}
      <//>
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>${t("keys.create")}</button>
      </div>
    </form>
  <//>`;
}

export function ApiKeysPage({ viewer }) {
  const keys = useQuery(KEYS);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState(null);
  const rows = keys.data?.apiKeys;
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
                <td>${dateTime(k.createdAt)}</td>
                <td>${k.revokedAt ? dateTime(k.revokedAt) : "—"}</td>
                <td class="row-actions">
                  ${k.revokedAt || k.id === viewer.apiKey.id
                    ? null
                    : html`<button type="button" class="danger" onClick=${() => setRevoking(k)} aria-label=${t("keys.revokeNamed", { name: k.name })}>
                        ${t("keys.revoke")}
                      </button>`}
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
          message=${t("keys.revokeConfirm", { name: revoking.name })}
          confirmLabel=${t("keys.revoke")}
          onClose=${() => setRevoking(null)}
          onConfirm=${async () => {
            const { errors } = await mutate(REVOKE, { id: revoking.id });
            if (!errors.length) keys.reload();
            return errors;
          }}
        />`
      : null}
  </section>`;
}

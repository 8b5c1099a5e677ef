// Klienci → Grupa…: the selected customers (or every result of the filter) added to a group or
// removed from it. Both are idempotent on the server: a member added twice is one membership.

import { mutate } from "../api.js";
import { t } from "../i18n.js";
import { Dialog, ErrorSummary, Field, html, otherErrors, useState } from "../ui.js";
import * as documents from "../documents.js";

export function GroupMembersDialog({ target, targetLabel, groups, onClose }) {
  const [action, setAction] = useState("add");
  const [groupId, setGroupId] = useState(groups.length ? groups[0].id : "");
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    const { payload, errors: problems } = await mutate(action === "add" ? documents.AddCustomersToGroup : documents.RemoveCustomersFromGroup, { groupId, target });
    setBusy(false);
    setErrors(problems);
    if (!problems.length) setDone({ action, group: payload.group });
  };

  if (done) {
    return html`<${Dialog} title=${t("members.title")} onClose=${onClose}>
      <p role="status" class="result">
        ${t(`members.done.${done.action}`, { name: done.group.name, n: done.group.customerCount })}
      </p>
      <div class="actions">
        <button type="button" class="primary" onClick=${onClose} data-autofocus>${t("common.close")}</button>
      </div>
    <//>`;
  }
  return html`<${Dialog} title=${t("members.title")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <p class="target">${targetLabel}</p>
      <${ErrorSummary} errors=${otherErrors(errors, ["groupId"])} />
      ${groups.length === 0 ? html`<p class="hint">${t("members.noGroups")}</p>` : null}
      <fieldset class="choice">
        <legend>${t("members.choice")}</legend>
        ${["add", "remove"].map(
          (a) => html`<label>
            <input type="radio" name="members-action" value=${a} checked=${action === a} onChange=${() => setAction(a)} data-autofocus=${action === a ? "" : null} />
            ${t(`members.${a}`)}
          </label>`,
        )}
      </fieldset>
      <${Field} label=${t("members.group")} path="groupId" errors=${errors}>
        ${({ id, describedBy }) => html`<select id=${id} value=${groupId} onChange=${(e) => setGroupId(e.target.value)} aria-describedby=${describedBy}>
          ${groups.map((g) => html`<option value=${g.id}>${g.name}</option>`)}
        </select>`}
      <//>
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy || !groupId}>${t(`members.submit.${action}`)}</button>
      </div>
    </form>
  <//>`;
}

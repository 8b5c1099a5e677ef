// Ustawienia > Grupy klientów: the list with member counts, cashback (and how long it is held)
// and connections; add, edit, delete (naming the recurring top-ups that deleting ends).

import { decimal, gql, mutate } from "../api.js";
import { days, every, money, percent, plural, t } from "../i18n.js";
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
  useDebounced,
  useEffect,
  useQuery,
  useState,
} from "../ui.js";
import * as documents from "../documents.js";

const FIELDS = [
  "input.name",
  "input.reference",
  "input.description",
  "input.cashbackPercent",
  "input.cashbackHoldDays",
];

export const CHANNEL_NAMES = { GOPOS: "GoPOS", GOORDER: "GoOrder" };

export function ConnectionBadge({ connection }) {
  return html`<${Badge}
    status=${connection.status}
    label=${`${CHANNEL_NAMES[connection.channel]}: ${t(`connection.${connection.status}`)}`}
  />`;
}

function GroupDialog({ group, onClose, onSaved }) {
  const [name, setName] = useState(group ? group.name : "");
  const [reference, setReference] = useState(group ? group.reference : "");
  // An existing group keeps its reference; a new one follows the name until the user edits it.
  const [referenceEdited, setReferenceEdited] = useState(Boolean(group));
  const [description, setDescription] = useState(group ? group.description || "" : "");
  const [cashback, setCashback] = useState(group && group.cashbackPercent ? group.cashbackPercent : "");
  const [holdDays, setHoldDays] = useState(group ? String(group.cashbackHoldDays) : "0");
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const settledName = useDebounced(name, 200);

  useEffect(() => {
    if (referenceEdited) return undefined;
    if (!settledName.trim()) {
      setReference("");
      return undefined;
    }
    let current = true;
    gql(documents.ReferenceFor, { name: settledName }).then(
      (data) => current && setReference(data.referenceFor),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [settledName, referenceEdited]);

  const submit = async (event) => {
    event.preventDefault();
    const hold = holdDays.trim();
    if (hold && !/^\d+$/.test(hold)) {
      setErrors([{ field: "input.cashbackHoldDays", message: t("groups.holdInvalid") }]);
      return;
    }
    setBusy(true);
    const input = {
      name,
      // Left to the server unless the user typed one: it generates the same from the name.
      reference: referenceEdited && reference.trim() ? reference : null,
      description: description || null,
      cashbackPercent: cashback.trim() ? decimal(cashback) : null,
      // Empty is no hold, as 0 is; the server checks the range.
      cashbackHoldDays: hold ? Number(hold) : null,
    };
    const { errors: problems } = group
      ? await mutate(documents.UpdateCustomerGroup, { id: group.id, input })
      : await mutate(documents.CreateCustomerGroup, { input });
    setBusy(false);
    if (problems.length) setErrors(problems);
    else onSaved();
  };

  return html`<${Dialog} title=${t(group ? "groups.edit" : "groups.add")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <${ErrorSummary} errors=${otherErrors(errors, FIELDS)} />
      <${TextInput} label=${t("groups.name")} path="input.name" errors=${errors} value=${name} onInput=${setName} autofocus />
      <${TextInput}
        label=${t("groups.reference")}
        path="input.reference"
        errors=${errors}
        value=${reference}
        hint=${t("groups.referenceHint")}
        onInput=${(value) => {
          setReferenceEdited(true);
          setReference(value);
        }}
        spellcheck="false"
      />
      <${Field} label=${t("groups.description")} path="input.description" errors=${errors}>
        ${({ id, describedBy }) => html`<textarea id=${id} rows="2" value=${description} onInput=${(e) => setDescription(e.target.value)} aria-describedby=${describedBy}></textarea>`}
      <//>
      <${TextInput}
        label=${t("groups.cashback")}
        path="input.cashbackPercent"
        errors=${errors}
        value=${cashback}
        onInput=${setCashback}
        inputmode="decimal"
        hint=${t("groups.cashbackHint")}
      />
      <${TextInput}
        label=${t("groups.holdDays")}
        path="input.cashbackHoldDays"
        errors=${errors}
        value=${holdDays}
        onInput=${setHoldDays}
        inputmode="numeric"
        class="short"
        hint=${t("groups.holdHint")}
      />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>${t("common.save")}</button>
      </div>
    </form>
  <//>`;
}

// The recurring top-ups of a group with a period to come, paused or not: deleting the group ends
// those that target it alone, and takes it out of those of other groups too.
function schedulesOf(schedules, groupId) {
  const mine = schedules.filter((s) => s.nextRunOn && s.groupIds.includes(groupId));
  return {
    ending: mine.filter((s) => s.groupIds.length === 1),
    narrowed: mine.filter((s) => s.groupIds.length > 1),
  };
}

function scheduleLine(schedule) {
  const line = t("groups.scheduleLine", {
    operation: t(`credits.op.${schedule.operation}`),
    amount: money(schedule.amount),
    every: every(schedule.every, schedule.unit),
  });
  return schedule.description ? `${line} · ${schedule.description}` : line;
}

function ScheduleList({ schedules, heading, marker }) {
  if (!schedules.length) return null;
  return html`<p class="warning-text">${plural(heading, schedules.length)}</p>
    <ul class="schedules" data-schedules=${marker}>
      ${schedules.map((s) => html`<li key=${s.id}>${scheduleLine(s)}</li>`)}
    </ul>`;
}

function DeleteGroupDialog({ group, schedules, onClose, onDeleted }) {
  const { ending, narrowed } = schedulesOf(schedules, group.id);
  return html`<${ConfirmDialog}
    title=${t("groups.deleteTitle")}
    message=${group.customerCount
      ? plural("groups.deleteConfirm", group.customerCount, { name: group.name })
      : t("groups.deleteConfirmEmpty", { name: group.name })}
    confirmLabel=${t("common.delete")}
    onClose=${onClose}
    onConfirm=${async () => {
      const { errors } = await mutate(documents.DeleteCustomerGroup, { id: group.id });
      if (!errors.length) onDeleted();
      return errors;
    }}
  >
    <${ScheduleList} schedules=${ending} heading="groups.deleteSchedules" marker="ending" />
    <${ScheduleList} schedules=${narrowed} heading="groups.narrowSchedules" marker="narrowed" />
  <//>`;
}

export function GroupsPage() {
  const groups = useQuery(documents.Groups);
  const [editing, setEditing] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const rows = groups.data?.customerGroups;
  const saved = () => {
    setEditing(null);
    groups.reload();
  };
  return html`<section>
    <div class="title-row">
      <${PageTitle}>${t("groups.title")}<//>
      <button type="button" class="primary" onClick=${() => setEditing({})}>${t("groups.add")}</button>
    </div>
    ${rows
      ? html`<table class="list">
          <caption class="visually-hidden">${t("groups.title")}</caption>
          <thead>
            <tr>
              <th scope="col">${t("groups.name")}</th>
              <th scope="col">${t("groups.reference")}</th>
              <th scope="col" class="number">${t("groups.members")}</th>
              <th scope="col" class="number">${t("groups.cashback")}</th>
              <th scope="col" class="number">${t("groups.hold")}</th>
              <th scope="col">${t("groups.connections")}</th>
              <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (g) => html`<tr key=${g.id}>
                <td>${g.name}${g.description ? html`<div class="hint">${g.description}</div>` : null}</td>
                <td><code>${g.reference}</code></td>
                <td class="number">${g.customerCount}</td>
                <td class="number">${g.cashbackPercent ? percent(g.cashbackPercent) : ""}</td>
                <td class="number">${g.cashbackHoldDays ? days(g.cashbackHoldDays) : ""}</td>
                <td><div class="badges">${g.connections.map((c) => html`<${ConnectionBadge} connection=${c} />`)}</div></td>
                <td class="row-actions">
                  <button type="button" onClick=${() => setEditing(g)} aria-label=${t("groups.editNamed", { name: g.name })}>
                    ${t("common.edit")}
                  </button>
                  <button type="button" class="danger" onClick=${() => setDeleting(g)} aria-label=${t("groups.deleteNamed", { name: g.name })}>
                    ${t("common.delete")}
                  </button>
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${rows.length === 0 ? html`<p class="empty">${t("groups.none")}</p>` : null}`
      : html`<${Loading} error=${groups.error} />`}
    ${editing
      ? html`<${GroupDialog} group=${editing.id ? editing : null} onClose=${() => setEditing(null)} onSaved=${saved} />`
      : null}
    ${deleting
      ? html`<${DeleteGroupDialog}
          group=${deleting}
          schedules=${groups.data.creditSchedules}
          onClose=${() => setDeleting(null)}
          onDeleted=${groups.reload}
        />`
      : null}
  </section>`;
}

// Cykliczne doładowania: every schedule with its target, amount, period, next and last run (and
// why the last failed, in the server's catalog words);
// edit the amount, description and end date (from the next period on), see its runs (period,
// customers, total, status), pause, resume, delete.

import { decimal, mutate } from "../api.js";
import { date, dateTime, every, language, money, t, todayInLocation } from "../i18n.js";
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
import { UndoDialog } from "./undo-dialog.js";
import * as documents from "../documents.js";

const RUNS_SHOWN = 50;
const FIELDS = ["input.amount", "input.description", "input.endDate"];

function targetText(schedule, groupNames) {
  if (schedule.target === "GROUPS") {
    const names = schedule.groupIds.map((id) => groupNames[id] || t("schedules.deletedGroup"));
    return t("schedules.targetGroups", { names: names.join(", "), n: schedule.customerCount });
  }
  if (schedule.target === "ALL") return t("schedules.targetAll", { n: schedule.customerCount });
  return t("schedules.targetCustomers", { n: schedule.customerCount });
}

// An API amount ("50.00") as a person types it in the console's language ("50,00").
function typedAmount(amount) {
  return language() === "pl" ? amount.replace(".", ",") : amount;
}

// Amount, description and end date; only what changed is sent, and it applies from the next
// period on.
function EditDialog({ schedule, onClose, onSaved }) {
  const [amount, setAmount] = useState(typedAmount(schedule.amount.amount));
  const [description, setDescription] = useState(schedule.description || "");
  const [endDate, setEndDate] = useState(schedule.endDate || "");
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const input = {};
    if (decimal(amount) !== schedule.amount.amount) input.amount = decimal(amount);
    if (description !== (schedule.description || "")) input.description = description;
    if (endDate !== (schedule.endDate || "")) input.endDate = endDate || null;
    if (!Object.keys(input).length) {
      onClose();
      return;
    }
    setBusy(true);
    const { errors: problems } = await mutate(documents.UpdateCreditSchedule, { id: schedule.id, input });
    setBusy(false);
    if (problems.length) setErrors(problems);
    else onSaved();
  };
  return html`<${Dialog} title=${t("schedules.editTitle")} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <p class="hint">
        ${schedule.nextRunOn ? t("schedules.editNext", { date: date(schedule.nextRunOn) }) : t("schedules.editLater")}
      </p>
      <${ErrorSummary} errors=${otherErrors(errors, FIELDS)} />
      <${TextInput}
        label=${t("schedules.amount")}
        path="input.amount"
        errors=${errors}
        value=${amount}
        onInput=${setAmount}
        inputmode="decimal"
        autocomplete="off"
        autofocus
      />
      <${Field} label=${t("schedules.description")} path="input.description" errors=${errors}>
        ${({ id, describedBy }) => html`<textarea
          id=${id}
          rows="2"
          value=${description}
          onInput=${(e) => setDescription(e.target.value)}
          aria-describedby=${describedBy}
        ></textarea>`}
      <//>
      <${TextInput}
        label=${t("schedules.endDate")}
        path="input.endDate"
        errors=${errors}
        type="date"
        value=${endDate}
        min=${schedule.nextRunOn || todayInLocation()}
        onInput=${setEndDate}
      />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>${t("common.save")}</button>
      </div>
    </form>
  <//>`;
}

// A schedule's latest runs, newest first: the period, the customers it reached, the total it
// moved and how it ended. A period that ended can be undone (Cofnij, with the undo's preview
// first, in place of this dialog); an undone one says so.
function RunsDialog({ schedule, target, onClose }) {
  const runs = useQuery(documents.ScheduleRuns, { first: RUNS_SHOWN });
  const [undoing, setUndoing] = useState(null);
  const found = runs.data?.creditSchedules.find((s) => s.id === schedule.id);
  const rows = found ? found.runs.edges.map((e) => e.node) : null;
  if (undoing) {
    return html`<${UndoDialog}
      operation=${undoing}
      onClose=${() => setUndoing(null)}
      onDone=${() => {
        setUndoing(null);
        runs.reload();
      }}
    />`;
  }
  return html`<${Dialog} title=${t("schedules.runsTitle")} onClose=${onClose} wide>
    <p class="target">${target}</p>
    ${rows === null
      ? html`<${Loading} error=${runs.error} />`
      : rows.length === 0
        ? html`<p class="empty">${t("schedules.noRuns")}</p>`
        : html`<table class="list schedule-runs">
            <caption class="visually-hidden">${t("schedules.runsTitle")}</caption>
            <thead>
              <tr>
                <th scope="col">${t("schedules.runPeriod")}</th>
                <th scope="col" class="number">${t("schedules.runCustomers")}</th>
                <th scope="col" class="number">${t("schedules.runTotal")}</th>
                <th scope="col">${t("schedules.runStatus")}</th>
                <th scope="col">${t("schedules.runFinished")}</th>
                <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (r) => html`<tr key=${r.period} data-run=${r.period}>
                  <td>${date(r.period)}</td>
                  <td class="number">${r.customerCount}</td>
                  <td class="number">${money(r.total)}</td>
                  <td><${Badge} status=${r.status} label=${t(`operation.status.${r.status}`)} /></td>
                  <td>${r.finishedAt ? dateTime(r.finishedAt) : "—"}</td>
                  <td class="row-actions">
                    ${r.operation?.undoneBy
                      ? html`<span class="hint" data-undone>${t("schedules.runUndone")}</span>`
                      : r.status === "SUCCEEDED" && r.operation
                        ? html`<button
                            type="button"
                            onClick=${() => setUndoing(r.operation)}
                            aria-label=${t("schedules.undoRun", { period: date(r.period) })}
                          >
                            ${t("operations.undo")}
                          </button>`
                        : null}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    <div class="actions">
      <button type="button" class="primary" onClick=${onClose}>${t("common.close")}</button>
    </div>
  <//>`;
}

function Row({ schedule: s, groupNames, onEdit, onRuns, onToggle, onDelete }) {
  const target = targetText(s, groupNames);
  return html`<tr key=${s.id}>
    <td>${target}${s.description ? html`<div class="hint">${s.description}</div>` : null}</td>
    <td>${t(`credits.op.${s.operation}`)} ${money(s.amount)}</td>
    <td>${every(s.every, s.unit)}</td>
    <td>${date(s.startDate)}${s.endDate ? ` – ${date(s.endDate)}` : ""}</td>
    <td>${s.nextRunOn ? date(s.nextRunOn) : "—"}</td>
    <td>
      ${s.lastRunOn ? date(s.lastRunOn) : "—"}
      ${s.lastError ? html`<div class="field-error">${t("schedules.lastFailed")} ${s.lastError}</div>` : null}
    </td>
    <td>
      <${Badge} status=${s.paused ? "PAUSED" : "ACTIVE"} label=${t(s.paused ? "schedules.paused" : "schedules.active")} />
    </td>
    <td class="row-actions">
      <button type="button" onClick=${() => onEdit(s)} aria-label=${t("schedules.editNamed", { target })}>
        ${t("schedules.edit")}
      </button>
      <button type="button" onClick=${() => onRuns(s)} aria-label=${t("schedules.runsNamed", { target })}>
        ${t("schedules.runs")}
      </button>
      <button type="button" onClick=${() => onToggle(s)}>${t(s.paused ? "schedules.resume" : "schedules.pause")}</button>
      <button type="button" class="danger" onClick=${() => onDelete(s)}>${t("common.delete")}</button>
    </td>
  </tr>`;
}

export function SchedulesPage() {
  const list = useQuery(documents.CreditSchedules);
  const [deleting, setDeleting] = useState(null);
  const [editing, setEditing] = useState(null);
  const [showing, setShowing] = useState(null);
  const [errors, setErrors] = useState([]);
  if (!list.data) return html`<${PageTitle}>${t("schedules.title")}<//><${Loading} error=${list.error} />`;
  const groupNames = Object.fromEntries(list.data.customerGroups.map((g) => [g.id, g.name]));
  const rows = list.data.creditSchedules;
  const toggle = async (schedule) => {
    const { errors: problems } = await mutate(schedule.paused ? documents.ResumeCreditSchedule : documents.PauseCreditSchedule, { id: schedule.id });
    setErrors(problems);
    list.reload();
  };
  return html`<section>
    <${PageTitle}>${t("schedules.title")}<//>
    <p class="hint">${t("schedules.intro")}</p>
    <${ErrorSummary} errors=${errors} />
    ${rows.length
      ? html`<table class="list">
          <caption class="visually-hidden">${t("schedules.title")}</caption>
          <thead>
            <tr>
              <th scope="col">${t("schedules.target")}</th>
              <th scope="col">${t("schedules.operation")}</th>
              <th scope="col">${t("schedules.every")}</th>
              <th scope="col">${t("schedules.period")}</th>
              <th scope="col">${t("schedules.nextRun")}</th>
              <th scope="col">${t("schedules.lastRun")}</th>
              <th scope="col">${t("schedules.status")}</th>
              <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (s) => html`<${Row}
                key=${s.id}
                schedule=${s}
                groupNames=${groupNames}
                onEdit=${setEditing}
                onRuns=${setShowing}
                onToggle=${toggle}
                onDelete=${setDeleting}
              />`,
            )}
          </tbody>
        </table>`
      : html`<p class="empty">${t("schedules.none")}</p>`}
    ${editing
      ? html`<${EditDialog}
          schedule=${editing}
          onClose=${() => setEditing(null)}
          onSaved=${() => {
            setEditing(null);
            list.reload();
          }}
        />`
      : null}
    ${showing
      ? html`<${RunsDialog} schedule=${showing} target=${targetText(showing, groupNames)} onClose=${() => setShowing(null)} />`
      : null}
    ${deleting
      ? html`<${ConfirmDialog}
          title=${t("schedules.deleteTitle")}
          message=${t("schedules.deleteConfirm", { target: targetText(deleting, groupNames) })}
          confirmLabel=${t("common.delete")}
          onClose=${() => setDeleting(null)}
          onConfirm=${async () => {
            const { errors: problems } = await mutate(documents.DeleteCreditSchedule, { id: deleting.id });
            if (!problems.length) list.reload();
            return problems;
          }}
        />`
      : null}
  </section>`;
}

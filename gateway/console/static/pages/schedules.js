// Cykliczne doładowania: every schedule with its target, amount, period, next and last run;
// pause, resume, delete.

import { mutate } from "../api.js";
import { date, every, money, t } from "../i18n.js";
import { Badge, ConfirmDialog, ErrorSummary, html, Loading, PageTitle, useQuery, useState } from "../ui.js";

const SCHEDULES = `{
  creditSchedules { id operation amount { amount currency } description every unit startDate endDate
                    target groupIds customerCount paused nextRunOn lastRunOn lastError createdAt }
  customerGroups { id name }
}`;
const PAUSE = `mutation Pause($id: ID!) { pauseCreditSchedule(id: $id) { schedule { id paused } errors { code field message } } }`;
const RESUME = `mutation Resume($id: ID!) { resumeCreditSchedule(id: $id) { schedule { id paused } errors { code field message } } }`;
const DELETE = `mutation Delete($id: ID!) { deleteCreditSchedule(id: $id) { deletedId errors { code field message } } }`;

function targetText(schedule, groupNames) {
  if (schedule.target === "GROUPS") {
    const names = schedule.groupIds.map((id) => groupNames[id] || t("schedules.deletedGroup"));
    return t("schedules.targetGroups", { names: names.join(", "), n: schedule.customerCount });
  }
  if (schedule.target === "ALL") return t("schedules.targetAll", { n: schedule.customerCount });
  return t("schedules.targetCustomers", { n: schedule.customerCount });
}

export function SchedulesPage() {
  const list = useQuery(SCHEDULES);
  const [deleting, setDeleting] = useState(null);
  const [errors, setErrors] = useState([]);
  if (!list.data) return html`<${PageTitle}>${t("schedules.title")}<//><${Loading} error=${list.error} />`;
  const groupNames = Object.fromEntries(list.data.customerGroups.map((g) => [g.id, g.name]));
  const rows = list.data.creditSchedules;
  const toggle = async (schedule) => {
    const { errors: problems } = await mutate(schedule.paused ? RESUME : PAUSE, { id: schedule.id });
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
              (s) => html`<tr key=${s.id}>
                <td>${targetText(s, groupNames)}${s.description ? html`<div class="hint">${s.description}</div>` : null}</td>
                <td>${t(`credits.op.${s.operation}`)} ${money(s.amount)}</td>
                <td>${every(s.every, s.unit)}</td>
                <td>${date(s.startDate)}${s.endDate ? ` – ${date(s.endDate)}` : ""}</td>
                <td>${s.nextRunOn ? date(s.nextRunOn) : "—"}</td>
                <td>
                  ${s.lastRunOn ? date(s.lastRunOn) : "—"}
                  ${s.lastError ? html`<div class="field-error">${s.lastError}</div>` : null}
                </td>
                <td>
                  <${Badge}
                    status=${s.paused ? "PAUSED" : "ACTIVE"}
                    label=${t(s.paused ? "schedules.paused" : "schedules.active")}
                  />
                </td>
                <td class="row-actions">
                  <button type="button" onClick=${() => toggle(s)}>
                    ${t(s.paused ? "schedules.resume" : "schedules.pause")}
                  </button>
                  <button type="button" class="danger" onClick=${() => setDeleting(s)}>${t("common.delete")}</button>
                </td>
              </tr>`,
            )}
          </tbody>
        </table>`
      : html`<p class="empty">${t("schedules.none")}</p>`}
    ${deleting
      ? html`<${ConfirmDialog}
          title=${t("schedules.deleteTitle")}
          message=${t("schedules.deleteConfirm", { target: targetText(deleting, groupNames) })}
          confirmLabel=${t("common.delete")}
          onClose=${() => setDeleting(null)}
          onConfirm=${async () => {
            const { errors: problems } = await mutate(DELETE, { id: deleting.id });
            if (!problems.length) list.reload();
            return problems;
          }}
        />`
      : null}
  </section>`;
}

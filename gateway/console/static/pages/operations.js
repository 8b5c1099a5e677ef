// Operacje: recent bulk credit operations, newest first, with status and progress; refreshed
// while one is queued or running.

import { dateTime, money, t } from "../i18n.js";
import { Badge, html, Loading, PageTitle, Pager, useCursors, useInterval, useQuery } from "../ui.js";

const OPERATIONS = `query Operations($after: String) {
  walletOperations(first: 20, after: $after) {
    edges { node { id operation amount { amount currency } description status total processed
                   error actor createdAt finishedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export function OperationsPage() {
  const cursors = useCursors();
  const list = useQuery(OPERATIONS, { after: cursors.after });
  const rows = list.data ? list.data.walletOperations.edges.map((e) => e.node) : [];
  const busy = rows.some((o) => o.status === "QUEUED" || o.status === "RUNNING");
  useInterval(list.reload, 1000, busy);
  return html`<section>
    <${PageTitle}>${t("operations.title")}<//>
    ${list.data
      ? html`${rows.length
            ? html`<table class="list">
                <caption class="visually-hidden">${t("operations.title")}</caption>
                <thead>
                  <tr>
                    <th scope="col">${t("operations.created")}</th>
                    <th scope="col">${t("operations.operation")}</th>
                    <th scope="col">${t("history.description")}</th>
                    <th scope="col">${t("operations.status")}</th>
                    <th scope="col">${t("operations.progressLabel")}</th>
                    <th scope="col">${t("history.actor")}</th>
                    <th scope="col">${t("operations.finished")}</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (o) => html`<tr key=${o.id}>
                      <td>${dateTime(o.createdAt)}</td>
                      <td>${t(`credits.op.${o.operation}`)} ${money(o.amount)}</td>
                      <td>${o.description || ""}</td>
                      <td>
                        <${Badge} status=${o.status} label=${t(`operation.status.${o.status}`)} />
                        ${o.error ? html`<div class="field-error">${o.error}</div>` : null}
                      </td>
                      <td>
                        <progress max=${o.total || 1} value=${o.processed} aria-label=${t("operations.progress", { done: o.processed, total: o.total })}></progress>
                        <span class="progress-text">${t("operations.progress", { done: o.processed, total: o.total })}</span>
                      </td>
                      <td>${o.actor || ""}</td>
                      <td>${o.finishedAt ? dateTime(o.finishedAt) : "—"}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>`
            : html`<p class="empty">${t("operations.none")}</p>`}
          <${Pager} cursors=${cursors} pageInfo=${list.data.walletOperations.pageInfo} />`
      : html`<${Loading} error=${list.error} />`}
  </section>`;
}

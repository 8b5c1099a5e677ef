// Operacje: recent bulk credit operations, newest first, with status and progress; refreshed
// while one is queued or running. A finished operation can be undone ("Cofnij", with the
// preview first: undo-dialog.js); an undo names what it reverses and how many customers it
// restored, and the operation it reversed says it was undone.

import { dateTime, money, t } from "../i18n.js";
import { Badge, html, Loading, PageTitle, Pager, useCursors, useInterval, useQuery, useState } from "../ui.js";
import { UndoDialog } from "./undo-dialog.js";
import * as documents from "../documents.js";

export function OperationsPage() {
  const cursors = useCursors();
  const list = useQuery(documents.WalletOperations, { after: cursors.after });
  const rows = list.data ? list.data.walletOperations.edges.map((e) => e.node) : [];
  const busy = rows.some((o) => o.status === "QUEUED" || o.status === "RUNNING");
  useInterval(list.reload, 1000, busy);
  const [undoing, setUndoing] = useState(null);
  const undoable = (o) => o.status === "SUCCEEDED" && !o.undoOf && !o.undoneBy;
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
                    <th scope="col"><span class="visually-hidden">${t("common.actions")}</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (o) => html`<tr key=${o.id} data-operation=${o.id}>
                      <td>${dateTime(o.createdAt)}</td>
                      <td>
                        ${o.undoOf
                          ? t("operations.undoOf", { operation: `${t(`credits.op.${o.undoOf.operation}`)} ${money(o.undoOf.amount)}` })
                          : html`${t(`credits.op.${o.operation}`)} ${money(o.amount)}`}
                        ${o.undoneBy ? html`<div class="hint" data-undone>${t("operations.undone")}</div>` : null}
                        ${o.undoOf && o.restoredCount !== null
                          ? html`<div class="hint" data-restored>
                              ${t("operations.restored", { full: o.restoredCount, partly: o.partlyRestoredCount })}
                            </div>`
                          : null}
                      </td>
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
                      <td class="row-actions">
                        ${undoable(o)
                          ? html`<button type="button" onClick=${() => setUndoing(o)}>${t("operations.undo")}</button>`
                          : null}
                      </td>
                    </tr>`,
                  )}
                </tbody>
              </table>`
            : html`<p class="empty">${t("operations.none")}</p>`}
          <${Pager} cursors=${cursors} pageInfo=${list.data.walletOperations.pageInfo} />`
      : html`<${Loading} error=${list.error} />`}
    ${undoing
      ? html`<${UndoDialog}
          operation=${undoing}
          onClose=${() => setUndoing(null)}
          onDone=${() => {
            setUndoing(null);
            list.reload();
          }}
        />`
      : null}
  </section>`;
}

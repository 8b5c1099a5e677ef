// Operacje → Cofnij: what the undo would do now (previewUndoWalletOperation: customers restored
// in whole and in part, and the credits taken back in all), then the manager confirms and the
// undo is requested with a key of its own, so a repeated click requests it once.

import { mutate } from "../api.js";
import { money, t } from "../i18n.js";
import { Dialog, ErrorSummary, html, Loading, useQuery, useRef, useState } from "../ui.js";
import * as documents from "../documents.js";

const negative = (value) => value.amount.startsWith("-");

export function UndoDialog({ operation, onClose, onDone }) {
  const preview = useQuery(documents.PreviewUndo, { id: operation.id });
  const key = useRef(crypto.randomUUID()).current;
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  const found = preview.data?.previewUndoWalletOperation;

  const confirm = async () => {
    setBusy(true);
    const { errors: problems } = await mutate(documents.UndoWalletOperation, { id: operation.id, key });
    setBusy(false);
    if (problems.length) {
      setErrors(problems);
      return;
    }
    onDone();
  };

  const amount = found
    ? negative(found.amount)
      ? [t("undo.amountBack"), money({ ...found.amount, amount: found.amount.amount.slice(1) })]
      : [t("undo.amount"), money(found.amount)]
    : null;
  return html`<${Dialog} title=${t("undo.title")} onClose=${onClose}>
    <p>${t("undo.intro")}</p>
    ${found
      ? html`<section class="preview" aria-labelledby="undo-preview-title" data-undo-preview>
          <h3 id="undo-preview-title" class="visually-hidden">${t("undo.title")}</h3>
          <dl>
            <div><dt>${t("undo.restored")}</dt><dd data-undo="restored">${found.restoredCount}</dd></div>
            <div><dt>${t("undo.partly")}</dt><dd data-undo="partly">${found.partlyRestoredCount}</dd></div>
            <div><dt>${amount[0]}</dt><dd data-undo="amount">${amount[1]}</dd></div>
          </dl>
        </section>`
      : html`<${Loading} error=${preview.error} />`}
    <${ErrorSummary} errors=${errors} />
    <div class="actions">
      <button type="button" onClick=${onClose} data-autofocus>${t("common.cancel")}</button>
      <button type="button" class="danger" disabled=${busy || !found} onClick=${confirm}>
        ${t("undo.confirm")}
      </button>
    </div>
  <//>`;
}

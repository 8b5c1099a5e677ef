// Więcej → Usuń klienta: the balance read again when the dialog opens and, when there is one, the
// amount that deleting writes off said before the manager confirms; then back to the list, which
// says what was written off (the server's figure, `writtenOff`).

import { mutate } from "../api.js";
import { money, t } from "../i18n.js";
import { Dialog, ErrorSummary, html, Loading, useQuery, useState } from "../ui.js";
import { announce, fullName } from "./customers.js";
import * as documents from "../documents.js";

const positive = (value) => Boolean(value) && /[1-9]/.test(value.amount);

export function DeleteCustomerDialog({ customer, onClose }) {
  const fresh = useQuery(documents.CustomerBalance, { id: customer.id });
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  const name = fullName(customer);
  const wallet = fresh.data?.customer?.wallet;

  const confirm = async () => {
    setBusy(true);
    const { payload, errors: problems } = await mutate(documents.DeleteCustomer, { id: customer.id });
    setBusy(false);
    if (problems.length) {
      setErrors(problems);
      return;
    }
    const amount = payload.writtenOff;
    announce(
      positive(amount)
        ? t("customer.deletedWrittenOff", { name, amount: money(amount) })
        : t("customer.deleted", { name }),
    );
    location.hash = "#/customers";
  };

  return html`<${Dialog} title=${t("customer.deleteTitle")} onClose=${onClose}>
    <p>${t("customer.deleteConfirm", { name })}</p>
    ${wallet
      ? positive(wallet.balance) || positive(wallet.held)
        ? html`<div class="write-off" role="alert" data-write-off=${wallet.balance.amount}>
            ${positive(wallet.balance)
              ? html`<p><strong>${t("customer.writeOff", { amount: money(wallet.balance) })}</strong></p>`
              : null}
            ${positive(wallet.held) ? html`<p>${t("customer.writeOffHeld", { amount: money(wallet.held) })}</p>` : null}
          </div>`
        : html`<p class="hint">${t("customer.noBalance")}</p>`
      : html`<${Loading} error=${fresh.error} />`}
    <${ErrorSummary} errors=${errors} />
    <div class="actions">
      <button type="button" onClick=${onClose} data-autofocus>${t("common.cancel")}</button>
      <button type="button" class="danger" disabled=${busy || !wallet} onClick=${confirm}>
        ${t("customer.deleteSubmit")}
      </button>
    </div>
  <//>`;
}

// Klienci → Eksportuj CSV: the filtered list, in its order, built in the browser by paging
// `customers`, in the import's own columns (so the file imports back unchanged), as UTF-8 with a
// BOM and ";" between cells, which Excel opens correctly in Polish.

import { gql } from "../api.js";
import { COLUMNS, LIST_SEPARATOR, safeCell, write } from "../csv.js";
import { t, todayInLocation } from "../i18n.js";
import { html, useRef, useState } from "../ui.js";
import * as documents from "../documents.js";

const PAGE = 200; // the API's largest page

// One row per customer, its card codes and group references each separated by ";". The import
// knows a customer by card code: a customer with no card is written with an empty code, which the
// import reports by its line.
export function row(customer) {
  return [
    customer.firstName,
    customer.lastName,
    customer.email,
    customer.phone,
    customer.note,
    customer.cards.map((c) => c.code).join(LIST_SEPARATOR),
    customer.groups.map((g) => g.reference).join(LIST_SEPARATOR),
  ].map(safeCell);
}

export function download(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ExportButton({ filter, orderBy }) {
  const [state, setState] = useState(null);
  const cancelled = useRef(false);
  const run = async () => {
    cancelled.current = false;
    const rows = [];
    let withoutCard = 0;
    let after = null;
    let total = 0;
    setState({ status: "running", done: 0, total: 0 });
    try {
      do {
        const { customers } = await gql(documents.ExportCustomers, { first: PAGE, after, filter, orderBy });
        total = customers.totalCount;
        for (const { node } of customers.edges) {
          rows.push(row(node));
          if (!node.cards.length) withoutCard += 1;
        }
        after = customers.pageInfo.hasNextPage ? customers.pageInfo.endCursor : null;
        setState({ status: "running", done: rows.length, total });
      } while (after && !cancelled.current);
    } catch (error) {
      setState({ status: "failed", error });
      return;
    }
    if (cancelled.current) {
      setState(null);
      return;
    }
    download(write(COLUMNS, rows), `klienci-${todayInLocation()}.csv`);
    setState({ status: "done", done: rows.length, withoutCard });
  };
  const running = state && state.status === "running";
  return html`<span class="export">
    ${running
      ? html`<button type="button" onClick=${() => (cancelled.current = true)}>${t("customers.exportCancel")}</button>`
      : html`<button type="button" onClick=${run}>${t("customers.export")}</button>`}
    <span role="status" class="hint" data-export=${state ? state.status : null}>
      ${running ? html`<progress max=${state.total || 1} value=${state.done} aria-label=${t("customers.exportProgress")}></progress>
          ${t("customers.exportRunning", { done: state.done, total: state.total })}` : null}
      ${state && state.status === "done" ? t("customers.exportDone", { n: state.done }) : null}
      ${state && state.status === "done" && state.withoutCard ? ` ${t("customers.exportNoCard", { n: state.withoutCard })}` : null}
      ${state && state.status === "failed" ? t("customers.exportFailed") : null}
    </span>
  </span>`;
}

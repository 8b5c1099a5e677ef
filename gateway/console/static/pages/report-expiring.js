// Raporty's Wygasające kredyty: per customer, the credits that expire before a chosen day (the
// day itself excluded; by default 30 days from the location's today), soonest first, 50 customers
// at a time with Więcej, and the total and the number of customers over all of them. Its CSV file
// holds every customer, read page by page (`EXPORT_PAGE` at a time), not only those shown.

import { gql } from "../api.js";
import { date, money, t } from "../i18n.js";
import { html, useEffect, useRef, useState } from "../ui.js";
import { fullName } from "./customers.js";
import { addDays, moneyColumn, ReportError, ReportTable } from "./report-table.js";
import * as documents from "../documents.js";

export const EXPIRING_PAGE = 50;
const EXPORT_PAGE = 200; // the API's largest page
const EMPTY = { rows: [], found: null, error: null, loading: false };

// The rows read so far for `before`, and `more()` to read the next page after them; another day
// starts again at the first page, and an answer to an earlier question is dropped.
function useExpiring(before) {
  const [state, setState] = useState(EMPTY);
  const asked = useRef(0);
  const load = (after) => {
    const round = ++asked.current;
    setState((s) => (after ? { ...s, error: null, loading: true } : { ...EMPTY, loading: true }));
    gql(documents.ExpiringCredits, { before, first: EXPIRING_PAGE, after }).then(
      ({ expiringCredits: found }) =>
        round === asked.current &&
        setState((s) => ({
          rows: [...(after ? s.rows : []), ...found.edges.map((e) => e.node)],
          found,
          error: null,
          loading: false,
        })),
      (error) => round === asked.current && setState((s) => ({ ...s, error, loading: false })),
    );
  };
  useEffect(() => {
    if (before) load(null);
    else {
      asked.current += 1;
      setState(EMPTY);
    }
  }, [before]);
  return { ...state, more: () => load(state.found.pageInfo.endCursor) };
}

// Every customer whose credits expire before `before`, for the file.
async function everyExpiring(before) {
  const rows = [];
  let after = null;
  do {
    const { expiringCredits: found } = await gql(documents.ExpiringCredits, { before, first: EXPORT_PAGE, after });
    rows.push(...found.edges.map((e) => e.node));
    after = found.pageInfo.hasNextPage ? found.pageInfo.endCursor : null;
  } while (after);
  return rows;
}

function ExpiringFigures({ list, before }) {
  const name = (r) => fullName(r.customer);
  const columns = [
    {
      label: t("reports.expiring.customer"),
      show: (r) => html`<a href=${`#/customers/${r.customer.id}`}>${name(r)}</a>`,
      csv: name,
      text: true,
    },
    moneyColumn(t("reports.expiring.amount"), (r) => r.amount),
    { label: t("reports.expiring.firstExpiresOn"), nowrap: true, show: (r) => date(r.firstExpiresOn), csv: (r) => r.firstExpiresOn },
  ];
  const { found, rows } = list;
  return html`<dl class="tiles" data-report="expiring-tiles">
      <div><dt>${t("reports.expiring.total")}</dt><dd data-figure="expiring-total">${money(found.total)}</dd></div>
      <div><dt>${t("reports.expiring.count")}</dt><dd data-figure="expiring-count">${found.totalCount}</dd></div>
    </dl>
    <${ReportTable}
      caption=${t("reports.expiring.title")}
      columns=${columns}
      rows=${rows}
      file=${`wygasajace-kredyty-przed-${before}.csv`}
      empty="reports.expiring.none"
      everyRow=${found.pageInfo.hasNextPage ? () => everyExpiring(before) : null}
      footer=${html`<p class="pager" data-report="expiring-shown">
        <span>${t("reports.expiring.shown", { n: rows.length, total: found.totalCount })}</span>
        ${found.pageInfo.hasNextPage
          ? html`<button type="button" onClick=${list.more} disabled=${list.loading}>${t("reports.expiring.more")}</button>`
          : null}
      </p>`}
    />`;
}

export function ExpiringSection({ today }) {
  const [before, setBefore] = useState(addDays(today, 30));
  const list = useExpiring(before);
  return html`<section class="panel" aria-labelledby="expiring-title" data-report="expiring">
    <h2 id="expiring-title">${t("reports.expiring.title")}</h2>
    <p class="hint">${t("reports.expiring.hint")}</p>
    <div class="report-tools">
      <div class="field">
        <label for="report-before">${t("reports.expiring.before")}</label>
        <input id="report-before" type="date" value=${before} onInput=${(e) => setBefore(e.target.value)}
          aria-invalid=${before ? null : "true"} aria-describedby=${before ? null : "report-before-error"} />
      </div>
    </div>
    ${!before
      ? html`<p class="field-error" id="report-before-error" role="alert">${t("reports.expiring.dayRequired")}</p>`
      : null}
    ${list.error ? html`<${ReportError} error=${list.error} />` : null}
    ${list.found ? html`<${ExpiringFigures} list=${list} before=${before} />` : null}
    ${list.loading ? html`<p class="loading" role="status">${t("common.loading")}</p>` : null}
  </section>`;
}

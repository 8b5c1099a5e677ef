// The Raporty page's pieces: a report's table with its CSV export (UTF-8 with a BOM, ";", as the
// customer export writes), a report's error in the console's words, and amounts and days as the
// charts and the files need them.

import { safeCell, write } from "../csv.js";
import { errorText, language, money, t } from "../i18n.js";
import { html, useState } from "../ui.js";
import { download } from "./customer-export.js";

// The API's exact amount ("1234.50") in minor units, without a float's rounding.
export function minor(value) {
  const [whole, fraction = ""] = value.amount.replace("-", "").split(".");
  const units = Number(whole) * 100 + Number(fraction.padEnd(2, "0").slice(0, 2));
  return value.amount.startsWith("-") ? -units : units;
}

// An amount as a CSV cell a spreadsheet reads as a number: "1234,50" in Polish, "1234.50" in
// English (no currency, no grouping).
export function csvAmount(value) {
  return language() === "pl" ? value.amount.replace(".", ",") : value.amount;
}

// A chart's axis value, in major units: "1 234,5" (pl).
export function axisAmount(units) {
  return new Intl.NumberFormat(language() === "pl" ? "pl-PL" : "en-GB", { maximumFractionDigits: 2 }).format(units / 100);
}

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// A chart's label of a calendar day ("6 gru"), or of its month ("gru 2026").
export function shortDay(day, month = false) {
  const options = month ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(language() === "pl" ? "pl-PL" : "en-GB", { ...options, timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
}

// "2027-01" as "styczeń 2027" (pl), "January 2027" (en).
export function monthName(month) {
  return new Intl.DateTimeFormat(language() === "pl" ? "pl-PL" : "en-GB", {
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  }).format(new Date(`${month}-01T00:00:00Z`));
}

// A failed report: each of the API's errors in the console's words (by message id, else code).
export function ReportError({ error }) {
  const errors = error.errors && error.errors.length ? error.errors : [error];
  return html`<div class="alert error" role="alert">
    ${errors.map((e) => html`<p>${errorText(e, "fallback.load")}</p>`)}
  </div>`;
}

// A money column: the amount as shown, and in the file.
export function moneyColumn(label, pick) {
  return { label, number: true, show: (r) => money(pick(r)), csv: (r) => csvAmount(pick(r)) };
}

function cellClass(column) {
  return column.number ? "number" : column.nowrap ? "nowrap" : null;
}

// `columns`: [{label, show(row), csv(row), number, nowrap, text}]; a `text` cell is a person's writing
// (a name), which the file keeps from running as a spreadsheet formula; `footer` goes between the
// table and its export (paging); `everyRow`, for a paged table, reads all of its rows for the file
// (else the file holds the rows shown).
export function ReportTable({ caption, columns, rows, file, empty = "reports.none", footer = null, everyRow = null }) {
  if (!rows.length) return html`<p class="empty">${t(empty)}</p>`;
  return html`<div class="table-scroll" role="region" aria-label=${caption} tabindex="0">
      <table class="list">
        <caption class="visually-hidden">${caption}</caption>
        <thead>
          <tr>${columns.map((c) => html`<th scope="col" class=${cellClass(c)}>${c.label}</th>`)}</tr>
        </thead>
        <tbody>
          ${rows.map(
            (r, i) => html`<tr key=${i}>
              ${columns.map((c) => html`<td class=${cellClass(c)}>${c.show(r)}</td>`)}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${footer}
    <${ExportCsv} caption=${caption} columns=${columns} rows=${rows} file=${file} everyRow=${everyRow} />`;
}

function ExportCsv({ caption, columns, rows, file, everyRow }) {
  const [state, setState] = useState(null); // null, "reading", "done" or the error
  const run = async () => {
    let all = rows;
    if (everyRow) {
      setState("reading");
      try {
        all = await everyRow();
      } catch (error) {
        setState({ error });
        return;
      }
    }
    const cells = all.map((r) => columns.map((c) => (c.text ? safeCell(c.csv(r)) : c.csv(r))));
    download(write(columns.map((c) => c.label), cells), file);
    setState("done");
  };
  const status = state === "reading" ? t("reports.exporting") : state === "done" ? t("reports.exported", { file }) : null;
  return html`<p class="export">
      <button type="button" onClick=${run} disabled=${state === "reading"} aria-label=${t("reports.exportOf", { name: caption })}>${t("reports.export")}</button>
      <span role="status" class="hint">${status}</span>
    </p>
    ${state && state.error ? html`<${ReportError} error=${state.error} />` : null}`;
}

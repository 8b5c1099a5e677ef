// Raporty's sections over a period: Ruch kredytów (activity by day, week or month), Koszt
// rabatów (discount cost by day and group) and Najaktywniejsi klienci (top customers).

import { BarChart } from "../chart.js";
import { date, t } from "../i18n.js";
import { html, useQuery, useState } from "../ui.js";
import { fullName } from "./customers.js";
import { addDays, axisAmount, minor, moneyColumn, ReportError, ReportTable, shortDay } from "./report-table.js";
import * as documents from "../documents.js";

// The activity report's columns, in the API's order; netChange last.
export const ACTIVITY_COLUMNS = [
  "issuedManual",
  "issuedBulk",
  "issuedSchedule",
  "issuedCashback",
  "refunded",
  "redeemed",
  "expired",
  "cashbackReversed",
  "reduced",
  "clawedBack",
  "writtenOff",
  "undone",
  "netChange",
];
const INTERVALS = ["DAY", "WEEK", "MONTH"];
// The chart: what came in above the axis, what went out below it.
const ISSUED = ["issuedManual", "issuedBulk", "issuedSchedule", "issuedCashback"];
const OUTGOING = ["redeemed", "expired", "cashbackReversed"];
const DISCOUNT_KINDS = ["groupDiscounts", "promotions", "creditsUsed"];

function Report({ found, children }) {
  if (found.error) return html`<${ReportError} error=${found.error} />`;
  if (!found.data) return html`<p class="loading" role="status">${t("common.loading")}</p>`;
  return children(found.data);
}

export function ActivitySection({ from, to }) {
  const [interval, setChosen] = useState("DAY");
  const found = useQuery(documents.ActivityReport, { from, to, interval });
  const columns = [
    { label: t("reports.activity.start"), nowrap: true, show: (r) => date(r.start), csv: (r) => r.start },
    ...ACTIVITY_COLUMNS.map((c) => moneyColumn(t(`reports.activity.${c}`), (r) => r[c])),
  ];
  return html`<section class="panel" aria-labelledby="activity-title" data-report="activity">
    <h2 id="activity-title">${t("reports.activity.title")}</h2>
    <div class="report-tools">
      <div class="field">
        <label for="report-interval">${t("reports.activity.interval")}</label>
        <select id="report-interval" value=${interval} onChange=${(e) => setChosen(e.target.value)}>
          ${INTERVALS.map((i) => html`<option value=${i}>${t(`reports.interval.${i}`)}</option>`)}
        </select>
      </div>
    </div>
    <${Report} found=${found}>
      ${({ activityReport: rows }) => html`<${BarChart}
          label=${t("reports.activity.chart")}
          labels=${rows.map((r) => shortDay(r.start, interval === "MONTH"))}
          series=${[
            ...ISSUED.map((c, k) => ({ label: t(`reports.activity.${c}`), colour: k, values: rows.map((r) => minor(r[c])) })),
            ...OUTGOING.map((c, k) => ({ label: t(`reports.activity.${c}`), colour: 4 + k, values: rows.map((r) => -minor(r[c])) })),
          ]}
          stack
          format=${axisAmount}
        />
        <${ReportTable}
          caption=${t("reports.activity.title")}
          columns=${columns}
          rows=${rows}
          file=${`ruch-kredytow-${from}-${to}.csv`}
        />`}
    <//>
  </section>`;
}

function dailyTotals(rows, from, to) {
  const days = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  const index = new Map(days.map((d, i) => [d, i]));
  const totals = DISCOUNT_KINDS.map(() => days.map(() => 0));
  for (const row of rows) {
    DISCOUNT_KINDS.forEach((kind, k) => (totals[k][index.get(row.day)] += minor(row[kind])));
  }
  return { days, totals };
}

export function DiscountSection({ from, to }) {
  const found = useQuery(documents.DiscountCostReport, { from, to });
  const group = (r) => (r.group ? r.group.name : t("reports.noGroup"));
  const columns = [
    { label: t("reports.discounts.day"), nowrap: true, show: (r) => date(r.day), csv: (r) => r.day },
    { label: t("reports.discounts.group"), show: group, csv: group, text: true },
    ...DISCOUNT_KINDS.map((c) => moneyColumn(t(`reports.discounts.${c}`), (r) => r[c])),
    { label: t("reports.discounts.sales"), number: true, show: (r) => r.sales, csv: (r) => String(r.sales) },
  ];
  return html`<section class="panel" aria-labelledby="discounts-title" data-report="discounts">
    <h2 id="discounts-title">${t("reports.discounts.title")}</h2>
    <${Report} found=${found}>
      ${({ discountCostReport: rows }) => {
        const { days, totals } = dailyTotals(rows, from, to);
        return html`${rows.length
            ? html`<${BarChart}
                label=${t("reports.discounts.chart")}
                labels=${days.map((d) => shortDay(d))}
                series=${DISCOUNT_KINDS.map((c, k) => ({ label: t(`reports.discounts.${c}`), colour: k, values: totals[k] }))}
                stack
                format=${axisAmount}
              />`
            : null}
          <${ReportTable}
            caption=${t("reports.discounts.title")}
            columns=${columns}
            rows=${rows}
            file=${`koszt-rabatow-${from}-${to}.csv`}
          />`;
      }}
    <//>
  </section>`;
}

export function TopCustomersSection({ from, to }) {
  const found = useQuery(documents.TopCustomersReport, { from, to });
  const name = (r) => fullName(r.customer);
  const columns = [
    {
      label: t("reports.top.customer"),
      show: (r) => html`<a href=${`#/customers/${r.customer.id}`}>${name(r)}</a>`,
      csv: name,
      text: true,
    },
    moneyColumn(t("reports.top.creditsUsed"), (r) => r.creditsUsed),
    { label: t("reports.top.sales"), number: true, show: (r) => r.sales, csv: (r) => String(r.sales) },
  ];
  return html`<section class="panel" aria-labelledby="top-title" data-report="top">
    <h2 id="top-title">${t("reports.top.title")}</h2>
    <p class="hint">${t("reports.top.hint")}</p>
    <${Report} found=${found}>
      ${({ topCustomersReport: rows }) => html`${rows.length
          ? html`<${BarChart}
              label=${t("reports.top.chart")}
              labels=${rows.map(name)}
              series=${[{ label: t("reports.top.creditsUsed"), colour: 1, values: rows.map((r) => minor(r.creditsUsed)) }]}
              format=${axisAmount}
            />`
          : null}
        <${ReportTable}
          caption=${t("reports.top.title")}
          columns=${columns}
          rows=${rows}
          file=${`najaktywniejsi-klienci-${from}-${to}.csv`}
        />`}
    <//>
  </section>`;
}

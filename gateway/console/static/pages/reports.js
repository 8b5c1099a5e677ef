// Raporty: what the location owes in credits (Zobowiązania), how credits moved (Ruch kredytów),
// what discounts cost (Koszt rabatów), who used credits most (Najaktywniejsi klienci), each a
// chart, a table and a CSV file, and whose credits expire soon (Wygasające kredyty, a table and a
// CSV file). Days are the location's; the period defaults to the last 30.

import { BarChart } from "../chart.js";
import { money, t, todayInLocation } from "../i18n.js";
import { html, PageTitle, useQuery, useState } from "../ui.js";
import { addDays, axisAmount, minor, monthName, moneyColumn, ReportError, ReportTable } from "./report-table.js";
import { ExpiringSection } from "./report-expiring.js";
import { ActivitySection, DiscountSection, TopCustomersSection } from "./report-sections.js";
import * as documents from "../documents.js";

function groupName(row) {
  return row.group ? row.group.name : t("reports.noGroup");
}

function LiabilityFigures({ report }) {
  const byGroup = [
    { label: t("reports.liability.group"), show: groupName, csv: groupName, text: true },
    { label: t("reports.liability.customers"), number: true, show: (r) => r.customers, csv: (r) => String(r.customers) },
    moneyColumn(t("reports.liability.amount"), (r) => r.amount),
  ];
  const month = (r) => (r.month ? monthName(r.month) : t("reports.liability.never"));
  const byExpiry = [
    { label: t("reports.liability.month"), show: month, csv: (r) => r.month ?? t("reports.liability.never") },
    moneyColumn(t("reports.liability.amount"), (r) => r.amount),
  ];
  return html`<dl class="tiles" data-report="liability-tiles">
      <div><dt>${t("reports.liability.outstanding")}</dt><dd data-figure="outstanding">${money(report.outstanding)}</dd></div>
      <div><dt>${t("reports.liability.held")}</dt><dd data-figure="held">${money(report.held)}</dd></div>
      <div><dt>${t("reports.liability.owed")}</dt><dd data-figure="owed">${money(report.owed)}</dd></div>
      <div><dt>${t("reports.liability.scheduled")}</dt><dd data-figure="scheduled">${money(report.scheduledNext30Days)}</dd></div>
    </dl>
    <div class="columns">
      <div>
        <h3>${t("reports.liability.byGroup")}</h3>
        ${report.byGroup.length
          ? html`<${BarChart}
              label=${t("reports.liability.chart")}
              labels=${report.byGroup.map(groupName)}
              series=${[{ label: t("reports.liability.amount"), colour: 0, values: report.byGroup.map((r) => minor(r.amount)) }]}
              format=${axisAmount}
            />`
          : null}
        <${ReportTable}
          caption=${t("reports.liability.byGroup")}
          columns=${byGroup}
          rows=${report.byGroup}
          file=${`zobowiazania-grupy-${report.at}.csv`}
          empty="reports.liability.none"
        />
        <p class="hint">${t("reports.liability.groupsNote")}</p>
      </div>
      <div>
        <h3>${t("reports.liability.byExpiry")}</h3>
        <${ReportTable}
          caption=${t("reports.liability.byExpiry")}
          columns=${byExpiry}
          rows=${report.byExpiryMonth}
          file=${`zobowiazania-wygasanie-${report.at}.csv`}
          empty="reports.liability.none"
        />
      </div>
    </div>`;
}

function LiabilitySection({ today }) {
  const [at, setAt] = useState(today);
  const found = useQuery(documents.LiabilityReport, { at: at || null });
  const report = found.data?.liabilityReport;
  return html`<section class="panel" aria-labelledby="liability-title" data-report="liability">
    <h2 id="liability-title">${t("reports.liability.title")}</h2>
    <div class="report-tools">
      <div class="field">
        <label for="report-at">${t("reports.liability.at")}</label>
        <input id="report-at" type="date" max=${today} value=${at} onInput=${(e) => setAt(e.target.value)} />
      </div>
    </div>
    ${found.error
      ? html`<${ReportError} error=${found.error} />`
      : report
        ? html`<${LiabilityFigures} report=${report} />`
        : html`<p class="loading" role="status">${t("common.loading")}</p>`}
  </section>`;
}

function RangeForm({ from, to, setFrom, setTo, problem }) {
  return html`<form class="report-tools" onSubmit=${(e) => e.preventDefault()} aria-labelledby="range-title">
      <div class="field">
        <label for="report-from">${t("reports.from")}</label>
        <input id="report-from" type="date" value=${from} onInput=${(e) => setFrom(e.target.value)}
          aria-invalid=${problem ? "true" : null} aria-describedby=${problem ? "report-range-error" : null} />
      </div>
      <div class="field">
        <label for="report-to">${t("reports.to")}</label>
        <input id="report-to" type="date" value=${to} onInput=${(e) => setTo(e.target.value)}
          aria-invalid=${problem ? "true" : null} aria-describedby=${problem ? "report-range-error" : null} />
      </div>
    </form>
    <p class="hint">${t("reports.rangeHint")}</p>
    ${problem ? html`<p class="field-error" id="report-range-error" role="alert">${t(problem)}</p>` : null}`;
}

export function ReportsPage() {
  const today = todayInLocation();
  const [from, setFrom] = useState(addDays(today, -29));
  const [to, setTo] = useState(today);
  const problem = !from || !to ? "reports.datesRequired" : to < from ? "reports.endBeforeStart" : null;
  return html`<section>
    <${PageTitle}>${t("reports.title")}<//>
    <${LiabilitySection} today=${today} />
    <section class="panel" aria-labelledby="range-title">
      <h2 id="range-title">${t("reports.period")}</h2>
      <${RangeForm} from=${from} to=${to} setFrom=${setFrom} setTo=${setTo} problem=${problem} />
    </section>
    ${problem
      ? null
      : html`<${ActivitySection} from=${from} to=${to} />
          <${DiscountSection} from=${from} to=${to} />
          <${TopCustomersSection} from=${from} to=${to} />`}
    <${ExpiringSection} today=${today} />
  </section>`;
}

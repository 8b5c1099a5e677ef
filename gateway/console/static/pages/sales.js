// Sprzedaż: committed checkouts with filters, newest first; one checkout with its lines,
// discounts and refunds.

import { dateTime, money, number, t, zonedStart } from "../i18n.js";
import { Badge, html, Loading, PageTitle, Pager, useCursors, useQuery, useState } from "../ui.js";
import { fullName } from "./customers.js";
import * as documents from "../documents.js";

const CHANNELS = ["POS", "ONLINE", "KIOSK"];
const STATUSES = ["COMMITTED", "PARTIALLY_REFUNDED", "REFUNDED"];

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function CheckoutsTable({ connection, showCustomer = true }) {
  const rows = connection.edges.map((e) => e.node);
  if (!rows.length) return html`<p class="empty">${t("sales.none")}</p>`;
  return html`<table class="list">
    <caption class="visually-hidden">${t("sales.title")}</caption>
    <thead>
      <tr>
        <th scope="col">${t("sales.time")}</th>
        ${showCustomer ? html`<th scope="col">${t("sales.customer")}</th>` : null}
        <th scope="col">${t("sales.channel")}</th>
        <th scope="col">${t("sales.status")}</th>
        <th scope="col" class="number">${t("sales.creditsUsed")}</th>
        <th scope="col" class="number">${t("sales.total")}</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (c) => html`<tr key=${c.id}>
          <td><a href=${`#/sales/${c.id}`}>${dateTime(c.createdAt)}</a></td>
          ${showCustomer
            ? html`<td>${c.customer ? html`<a href=${`#/customers/${c.customer.id}`}>${fullName(c.customer)}</a>` : t("sales.anonymous")}</td>`
            : null}
          <td>${t(`channel.${c.channel}`)}</td>
          <td><${Badge} status=${c.status} label=${t(`checkout.status.${c.status}`)} /></td>
          <td class="number">${money(c.creditsUsed)}</td>
          <td class="number">${money(c.total)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function SalesPage() {
  const [status, setStatus] = useState("");
  const [channel, setChannel] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const filter = {
    status: status || null,
    channel: channel || null,
    createdFrom: from ? zonedStart(from) : null,
    createdTo: to ? zonedStart(nextDay(to)) : null,
  };
  const cursors = useCursors(JSON.stringify(filter));
  const list = useQuery(documents.Checkouts, { after: cursors.after, filter });
  const connection = list.data?.checkouts;
  return html`<section>
    <${PageTitle}>${t("sales.title")}<//>
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t("sales.filters")}>
      <div class="field">
        <label for="sales-status">${t("sales.status")}</label>
        <select id="sales-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="">${t("common.all")}</option>
          ${STATUSES.map((s) => html`<option value=${s}>${t(`checkout.status.${s}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="sales-channel">${t("sales.channel")}</label>
        <select id="sales-channel" value=${channel} onChange=${(e) => setChannel(e.target.value)}>
          <option value="">${t("common.all")}</option>
          ${CHANNELS.map((c) => html`<option value=${c}>${t(`channel.${c}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="sales-from">${t("sales.from")}</label>
        <input id="sales-from" type="date" value=${from} onInput=${(e) => setFrom(e.target.value)} />
      </div>
      <div class="field">
        <label for="sales-to">${t("sales.to")}</label>
        <input id="sales-to" type="date" value=${to} onInput=${(e) => setTo(e.target.value)} />
      </div>
    </form>
    ${connection
      ? html`<p role="status">${t("sales.count", { n: connection.totalCount })}</p>
          <${CheckoutsTable} connection=${connection} />
          <${Pager} cursors=${cursors} pageInfo=${connection.pageInfo} />`
      : html`<${Loading} error=${list.error} />`}
  </section>`;
}

function Refunds({ refunds }) {
  return html`<section class="panel" aria-labelledby="refunds-title">
    <h2 id="refunds-title">${t("sales.refunds")}</h2>
    ${refunds.length
      ? html`<table class="list">
          <thead>
            <tr>
              <th scope="col">${t("sales.time")}</th>
              <th scope="col">${t("sales.refundLines")}</th>
              <th scope="col" class="number">${t("sales.creditsReturned")}</th>
              <th scope="col" class="number">${t("sales.cashbackReversed")}</th>
              <th scope="col" class="number">${t("sales.cashbackOwed")}</th>
            </tr>
          </thead>
          <tbody>
            ${refunds.map(
              (r) => html`<tr key=${r.id}>
                <td>${dateTime(r.createdAt)}</td>
                <td>${r.lines.map((l) => `${l.name || l.productId} × ${number(l.quantity)}`).join(", ")}</td>
                <td class="number">${money(r.creditsReturned)}</td>
                <td class="number">${money(r.cashbackReversed)}</td>
                <td class="number">${money(r.cashbackOwed)}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
      : html`<p class="empty">${t("sales.noRefunds")}</p>`}
  </section>`;
}

export function SalePage({ id }) {
  const found = useQuery(documents.Checkout, { id });
  if (!found.data) return html`<${Loading} error=${found.error} />`;
  const c = found.data.checkout;
  if (!c) {
    return html`<section>
      <${PageTitle}>${t("sales.notFound")}<//>
      <p><a href="#/sales">${t("nav.sales")}</a></p>
    </section>`;
  }
  return html`<section>
    <p class="crumbs"><a href="#/sales">${t("nav.sales")}</a></p>
    <${PageTitle}>${t("sales.checkout", { time: dateTime(c.createdAt) })}<//>
    <dl class="facts">
      <div><dt>${t("sales.customer")}</dt><dd>${c.customer ? html`<a href=${`#/customers/${c.customer.id}`}>${fullName(c.customer)}</a>` : t("sales.anonymous")}</dd></div>
      <div><dt>${t("sales.channel")}</dt><dd>${t(`channel.${c.channel}`)}</dd></div>
      <div><dt>${t("sales.status")}</dt><dd><${Badge} status=${c.status} label=${t(`checkout.status.${c.status}`)} /></dd></div>
      ${c.refundedAt ? html`<div><dt>${t("sales.refundedAt")}</dt><dd>${dateTime(c.refundedAt)}</dd></div>` : null}
    </dl>
    <section class="panel" aria-labelledby="lines-title">
      <h2 id="lines-title">${t("sales.lines")}</h2>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">${t("sales.product")}</th>
            <th scope="col" class="number">${t("sales.quantity")}</th>
            <th scope="col" class="number">${t("sales.unitPrice")}</th>
            <th scope="col" class="number">${t("sales.subtotal")}</th>
            <th scope="col" class="number">${t("sales.discount")}</th>
            <th scope="col" class="number">${t("sales.total")}</th>
          </tr>
        </thead>
        <tbody>
          ${c.lines.map(
            (l, i) => html`<tr key=${i}>
              <td>${l.name || l.productId}</td>
              <td class="number">${number(l.quantity)}</td>
              <td class="number">${money(l.unitPrice)}</td>
              <td class="number">${money(l.subtotal)}</td>
              <td class="number">${money(l.discount)}</td>
              <td class="number">${money(l.total)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section class="panel" aria-labelledby="discounts-title">
      <h2 id="discounts-title">${t("sales.discounts")}</h2>
      ${c.discounts.length
        ? html`<table class="list">
            <thead>
              <tr>
                <th scope="col">${t("sales.discountName")}</th>
                <th scope="col">${t("sales.discountKind")}</th>
                <th scope="col">${t("groups.reference")}</th>
                <th scope="col" class="number">${t("sales.amount")}</th>
              </tr>
            </thead>
            <tbody>
              ${c.discounts.map(
                (d) => html`<tr key=${d.id}>
                  <td>${d.name}</td>
                  <td>${t(`discount.${d.kind}`)}</td>
                  <td>${d.reference || ""}</td>
                  <td class="number">${money(d.amount)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">${t("sales.noDiscounts")}</p>`}
      <dl class="facts totals">
        <div><dt>${t("sales.subtotal")}</dt><dd>${money(c.subtotal)}</dd></div>
        <div><dt>${t("sales.discountTotal")}</dt><dd>${money(c.discountTotal)}</dd></div>
        <div><dt>${t("sales.creditsUsed")}</dt><dd>${money(c.creditsUsed)}</dd></div>
        <div><dt>${t("sales.cashback")}</dt><dd>${money(c.cashbackGranted)}</dd></div>
        <div><dt>${t("sales.total")}</dt><dd><strong>${money(c.total)}</strong></dd></div>
      </dl>
    </section>
    <${Refunds} refunds=${c.refunds} />
  </section>`;
}

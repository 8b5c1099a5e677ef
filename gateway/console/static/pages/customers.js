// Klienci: search, group and credits filters, the order, keyset pages with the total, selection
// and the bulk actions (credits, a group's members); adding a customer, importing and exporting CSV.

import { money, t } from "../i18n.js";
import {
  html,
  Loading,
  PageTitle,
  Pager,
  useCursors,
  useDebounced,
  useEffect,
  useQuery,
  useState,
} from "../ui.js";
import { CreditsDialog } from "./credits-dialog.js";
import { ExportButton } from "./customer-export.js";
import { ImportDialog } from "./customer-import.js";
import { GroupMembersDialog } from "./group-members-dialog.js";
import * as documents from "../documents.js";

const PAGE_SIZE = 50;

export const ORDERS = ["NAME_ASC", "NAME_DESC", "BALANCE_DESC", "BALANCE_ASC", "CREATED_DESC", "CREATED_ASC"];
// The column each order sorts, for its header's aria-sort.
const SORTED = { NAME: "name", BALANCE: "balance" };

// A sentence for the list to show once, the next time it opens (after a customer is deleted).
let notice = null;
export function announce(text) {
  notice = text;
}

export function fullName(customer) {
  return [customer.firstName, customer.lastName].filter(Boolean).join(" ") || t("customers.unnamed");
}

function Filters({ search, setSearch, groupId, setGroupId, credits, setCredits, orderBy, setOrderBy, groups }) {
  return html`<form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
    <div class="field">
      <label for="customers-search">${t("customers.search")}</label>
      <input id="customers-search" type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} />
    </div>
    <div class="field">
      <label for="customers-group">${t("customers.group")}</label>
      <select id="customers-group" value=${groupId} onChange=${(e) => setGroupId(e.target.value)}>
        <option value="">${t("customers.anyGroup")}</option>
        ${groups.map((g) => html`<option value=${g.id}>${g.name}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="customers-credits">${t("customers.credits")}</label>
      <select id="customers-credits" value=${credits} onChange=${(e) => setCredits(e.target.value)}>
        <option value="">${t("customers.creditsAny")}</option>
        <option value="with">${t("customers.creditsWith")}</option>
        <option value="without">${t("customers.creditsWithout")}</option>
      </select>
    </div>
    <div class="field">
      <label for="customers-order">${t("customers.orderBy")}</label>
      <select id="customers-order" value=${orderBy} onChange=${(e) => setOrderBy(e.target.value)}>
        ${ORDERS.map((o) => html`<option value=${o}>${t(`customers.order.${o}`)}</option>`)}
      </select>
    </div>
  </form>`;
}

function Row({ customer, checked, onToggle }) {
  const name = fullName(customer);
  return html`<tr>
    <td class="check">
      <input
        type="checkbox"
        checked=${checked}
        onChange=${() => onToggle(customer.id)}
        aria-label=${t("customers.select", { name })}
      />
    </td>
    <td><a href=${`#/customers/${customer.id}`}>${name}</a></td>
    <td>${customer.email || ""}</td>
    <td class="nowrap">${customer.phone || ""}</td>
    <td>${customer.cards.map((c) => c.code).join(", ")}</td>
    <td>${customer.groups.map((g) => g.name).join(", ")}</td>
    <td class="number">${money(customer.wallet.balance)}</td>
  </tr>`;
}

// All results of the filter; with no criterion in it, every customer, which the API wants said
// (`allCustomers`): it refuses an empty filter.
function allOf(filter, total) {
  const criteria = Object.values(filter).some((value) => value !== null);
  return criteria
    ? { target: { filter }, label: t("credits.targetFilter", { n: total }) }
    : { target: { allCustomers: true }, label: t("credits.targetAll", { n: total }) };
}

function selection(selected) {
  return { target: { customerIds: [...selected] }, label: t("credits.targetSelected", { n: selected.size }) };
}

export function CustomersPage() {
  const [search, setSearch] = useState("");
  const [groupId, setGroupId] = useState("");
  const [credits, setCredits] = useState("");
  const [orderBy, setOrderBy] = useState(ORDERS[0]);
  const [flash] = useState(() => {
    const shown = notice;
    notice = null;
    return shown;
  });
  const [selected, setSelected] = useState(new Set());
  const [allResults, setAllResults] = useState(false);
  const [dialog, setDialog] = useState(null);
  const settledSearch = useDebounced(search.trim(), 300);
  const filter = {
    search: settledSearch || null,
    groupIds: groupId ? [groupId] : null,
    hasCredits: credits === "" ? null : credits === "with",
  };
  const filterKey = JSON.stringify(filter);
  // A new order starts at the first page again; the selection stays, a new filter clears it.
  const cursors = useCursors(JSON.stringify([filter, orderBy]));
  useEffect(() => {
    setSelected(new Set());
    setAllResults(false);
  }, [filterKey]);

  const groups = useQuery(documents.GroupNames);
  const list = useQuery(documents.Customers, { first: PAGE_SIZE, after: cursors.after, filter, orderBy });
  const connection = list.data?.customers;
  const rows = connection ? connection.edges.map((e) => e.node) : [];
  const total = connection ? connection.totalCount : 0;
  const pageSelected = rows.length > 0 && rows.every((c) => allResults || selected.has(c.id));

  const toggle = (id) => {
    const next = new Set(allResults ? rows.map((c) => c.id) : selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setAllResults(false);
    setSelected(next);
  };
  const togglePage = () => {
    const next = new Set(allResults ? [] : selected);
    for (const c of rows) {
      if (pageSelected) next.delete(c.id);
      else next.add(c.id);
    }
    setAllResults(false);
    setSelected(next);
  };
  const clear = () => {
    setAllResults(false);
    setSelected(new Set());
  };
  const count = allResults ? total : selected.size;
  const target = () => (allResults ? allOf(filter, total) : selection(selected));
  const openCredits = () => setDialog({ kind: "credits", ...target() });
  const openMembers = () => setDialog({ kind: "members", ...target() });
  const closeDialog = () => {
    setDialog(null);
    list.reload();
  };
  // A header's button sorts by its column, the other way round when the list is sorted by it.
  const sortBy = (key) => {
    const [current, direction] = orderBy.split("_");
    const first = key === "NAME" ? "ASC" : "DESC";
    setOrderBy(`${key}_${current === key ? (direction === "ASC" ? "DESC" : "ASC") : first}`);
  };
  const sortedBy = (column) => {
    const [key, direction] = orderBy.split("_");
    if (SORTED[key] !== column) return null;
    return direction === "ASC" ? "ascending" : "descending";
  };

  return html`<section>
    <div class="title-row">
      <${PageTitle}>${t("customers.title")}<//>
      <div class="toolbar">
        <a class="button primary" href="#/customers/new">${t("customers.add")}</a>
        <button type="button" onClick=${() => setDialog({ kind: "import" })}>${t("customers.import")}</button>
        <${ExportButton} filter=${filter} orderBy=${orderBy} />
      </div>
    </div>
    ${flash ? html`<div class="alert info" role="status">${flash}</div>` : null}
    <${Filters}
      search=${search}
      setSearch=${setSearch}
      groupId=${groupId}
      setGroupId=${setGroupId}
      credits=${credits}
      setCredits=${setCredits}
      orderBy=${orderBy}
      setOrderBy=${setOrderBy}
      groups=${groups.data ? groups.data.customerGroups : []}
    />
    <div class="bulk" role="region" aria-label=${t("customers.selection")}>
      <span role="status">${t("customers.results", { n: total })} · ${t("customers.selected", { n: count })}</span>
      ${!allResults && total > 0
        ? html`<button type="button" class="link" onClick=${() => setAllResults(true)}>
            ${t("customers.selectAll", { n: total })}
          </button>`
        : null}
      ${count > 0 ? html`<button type="button" class="link" onClick=${clear}>${t("customers.clear")}</button>` : null}
      <button type="button" disabled=${count === 0} onClick=${openMembers}>${t("members.action")}</button>
      <button type="button" class="primary" disabled=${count === 0} onClick=${openCredits}>
        ${t("credits.action")}
      </button>
    </div>
    ${connection
      ? html`<table class="list">
            <caption class="visually-hidden">${t("customers.title")}</caption>
            <thead>
              <tr>
                <th class="check">
                  <input
                    type="checkbox"
                    checked=${pageSelected}
                    onChange=${togglePage}
                    aria-label=${t("customers.selectPage")}
                  />
                </th>
                <th scope="col" aria-sort=${sortedBy("name")}>
                  <button type="button" class="sort" onClick=${() => sortBy("NAME")}>${t("customers.name")}</button>
                </th>
                <th scope="col">${t("customers.email")}</th>
                <th scope="col">${t("customers.phone")}</th>
                <th scope="col">${t("customers.cards")}</th>
                <th scope="col">${t("customers.groups")}</th>
                <th scope="col" class="number" aria-sort=${sortedBy("balance")}>
                  <button type="button" class="sort" onClick=${() => sortBy("BALANCE")}>${t("customers.balance")}</button>
                </th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (c) => html`<${Row}
                  key=${c.id}
                  customer=${c}
                  checked=${allResults || selected.has(c.id)}
                  onToggle=${toggle}
                />`,
              )}
            </tbody>
          </table>
          ${rows.length === 0 ? html`<p class="empty">${t("customers.none")}</p>` : null}
          <${Pager} cursors=${cursors} pageInfo=${connection.pageInfo} total=${total} pageSize=${PAGE_SIZE} />`
      : html`<${Loading} error=${list.error} />`}
    ${dialog && dialog.kind === "credits"
      ? html`<${CreditsDialog}
          target=${dialog.target}
          targetLabel=${dialog.label}
          groupId=${groupId || null}
          onClose=${closeDialog}
        />`
      : null}
    ${dialog && dialog.kind === "members"
      ? html`<${GroupMembersDialog}
          target=${dialog.target}
          targetLabel=${dialog.label}
          groups=${groups.data ? groups.data.customerGroups : []}
          onClose=${closeDialog}
        />`
      : null}
    ${dialog && dialog.kind === "import" ? html`<${ImportDialog} onClose=${closeDialog} />` : null}
  </section>`;
}

// A customer's page: contact data, cards and groups (editable), the wallet (the balance, and the
// cashback held or owed when there is any) with its history, the customer's sales, and Więcej →
// Ustaw promocyjne kredyty or Usuń klienta; and the page that adds a customer.

import { mutate } from "../api.js";
import { date, dateTime, errorText, money, t } from "../i18n.js";
import {
  ErrorSummary,
  Field,
  html,
  Loading,
  PageTitle,
  Pager,
  TextInput,
  useCursors,
  useEffect,
  useQuery,
  useRef,
  useState,
} from "../ui.js";
import { CreditsDialog } from "./credits-dialog.js";
import { DeleteCustomerDialog } from "./customer-delete.js";
import { fullName } from "./customers.js";
import { CheckoutsTable } from "./sales.js";
import * as documents from "../documents.js";

const BLANK = { id: null, cards: [{ code: "", number: "", expiresOn: "" }], groups: [] };
const CONTACT = ["firstName", "lastName", "email", "phone", "note"];
const FIELDS = [...CONTACT.map((f) => `input.${f}`), "input.cards", "input.groupIds"];

function form(customer) {
  return {
    ...Object.fromEntries(CONTACT.map((f) => [f, customer[f] || ""])),
    cards: customer.cards.map((c) => ({ code: c.code, number: c.number || "", expiresOn: c.expiresOn || "" })),
    groupIds: customer.groups.map((g) => g.id),
  };
}

function CardRows({ cards, errors, onChange }) {
  const set = (index, key, value) => onChange(cards.map((c, i) => (i === index ? { ...c, [key]: value } : c)));
  return html`<fieldset class="card-list">
    <legend>${t("customer.cards")}</legend>
    ${cards.map(
      (card, i) => html`<div class="row card-row">
        <${TextInput}
          label=${t("customer.cardCode")}
          path=${`input.cards.${i}.code`}
          errors=${errors}
          value=${card.code}
          onInput=${(v) => set(i, "code", v)}
        />
        <${TextInput}
          label=${t("customer.cardNumber")}
          path=${`input.cards.${i}.number`}
          errors=${errors}
          value=${card.number}
          onInput=${(v) => set(i, "number", v)}
        />
        <${TextInput}
          label=${t("customer.cardExpires")}
          path=${`input.cards.${i}.expiresOn`}
          errors=${errors}
          type="date"
          value=${card.expiresOn}
          onInput=${(v) => set(i, "expiresOn", v)}
        />
        <button
          type="button"
          class="link"
          onClick=${() => onChange(cards.filter((_, j) => j !== i))}
          aria-label=${t("customer.removeCard", { code: card.code || i + 1 })}
        >
          ${t("common.remove")}
        </button>
      </div>`,
    )}
    <button type="button" onClick=${() => onChange([...cards, { code: "", number: "", expiresOn: "" }])}>
      ${t("customer.addCard")}
    </button>
  </fieldset>`;
}

function ContactForm({ customer, groups, onSaved }) {
  const [values, setValues] = useState(form(customer));
  const [errors, setErrors] = useState([]);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (key) => (value) => {
    setSaved(false);
    setValues({ ...values, [key]: value });
  };
  const toggleGroup = (id) =>
    set("groupIds")(values.groupIds.includes(id) ? values.groupIds.filter((g) => g !== id) : [...values.groupIds, id]);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    const input = {
      ...Object.fromEntries(CONTACT.map((f) => [f, values[f]])),
      // A new customer's form opens with an empty card row, which is no card if left empty.
      cards: values.cards
        .filter((c) => customer.id || c.code.trim() || c.number || c.expiresOn)
        .map((c) => ({ code: c.code, number: c.number || null, expiresOn: c.expiresOn || null })),
      groupIds: values.groupIds,
    };
    const { payload, errors: problems } = customer.id
      ? await mutate(documents.UpdateCustomer, { id: customer.id, input })
      : await mutate(documents.CreateCustomer, { input });
    setBusy(false);
    setErrors(problems);
    if (!problems.length) {
      setSaved(true);
      onSaved(payload.customer);
    }
  };
  const cardErrors = errors.filter((e) => e.field === "input.cards");
  return html`<form class="panel" onSubmit=${submit} novalidate aria-labelledby="contact-title">
    <h2 id="contact-title">${t("customer.contact")}</h2>
    <${ErrorSummary} errors=${[...cardErrors, ...errors.filter((e) => !FIELDS.some((f) => e.field && e.field.startsWith(f)))]} />
    <div class="row">
      <${TextInput} label=${t("customer.firstName")} path="input.firstName" errors=${errors} value=${values.firstName} onInput=${set("firstName")} />
      <${TextInput} label=${t("customer.lastName")} path="input.lastName" errors=${errors} value=${values.lastName} onInput=${set("lastName")} />
    </div>
    <div class="row">
      <${TextInput} label=${t("customer.email")} path="input.email" errors=${errors} type="email" value=${values.email} onInput=${set("email")} />
      <${TextInput} label=${t("customer.phone")} path="input.phone" errors=${errors} type="tel" value=${values.phone} onInput=${set("phone")} />
    </div>
    <${Field} label=${t("customer.note")} path="input.note" errors=${errors}>
      ${({ id, describedBy }) => html`<textarea id=${id} rows="2" value=${values.note} onInput=${(e) => set("note")(e.target.value)} aria-describedby=${describedBy}></textarea>`}
    <//>
    <${CardRows} cards=${values.cards} errors=${errors} onChange=${set("cards")} />
    <fieldset class="groups">
      <legend>${t("customer.groups")}</legend>
      ${groups.map(
        (g) => html`<label class="inline">
          <input type="checkbox" checked=${values.groupIds.includes(g.id)} onChange=${() => toggleGroup(g.id)} />
          ${g.name}
        </label>`,
      )}
      ${errors
        .filter((e) => e.field && e.field.startsWith("input.groupIds"))
        .map((e) => html`<p class="field-error">${errorText(e)}</p>`)}
    </fieldset>
    <div class="actions">
      ${saved ? html`<span class="saved" role="status">${t("common.saved")}</span>` : null}
      <button type="submit" class="primary" disabled=${busy}>${t("common.save")}</button>
    </div>
  </form>`;
}

// Held and owed cashback, each only when there is some: most wallets have neither.
function Pending({ wallet }) {
  const shown = ["held", "owed"].filter((part) => /[1-9]/.test(wallet[part].amount));
  if (!shown.length) return null;
  return html`<dl class="pending">
    ${shown.map(
      (part) => html`<div key=${part}>
        <dt>${t(`customer.${part}`)}</dt>
        <dd>
          <strong data-wallet=${part}>${money(wallet[part])}</strong>
          <span class="hint">${t(`customer.${part}Hint`)}</span>
        </dd>
      </div>`,
    )}
  </dl>`;
}

// What the balance is made of, soonest-expiring first (the order spending takes them).
function Lots({ lots }) {
  if (!lots.length) return null;
  return html`<table class="list lots" data-lots>
      <caption>${t("customer.lots")}</caption>
      <thead>
        <tr>
          <th scope="col" class="number">${t("lots.remaining")}</th>
          <th scope="col" class="number">${t("lots.amount")}</th>
          <th scope="col">${t("lots.expiresOn")}</th>
          <th scope="col">${t("lots.source")}</th>
        </tr>
      </thead>
      <tbody>
        ${lots.map(
          (lot) => html`<tr key=${lot.id}>
            <td class="number">${money(lot.remaining)}</td>
            <td class="number">${money(lot.amount)}</td>
            <td data-expires=${lot.expiresOn || ""}>${lot.expiresOn ? date(lot.expiresOn) : t("lots.never")}</td>
            <td>${t(`source.${lot.source}`)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p class="hint">${t("lots.hint")}</p>`;
}

// Kinds whose requested amount can differ from the change: REDUCE stops at zero, SET reaches a target.
const REQUESTED = new Set(["ADD", "REDUCE", "SET"]);

function History({ id }) {
  const cursors = useCursors();
  const history = useQuery(documents.CustomerHistory, { id, after: cursors.after });
  const entries = history.data?.customer?.wallet.entries;
  if (!entries) return html`<${Loading} error=${history.error} />`;
  return html`<table class="list history">
      <caption class="visually-hidden">${t("customer.history")} (${entries.totalCount})</caption>
      <thead>
        <tr>
          <th scope="col">${t("history.time")}</th>
          <th scope="col">${t("history.kind")}</th>
          <th scope="col" class="number">${t("history.amount")}</th>
          <th scope="col" class="number">${t("history.delta")}</th>
          <th scope="col" class="number">${t("history.balanceAfter")}</th>
          <th scope="col">${t("history.description")}</th>
          <th scope="col">${t("history.source")}</th>
          <th scope="col">${t("history.actor")}</th>
        </tr>
      </thead>
      <tbody>
        ${entries.edges.map(
          ({ node: e }) => html`<tr key=${e.id}>
            <td>${dateTime(e.createdAt)}</td>
            <td>${t(`kind.${e.kind}`)}</td>
            <td class="number">${REQUESTED.has(e.kind) ? money(e.requestedAmount) : ""}</td>
            <td class="number">${money(e.delta, { signed: true })}</td>
            <td class="number">${money(e.balanceAfter)}</td>
            <td>${e.description || ""}</td>
            <td>${t(`source.${e.source}`)}</td>
            <td>${e.actor || ""}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${entries.edges.length === 0 ? html`<p class="empty">${t("customer.noHistory")}</p>` : null}
    <${Pager} cursors=${cursors} pageInfo=${entries.pageInfo} label=${t("customer.history")} />`;
}

function MoreMenu({ onCredits, onDelete }) {
  const [open, setOpen] = useState(false);
  const first = useRef(null);
  useEffect(() => {
    if (open && first.current) first.current.focus();
  }, [open]);
  const choose = (action) => () => {
    setOpen(false);
    action();
  };
  const leave = (event) => {
    if (!event.currentTarget.contains(event.relatedTarget)) setOpen(false);
  };
  return html`<div class="menu" onKeyDown=${(e) => e.key === "Escape" && setOpen(false)} onFocusOut=${leave}>
    <button type="button" aria-haspopup="menu" aria-expanded=${open ? "true" : "false"} aria-controls="customer-more" onClick=${() => setOpen(!open)}>
      ${t("customer.more")} ▾
    </button>
    ${open
      ? html`<ul role="menu" id="customer-more">
          <li role="none"><button type="button" role="menuitem" ref=${first} onClick=${choose(onCredits)}>${t("credits.action")}</button></li>
          <li role="none"><button type="button" role="menuitem" class="danger" onClick=${choose(onDelete)}>${t("customer.delete")}</button></li>
        </ul>`
      : null}
  </div>`;
}

export function CustomerPage({ id }) {
  const customer = useQuery(documents.Customer, { id });
  const [dialog, setDialog] = useState(false);
  const [round, setRound] = useState(0);
  const found = customer.data?.customer;
  if (!customer.data) return html`<${Loading} error=${customer.error} />`;
  if (!found) {
    return html`<section>
      <${PageTitle}>${t("customer.notFound")}<//>
      <p><a href="#/customers">${t("nav.customers")}</a></p>
    </section>`;
  }
  const name = fullName(found);
  return html`<section>
    <p class="crumbs"><a href="#/customers">${t("nav.customers")}</a></p>
    <div class="title-row">
      <${PageTitle}>${name}<//>
      <${MoreMenu} onCredits=${() => setDialog("credits")} onDelete=${() => setDialog("delete")} />
    </div>
    <div class="columns">
      <${ContactForm} key=${found.id} customer=${found} groups=${customer.data.customerGroups} onSaved=${customer.reload} />
      <section class="panel" aria-labelledby="wallet-title">
        <h2 id="wallet-title">${t("customer.wallet")}</h2>
        <p class="balance">
          <span>${t("customer.balance")}</span>
          <strong data-balance>${money(found.wallet.balance)}</strong>
        </p>
        <${Pending} wallet=${found.wallet} />
        <${Lots} lots=${found.wallet.lots} />
      </section>
    </div>
    <section class="panel" aria-labelledby="history-title">
      <h2 id="history-title">${t("customer.history")}</h2>
      <${History} key=${round} id=${found.id} />
    </section>
    <section class="panel" aria-labelledby="checkouts-title">
      <h2 id="checkouts-title">${t("customer.checkouts")}</h2>
      <${CustomerCheckouts} id=${found.id} />
    </section>
    ${dialog === "delete"
      ? html`<${DeleteCustomerDialog} customer=${found} onClose=${() => setDialog(false)} />`
      : null}
    ${dialog === "credits"
      ? html`<${CreditsDialog}
          target=${{ customerIds: [found.id] }}
          targetLabel=${name}
          onClose=${() => {
            setDialog(false);
            customer.reload();
            setRound(round + 1);
          }}
        />`
      : null}
  </section>`;
}

function CustomerCheckouts({ id }) {
  const checkouts = useQuery(documents.CustomerCheckouts, { filter: { customerId: id } });
  if (!checkouts.data) return html`<${Loading} error=${checkouts.error} />`;
  return html`<${CheckoutsTable} connection=${checkouts.data.checkouts} showCustomer=${false} />`;
}

// Klienci → Dodaj klienta: the contact form, empty; once saved, the new customer's page.
export function NewCustomerPage() {
  const groups = useQuery(documents.GroupNames);
  if (!groups.data) return html`<${Loading} error=${groups.error} />`;
  return html`<section>
    <p class="crumbs"><a href="#/customers">${t("nav.customers")}</a></p>
    <${PageTitle}>${t("customer.new")}<//>
    <${ContactForm}
      customer=${BLANK}
      groups=${groups.data.customerGroups}
      onSaved=${(created) => {
        location.hash = `#/customers/${created.id}`;
      }}
    />
  </section>`;
}

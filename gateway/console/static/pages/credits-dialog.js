// Ustaw promocyjne kredyty: one customer, the selected ones, every result of a filter or every
// customer; once, with a preview first, or on a schedule. A schedule's recipients are said in
// words (the live membership of a group, or a fixed list of customers), and when customers were
// picked under a group filter, the dialog offers the group instead.

import { decimal, gql, mutate } from "../api.js";
import { date, money, plural, t, todayInLocation, unitName } from "../i18n.js";
import {
  Dialog,
  ErrorSummary,
  Field,
  html,
  otherErrors,
  TextInput,
  useDebounced,
  useEffect,
  useInterval,
  useQuery,
  useRef,
  useState,
} from "../ui.js";
import * as documents from "../documents.js";

const OPERATIONS = ["ADD", "REDUCE", "SET"];
// The number the unit's name agrees with: what is typed, else 1 ("co 1 miesiąc" reads "miesiąc").
function unitCount(text) {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : 1;
}
const UNITS = ["DAY", "WEEK", "MONTH"];
const FIELDS = [
  "input.operation",
  "input.amount",
  "input.description",
  "input.expiresOn",
  "input.recurrence.every",
  "input.recurrence.unit",
  "input.recurrence.startDate",
  "input.recurrence.endDate",
];

// Why a schedule cannot target this: it follows fixed customers, the live membership of groups or
// every customer. A filter here always has a criterion (with none, the target is allCustomers).
function repeatBlocked(target) {
  const filter = target.filter;
  if (!filter) return null;
  if (filter.search) return "credits.repeatSearch";
  if (filter.hasCredits !== null && filter.hasCredits !== undefined) return "credits.repeatCredits";
  return null;
}

// Who a schedule for `target` reaches, in words: "wszyscy obecni i przyszli członkowie grupy
// Stały klient", "4 wybranych klientów, na stałe", "wszyscy obecni i przyszli klienci".
export function recipients(target, groupNames) {
  if (target.allCustomers) return t("recurring.all");
  if (target.customerIds) return plural("recurring.customers", target.customerIds.length);
  const ids = target.filter?.groupIds ?? [];
  const names = ids.map((id) => groupNames[id] ?? "…").join(", ");
  return t(ids.length === 1 ? "recurring.group" : "recurring.groups", { names });
}

// The recipients of a schedule: said in words, and, for customers picked while a group filter
// was active, a choice between them and the group's present and future members.
function Recipients({ target, groupTarget, useGroup, onUseGroup, groupNames }) {
  if (!groupTarget) {
    return html`<p class="recipients" data-recipients>
      ${t("credits.recipients")}: <strong>${recipients(target, groupNames)}</strong>
    </p>`;
  }
  return html`<fieldset class="choice recipients">
    <legend>${t("credits.recipients")}</legend>
    <label>
      <input type="radio" name="credit-recipients" checked=${!useGroup} onChange=${() => onUseGroup(false)} />
      ${recipients(target, groupNames)}
    </label>
    <label>
      <input type="radio" name="credit-recipients" checked=${useGroup} onChange=${() => onUseGroup(true)} />
      ${recipients(groupTarget, groupNames)}
    </label>
    <p class="hint" data-recipients>
      ${t(useGroup ? "recurring.groupHint" : "recurring.fixedHint")}
    </p>
  </fieldset>`;
}

function Preview({ preview, pending, refused }) {
  if (refused) return null;
  if (!preview) return html`<p class="hint" role="status">${t(pending ? "common.loading" : "credits.previewHint")}</p>`;
  return html`<section class="preview" aria-labelledby="credits-preview-title" aria-live="polite">
    <h3 id="credits-preview-title">${t("credits.preview")}</h3>
    <dl>
      <div><dt>${t("credits.previewCustomers")}</dt><dd data-preview="customerCount">${preview.customerCount}</dd></div>
      <div><dt>${t("credits.previewChanged")}</dt><dd data-preview="changedCount">${preview.changedCount}</dd></div>
      <div><dt>${t("credits.previewBefore")}</dt><dd data-preview="balanceBefore">${money(preview.balanceBefore)}</dd></div>
      <div><dt>${t("credits.previewAfter")}</dt><dd data-preview="balanceAfter">${money(preview.balanceAfter)}</dd></div>
    </dl>
    ${preview.overMaximumCount
      ? html`<p class="field-error">${plural("credits.overMaximum", preview.overMaximumCount)}</p>`
      : null}
    ${preview.clampedCount
      ? html`<p class="warning" data-preview="clampedCount">${plural("credits.clamped", preview.clampedCount)}</p>`
      : null}
  </section>`;
}

function Progress({ operation }) {
  const [current, setCurrent] = useState(operation);
  const running = current.status === "QUEUED" || current.status === "RUNNING";
  useInterval(
    () => gql(documents.WalletOperation, { id: current.id }).then((d) => d.walletOperation && setCurrent(d.walletOperation)),
    500,
    running,
  );
  return html`<div class="result" role="status" data-operation-status=${current.status}>
    <p>${t(`operation.status.${current.status}`)} · ${t("operations.progress", { done: current.processed, total: current.total })}</p>
    <progress max=${current.total || 1} value=${current.processed} aria-label=${t("operations.progressLabel")}></progress>
    ${current.error ? html`<p class="field-error">${current.error}</p>` : null}
  </div>`;
}

export function CreditsDialog({ target: picked, targetLabel, groupId = null, onClose }) {
  const idempotencyKey = useRef(crypto.randomUUID()).current;
  const blocked = repeatBlocked(picked);
  const groups = useQuery(documents.GroupNames);
  const groupNames = Object.fromEntries((groups.data?.customerGroups ?? []).map((g) => [g.id, g.name]));
  // Customers picked one by one under a group filter: the schedule may follow the group instead.
  const groupTarget = picked.customerIds && groupId ? { filter: { groupIds: [groupId] } } : null;
  const [useGroup, setUseGroup] = useState(false);
  const [operation, setOperation] = useState("ADD");
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [repeat, setRepeat] = useState(false);
  const [every, setEvery] = useState("1");
  const [unit, setUnit] = useState("MONTH");
  const [startDate, setStartDate] = useState(todayInLocation());
  const [endDate, setEndDate] = useState("");
  const [expiresOn, setExpiresOn] = useState("");
  const [preview, setPreview] = useState(null);
  const [previewErrors, setPreviewErrors] = useState([]);
  const [submitErrors, setSubmitErrors] = useState(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  // One customer's change carries the balance the preview showed; when it changed meanwhile
  // (STALE_BALANCE) the balance now is said, the preview read again, and the manager asks again.
  const [stale, setStale] = useState(null);
  const [round, setRound] = useState(0);
  const errors = submitErrors || previewErrors;
  const target = repeat && useGroup && groupTarget ? groupTarget : picked;

  const base = { target, operation, amount: decimal(amount), description: description || null };
  const previewInput = useDebounced(JSON.stringify(base), 250);
  useEffect(() => {
    const input = JSON.parse(previewInput);
    if (!input.amount) {
      setPreview(null);
      setPreviewErrors([]);
      return undefined;
    }
    let current = true;
    gql(documents.PreviewPromotionalCredits, { input }).then(
      ({ previewPromotionalCredits: answer }) => {
        if (!current) return;
        setPreview(answer.preview);
        setPreviewErrors(answer.errors);
      },
      (error) => {
        if (!current) return;
        setPreview(null);
        setPreviewErrors(error.errors);
      },
    );
    return () => {
      current = false;
    };
  }, [previewInput, round]);

  const edit = (setter) => (value) => {
    setSubmitErrors(null);
    setStale(null);
    setter(value);
  };

  const submit = async (event) => {
    event.preventDefault();
    if (repeat && !/^\d+$/.test(every.trim())) {
      setSubmitErrors([{ field: "input.recurrence.every", message: t("credits.everyInvalid") }]);
      return;
    }
    const input = { ...base, idempotencyKey };
    if (repeat) {
      input.recurrence = { every: Number(every), unit, startDate, endDate: endDate || null };
    } else {
      if (picked.customerIds?.length === 1 && preview) {
        input.expectedBalance = preview.balanceBefore.amount;
      }
      if (expiresOn && operation !== "REDUCE") {
        input.expiresOn = expiresOn;
      }
    }
    setBusy(true);
    const { payload, errors: problems } = await mutate(documents.SetPromotionalCredits, { input });
    setBusy(false);
    const changed = problems.find((p) => p.code === "STALE_BALANCE");
    if (changed) {
      setStale(changed.params?.find((p) => p.name === "balance")?.value ?? "");
      setPreview(null);
      setRound((n) => n + 1);
      return;
    }
    if (problems.length) {
      setSubmitErrors(problems);
      return;
    }
    setResult(payload);
  };

  if (result) {
    return html`<${Dialog} title=${t("credits.title")} onClose=${onClose}>
      ${result.operation ? html`<${Progress} operation=${result.operation} />` : null}
      ${result.schedule
        ? html`<div class="result" role="status">
            <p>${t("credits.scheduleCreated", { date: date(result.schedule.nextRunOn) })}</p>
            <p><a href="#/schedules" onClick=${onClose}>${t("nav.schedules")}</a></p>
          </div>`
        : null}
      <div class="actions">
        <button type="button" class="primary" onClick=${onClose} data-autofocus>${t("common.close")}</button>
      </div>
    <//>`;
  }

  return html`<${Dialog} title=${t("credits.title")} onClose=${onClose} wide>
    <form onSubmit=${submit} novalidate>
      ${repeat && useGroup && groupTarget ? null : html`<p class="target">${targetLabel}</p>`}
      <${ErrorSummary} errors=${otherErrors(errors, FIELDS)} />
      <fieldset class="choice">
        <legend>${t("credits.operation")}</legend>
        ${OPERATIONS.map(
          (op) => html`<label>
            <input
              type="radio"
              name="credit-operation"
              value=${op}
              checked=${operation === op}
              onChange=${() => edit(setOperation)(op)}
              data-autofocus=${operation === op ? "" : null}
            />
            ${t(`credits.op.${op}`)}
          </label>`,
        )}
      </fieldset>
      <${TextInput}
        label=${t("credits.amount")}
        path="input.amount"
        errors=${errors}
        value=${amount}
        onInput=${edit(setAmount)}
        inputmode="decimal"
        autocomplete="off"
      />
      <${Field} label=${t("credits.description")} path="input.description" errors=${errors}>
        ${({ id, describedBy }) => html`<textarea
          id=${id}
          rows="2"
          value=${description}
          onInput=${(e) => edit(setDescription)(e.target.value)}
          aria-describedby=${describedBy}
        ></textarea>`}
      <//>
      ${repeat || operation === "REDUCE"
        ? null
        : html`<${TextInput}
            label=${t("credits.expiresOn")}
            path="input.expiresOn"
            errors=${errors}
            type="date"
            value=${expiresOn}
            min=${todayInLocation()}
            onInput=${edit(setExpiresOn)}
            hint=${t("credits.expiresOnHint")}
          />`}
      <fieldset class="repeat">
        <legend>${t("credits.repeat")}</legend>
        <label class="inline">
          <input
            type="checkbox"
            checked=${repeat}
            disabled=${blocked !== null}
            onChange=${(e) => edit(setRepeat)(e.target.checked)}
            aria-describedby=${blocked ? "credits-repeat-why" : null}
          />
          ${t("credits.repeatOn")}
        </label>
        ${blocked ? html`<p class="hint" id="credits-repeat-why">${t(blocked)}</p>` : null}
        ${repeat
          ? html`<${Recipients}
                target=${picked}
                groupTarget=${groupTarget}
                useGroup=${useGroup}
                onUseGroup=${edit(setUseGroup)}
                groupNames=${groupNames}
              />
              <div class="row">
                <${TextInput}
                  label=${t("credits.every")}
                  path="input.recurrence.every"
                  errors=${errors}
                  value=${every}
                  onInput=${edit(setEvery)}
                  inputmode="numeric"
                  class="short"
                />
                <${Field} label=${t("credits.unit")} path="input.recurrence.unit" errors=${errors}>
                  ${({ id }) => html`<select id=${id} value=${unit} onChange=${(e) => edit(setUnit)(e.target.value)}>
                    ${UNITS.map((u) => html`<option value=${u}>${unitName(u, unitCount(every))}</option>`)}
                  </select>`}
                <//>
              </div>
              <div class="row">
                <${TextInput}
                  label=${t("credits.startDate")}
                  path="input.recurrence.startDate"
                  errors=${errors}
                  type="date"
                  value=${startDate}
                  min=${todayInLocation()}
                  onInput=${edit(setStartDate)}
                />
                <${TextInput}
                  label=${t("credits.endDate")}
                  path="input.recurrence.endDate"
                  errors=${errors}
                  type="date"
                  value=${endDate}
                  min=${startDate}
                  onInput=${edit(setEndDate)}
                />
              </div>`
          : null}
      </fieldset>
      ${stale !== null
        ? html`<p class="warning" role="alert" data-stale-balance>
            ${t("credits.stale", { balance: money({ amount: stale }) })}
          </p>`
        : null}
      <${Preview}
        preview=${preview}
        pending=${Boolean(base.amount) && !preview}
        refused=${errors.length > 0}
      />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
        <button type="submit" class="primary" disabled=${busy}>
          ${t(repeat ? "credits.submitSchedule" : "credits.submit")}
        </button>
      </div>
    </form>
  <//>`;
}

// Small shared pieces: data loading, dialogs with a focus trap, labelled fields with their API
// errors, badges, paging.

import { html, useCallback, useEffect, useRef, useState } from "./vendor/htm-3.1.1/standalone.module.js";
import { gql } from "./api.js";
import { errorText, t } from "./i18n.js";

export { html, useCallback, useEffect, useRef, useState };

// Runs `doc` (one of documents.js) with `variables` whenever they change (compared as
// JSON); `reload()` runs it again.
export function useQuery(doc, variables = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  const key = JSON.stringify(variables);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    gql(doc, variables).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) => current && setState({ data: null, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [doc, key, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

// Calls `callback` every `ms` while `active`.
export function useInterval(callback, ms, active) {
  const saved = useRef(callback);
  saved.current = callback;
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

// `value`, once it has stayed the same for `ms`.
export function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

let lastId = 0;
export function useId(prefix) {
  const id = useRef(null);
  if (id.current === null) id.current = `${prefix}-${++lastId}`;
  return id.current;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

// A modal dialog: focus moves in when it opens and back to the opener when it closes; Tab stays
// inside; Escape closes it.
export function Dialog({ title, onClose, children, wide = false, className = null }) {
  const box = useRef(null);
  const titleId = useId("dialog-title");
  useEffect(() => {
    const opener = document.activeElement;
    const first = box.current.querySelector("[data-autofocus]") || box.current.querySelector(FOCUSABLE);
    (first || box.current).focus();
    return () => opener && opener.isConnected && opener.focus();
  }, []);
  const onKeyDown = (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== "Tab") return;
    const items = [...box.current.querySelectorAll(FOCUSABLE)].filter((e) => e.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return html`<div class="backdrop">
    <div
      class=${["dialog", wide ? "wide" : null, className].filter(Boolean).join(" ")}
      role="dialog"
      aria-modal="true"
      aria-labelledby=${titleId}
      tabindex="-1"
      ref=${box}
      onKeyDown=${onKeyDown}
    >
      <div class="dialog-head">
        <h2 id=${titleId}>${title}</h2>
        <button type="button" class="icon" aria-label=${t("common.close")} onClick=${onClose}>×</button>
      </div>
      ${children}
    </div>
  </div>`;
}

// A question with its consequences (`children`, after the message) and one dangerous action.
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose, children = null }) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  const confirm = async () => {
    setBusy(true);
    const problems = await onConfirm();
    setBusy(false);
    if (problems && problems.length) setErrors(problems);
    else onClose();
  };
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <p>${message}</p>
    ${children}
    <${ErrorSummary} errors=${errors} />
    <div class="actions">
      <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
      <button type="button" class="danger" disabled=${busy} onClick=${confirm} data-autofocus>
        ${confirmLabel}
      </button>
    </div>
  <//>`;
}

// The messages of the errors at `path` (an API field path such as "input.amount").
export function errorsAt(errors, path) {
  return errors.filter((e) => e.field === path || (e.field && e.field.startsWith(`${path}.`))).map(errorText);
}

// Errors that no field of the form shows: the form lists them at its top.
export function otherErrors(errors, paths) {
  return errors.filter((e) => !paths.some((p) => e.field === p || (e.field && e.field.startsWith(`${p}.`))));
}

export function ErrorSummary({ errors }) {
  if (!errors || !errors.length) return null;
  return html`<div class="alert error" role="alert">
    ${errors.map((e) => html`<p>${errorText(e)}</p>`)}
  </div>`;
}

// A labelled input with its API errors beside it (aria-describedby points at them).
export function Field({ label, path, errors = [], hint = null, children, id: givenId }) {
  const generated = useId("field");
  const id = givenId || generated;
  const messages = path ? errorsAt(errors, path) : [];
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : null, messages.length ? errorId : null].filter(Boolean).join(" ") || null;
  return html`<div class=${messages.length ? "field invalid" : "field"}>
    <label for=${id}>${label}</label>
    ${children({ id, describedBy, invalid: messages.length > 0 })}
    ${hint ? html`<p class="hint" id=${hintId}>${hint}</p>` : null}
    ${messages.length ? html`<p class="field-error" id=${errorId} data-field=${path}>${messages.join(" ")}</p>` : null}
  </div>`;
}

export function TextInput({ label, path, errors, value, onInput, type = "text", hint, autofocus, ...rest }) {
  return html`<${Field} label=${label} path=${path} errors=${errors} hint=${hint}>
    ${({ id, describedBy, invalid }) => html`<input
      id=${id}
      type=${type}
      value=${value}
      onInput=${(e) => onInput(e.target.value)}
      aria-describedby=${describedBy}
      aria-invalid=${invalid ? "true" : null}
      data-autofocus=${autofocus ? "" : null}
      ...${rest}
    />`}
  <//>`;
}

const BADGE_TONES = {
  LINKED: "ok",
  SUCCEEDED: "ok",
  ADMIN: "info",
  COMMITTED: "ok",
  NOT_FOUND: "bad",
  FAILED: "bad",
  AMBIGUOUS: "warn",
  RUNNING: "info",
  QUEUED: "info",
  NOT_SYNCED: "muted",
  PARTIALLY_REFUNDED: "warn",
  REFUNDED: "muted",
  POS: "muted",
  ACTIVE: "ok",
  PAUSED: "muted",
  CONFIGURED: "ok",
  NOT_CONFIGURED: "muted",
  ENABLED: "ok",
  DISABLED: "bad",
  PENDING: "info",
};

// A status as a coloured label; `data-status` keeps the API's value.
export function Badge({ status, label }) {
  return html`<span class=${`badge ${BADGE_TONES[status] || "muted"}`} data-status=${status}>${label}</span>`;
}

export function Loading({ error }) {
  if (error) return html`<div class="alert error" role="alert">${errorText(error, "fallback.load")}</div>`;
  return html`<p class="loading" role="status">${t("common.loading")}</p>`;
}

// Keyset paging: a stack of the cursors that started each page seen so far; a new `resetKey`
// (the filter) starts again at the first page.
export function useCursors(resetKey = "") {
  const [state, setState] = useState({ key: resetKey, stack: [null] });
  const stack = state.key === resetKey ? state.stack : [null];
  const change = (f) =>
    setState((s) => ({ key: resetKey, stack: f(s.key === resetKey ? s.stack : [null]) }));
  return {
    after: stack[stack.length - 1],
    page: stack.length,
    next: (cursor) => change((s) => [...s, cursor]),
    previous: () => change((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => change(() => [null]),
  };
}

// With `total` (and `pageSize`), it says how many pages and items there are.
export function Pager({ cursors, pageInfo, label, total = null, pageSize = 50 }) {
  return html`<nav class="pager" aria-label=${label || t("common.paging")}>
    <button type="button" disabled=${cursors.page === 1} onClick=${cursors.previous}>
      ${t("common.previous")}
    </button>
    <span>
      ${total === null
        ? t("common.page", { n: cursors.page })
        : t("common.pageOfTotal", { n: cursors.page, pages: Math.max(1, Math.ceil(total / pageSize)), total })}
    </span>
    <button
      type="button"
      disabled=${!pageInfo || !pageInfo.hasNextPage}
      onClick=${() => cursors.next(pageInfo.endCursor)}
    >
      ${t("common.next")}
    </button>
  </nav>`;
}

export function PageTitle({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}

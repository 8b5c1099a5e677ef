// The console's shell: log-in with an API key, the navigation, hash routing and the language.

import { render } from "./vendor/htm-3.1.1/standalone.module.js";
import { forgetKey, gql, storedKey, storeKey, whenUnauthenticated } from "./api.js";
import { language, setLanguage, setLocation, t } from "./i18n.js";
import { html, TextInput, useEffect, useState } from "./ui.js";
import { ApiKeysPage } from "./pages/api-keys.js";
import { CustomerPage, NewCustomerPage } from "./pages/customer.js";
import { CustomersPage } from "./pages/customers.js";
import { GroupsPage } from "./pages/groups.js";
import { IntegrationsPage } from "./pages/integrations.js";
import { LocationPage } from "./pages/location.js";
import { OperationsPage } from "./pages/operations.js";
import { ReportsPage } from "./pages/reports.js";
import { SalePage, SalesPage } from "./pages/sales.js";
import { SchedulesPage } from "./pages/schedules.js";
import { WebhooksPage } from "./pages/webhooks.js";
import * as documents from "./documents.js";

// Notices of the log-in page that report what the user did, not a problem.
const INFO_NOTICES = new Set(["login.loggedOut", "login.revoked"]);

const NAVIGATION = [
  ["customers", "nav.customers"],
  ["sales", "nav.sales"],
  ["schedules", "nav.schedules"],
  ["operations", "nav.operations"],
  ["reports", "nav.reports"],
  ["integrations", "nav.integrations"],
];
const SETTINGS = [
  ["settings/groups", "nav.groups"],
  ["settings/api-keys", "nav.apiKeys"],
  ["settings/webhooks", "nav.webhooks"],
  ["settings/location", "nav.location"],
];

function currentRoute() {
  const path = location.hash.replace(/^#\/?/, "");
  return path ? path.split("/").map(decodeURIComponent) : ["customers"];
}

function useRoute() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function Page({ route, viewer, onOwnKeyRevoked }) {
  const [first, second] = route;
  if (first === "customers" && second === "new") return html`<${NewCustomerPage} />`;
  if (first === "customers" && second) return html`<${CustomerPage} id=${second} />`;
  if (first === "customers") return html`<${CustomersPage} />`;
  if (first === "sales" && second) return html`<${SalePage} id=${second} />`;
  if (first === "sales") return html`<${SalesPage} />`;
  if (first === "schedules") return html`<${SchedulesPage} />`;
  if (first === "operations") return html`<${OperationsPage} />`;
  if (first === "reports") return html`<${ReportsPage} />`;
  if (first === "integrations") return html`<${IntegrationsPage} tab=${second || "settings"} />`;
  if (first === "settings" && second === "groups") return html`<${GroupsPage} />`;
  if (first === "settings" && second === "location") return html`<${LocationPage} />`;
  if (first === "settings" && second === "webhooks") return html`<${WebhooksPage} />`;
  if (first === "settings" && second === "api-keys") return html`<${ApiKeysPage} viewer=${viewer} onOwnKeyRevoked=${onOwnKeyRevoked} />`;
  return html`<h1 tabindex="-1">${t("common.notFound")}</h1>
    <p><a href="#/customers">${t("nav.customers")}</a></p>`;
}

function NavLinks({ items, path }) {
  return html`<ul>
    ${items.map(
      ([target, label]) => html`<li>
        <a href=${`#/${target}`} aria-current=${path === target || path.startsWith(`${target}/`) ? "page" : null}>
          ${t(label)}
        </a>
      </li>`,
    )}
  </ul>`;
}

function LanguageToggle({ onChange }) {
  const other = language() === "pl" ? "en" : "pl";
  return html`<button
    type="button"
    class="language"
    lang=${other}
    onClick=${() => onChange(other)}
    aria-label=${t("app.switchLanguage")}
  >
    ${other === "en" ? "English" : "Polski"}
  </button>`;
}

function Shell({ viewer, onLogout, onOwnKeyRevoked, onLanguage }) {
  const route = useRoute();
  const path = route.join("/");
  useEffect(() => {
    const heading = document.querySelector("main h1");
    if (heading && document.activeElement === document.body) heading.focus();
  }, [path]);
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById("main").focus();
    }}>${t("app.skip")}</a>
    <header class="top">
      <span class="brand">GoCRM</span>
      <span class="where">${viewer.location.name} · ${viewer.apiKey.name}</span>
      <${LanguageToggle} onChange=${onLanguage} />
      <button type="button" class="logout" onClick=${onLogout}>${t("app.logout")}</button>
    </header>
    <nav class="side" aria-label=${t("app.navigation")}>
      <${NavLinks} items=${NAVIGATION} path=${path} />
      <p class="nav-heading">${t("app.settings")}</p>
      <${NavLinks} items=${SETTINGS} path=${path} />
    </nav>
    <main id="main" tabindex="-1">
      <${Page} route=${route} viewer=${viewer} onOwnKeyRevoked=${onOwnKeyRevoked} />
    </main>
  </div>`;
}

function Login({ notice, onLogin, onLanguage }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  useEffect(() => document.querySelector(".login input").focus(), []);
  const submit = async (event) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setErrors([{ field: "key", message: t("login.required") }]);
      return;
    }
    setBusy(true);
    try {
      const { viewer } = await gql(documents.Viewer, {}, candidate);
      if (viewer.apiKey.role !== "ADMIN") {
        setErrors([{ field: "key", message: t("login.posKey") }]);
      } else {
        onLogin(candidate, viewer);
      }
    } catch (error) {
      setErrors([{ field: "key", message: t(error.status === 401 ? "login.invalid" : "login.failed") }]);
    }
    setBusy(false);
  };
  return html`<main class="login" id="main">
    <div class="login-box">
      <div class="login-head">
        <h1>${t("login.title")}</h1>
        <${LanguageToggle} onChange=${onLanguage} />
      </div>
      <p>${t("login.intro")}</p>
      ${notice && !errors.length
        ? html`<div class=${INFO_NOTICES.has(notice) ? "alert info" : "alert error"} role="alert">${t(notice)}</div>`
        : null}
      <form onSubmit=${submit} novalidate>
        <${TextInput}
          label=${t("login.key")}
          path="key"
          errors=${errors}
          type="password"
          value=${key}
          onInput=${setKey}
          autocomplete="off"
          spellcheck="false"
          autofocus
        />
        <button type="submit" class="primary" disabled=${busy}>${t("login.submit")}</button>
      </form>
      <p class="hint">${t("login.storage")}</p>
    </div>
  </main>`;
}

function App() {
  const [lang, setLang] = useState(language());
  const [viewer, setViewer] = useState(null);
  const [state, setState] = useState(storedKey() ? "checking" : "out");
  const [notice, setNotice] = useState(null);

  const changeLanguage = (next) => {
    setLanguage(next);
    setLang(next);
  };
  const logout = (reason = null) => {
    forgetKey();
    setViewer(null);
    setNotice(reason);
    setState("out");
  };
  useEffect(() => {
    whenUnauthenticated(() => logout("login.expired"));
    if (state !== "checking") return;
    gql(documents.Viewer).then(
      ({ viewer: found }) => {
        if (found.apiKey.role !== "ADMIN") return logout("login.posKey");
        setLocation(found.location);
        setLang(language());
        setViewer(found);
        return setState("in");
      },
      () => logout("login.expired"),
    );
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t("app.title");
  }, [lang, viewer]);

  if (state === "checking") return html`<p class="loading" role="status">${t("common.loading")}</p>`;
  if (state === "out") {
    return html`<${Login}
      key=${lang}
      notice=${notice}
      onLanguage=${changeLanguage}
      onLogin=${(key, found) => {
        storeKey(key);
        setLocation(found.location);
        setLang(language());
        setViewer(found);
        setNotice(null);
        setState("in");
      }}
    />`;
  }
  return html`<${Shell}
    key=${lang}
    viewer=${viewer}
    onLogout=${() => logout("login.loggedOut")}
    onOwnKeyRevoked=${() => logout("login.revoked")}
    onLanguage=${changeLanguage}
  />`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);

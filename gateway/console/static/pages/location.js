// Ustawienia > Lokalizacja: the language the server writes in when a request names none (a
// till's messages, the wallet history's system entries) and the sales channels where
// promotional credits may be spent.

import { mutate } from "../api.js";
import { t } from "../i18n.js";
import { ErrorSummary, Field, html, Loading, otherErrors, PageTitle, useId, useQuery, useState } from "../ui.js";
import * as documents from "../documents.js";

const LANGUAGES = ["pl", "en"];
// The API's order of the sales channels.
const CHANNELS = ["POS", "KIOSK", "ONLINE"];
const FIELDS = ["input.language", "input.creditChannels"];

function SettingsForm({ location, onSaved }) {
  const [lang, setLang] = useState(location.language);
  const [channels, setChannels] = useState(location.creditChannels);
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const hintId = useId("credit-channels-hint");
  const toggle = (channel) => {
    setSaved(false);
    setChannels(CHANNELS.filter((c) => (c === channel ? !channels.includes(c) : channels.includes(c))));
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    const { payload, errors: problems } = await mutate(documents.UpdateLocationSettings, { input: { language: lang, creditChannels: channels } });
    setBusy(false);
    setErrors(problems);
    if (!problems.length) {
      setSaved(true);
      onSaved(payload.location);
    }
  };
  return html`<form class="panel" onSubmit=${submit} novalidate>
    <${ErrorSummary} errors=${otherErrors(errors, FIELDS)} />
    <${Field} label=${t("location.language")} path="input.language" errors=${errors} hint=${t("location.languageHint")}>
      ${({ id, describedBy }) => html`<select
        id=${id}
        value=${lang}
        onChange=${(e) => {
          setSaved(false);
          setLang(e.target.value);
        }}
        aria-describedby=${describedBy}
      >
        ${LANGUAGES.map((l) => html`<option value=${l}>${t(`language.${l}`)}</option>`)}
      </select>`}
    <//>
    <fieldset class="channels" aria-describedby=${hintId}>
      <legend>${t("location.creditChannels")}</legend>
      <p class="hint" id=${hintId}>${t("location.creditChannelsHint")}</p>
      ${CHANNELS.map(
        (c) => html`<label class="inline">
          <input type="checkbox" value=${c} checked=${channels.includes(c)} onChange=${() => toggle(c)} />
          ${t(`keys.channel.${c}`)}
        </label>`,
      )}
    </fieldset>
    <div class="actions">
      ${saved ? html`<span class="saved" role="status">${t("common.saved")}</span>` : null}
      <button type="submit" class="primary" disabled=${busy}>${t("common.save")}</button>
    </div>
  </form>`;
}

export function LocationPage() {
  const found = useQuery(documents.LocationSettings);
  const location = found.data?.viewer.location;
  return html`<section>
    <${PageTitle}>${t("location.title")}<//>
    ${location
      ? html`<${SettingsForm} key=${location.id} location=${location} onSaved=${() => undefined} />`
      : html`<${Loading} error=${found.error} />`}
  </section>`;
}

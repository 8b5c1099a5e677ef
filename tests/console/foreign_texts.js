// The texts of the page a person meets (text nodes, aria-label, title, placeholder) that are
// neither a value of the console's Polish catalog (its {parameters} filled in) nor data (given
// by the test: names, e-mails; or shaped like an amount, a date, a count). An element with its
// own `lang` other than "pl" is another language on purpose. Evaluated by
// test_console_polish.py with the data's texts as its argument.
async (data) => {
  const { catalog } = await import("/console/static/i18n.js");
  const polish = catalog("pl");
  const values = new Set(Object.values(polish));
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // A template with words of its own matches whatever fills its parameters ("Wyniki: {n}"); one
  // of parameters only ("{operation} {amount} {every}") matches when each is itself catalog text
  // or data.
  const words = (v) => /\p{L}/u.test(v.replace(/\{\w+\}/g, ""));
  const templates = [...values]
    .filter((v) => /\{\w+\}/.test(v) && words(v))
    .map((v) => new RegExp(`^${escape(v).replace(/\\\{\w+\\\}/g, "(.+)")}$`, "su"));
  const compositions = [...values]
    .filter((v) => /\{\w+\}/.test(v) && !words(v))
    .map((v) => v.split(/(\{\w+\})/).filter(Boolean));
  const months = "sty|lut|mar|kwi|maj|cze|lip|sie|wrz|paź|lis|gru";
  const patterns = [
    /^[\p{P}\p{S}\p{N}\s]*$/u,                       // numbers, punctuation, ×, —
    /^[+\-−]?\d[\d\s]*,\d{2}\szł$/u,                  // 1 234,50 zł
    /^\d[\d\s]*(,\d+)?\s%$/u,                          // 2,5 %
    new RegExp(`^\\d{1,2} (${months}) \\d{4}(, \\d{2}:\\d{2})?$`, "u"),  // 6 gru 2026, 10:15
  ];
  const known = new Set(data);
  const plain = (text) => values.has(text) || known.has(text) || patterns.some((p) => p.test(text));
  // Does `text` read as `pieces` (literals, and {parameters} that are plain texts)?
  const fits = (text, pieces) => {
    if (!pieces.length) return text === "";
    const [head, ...rest] = pieces;
    if (!/^\{\w+\}$/.test(head)) return text.startsWith(head) && fits(text.slice(head.length), rest);
    for (let end = 1; end <= text.length; end += 1) {
      if (plain(text.slice(0, end)) && fits(text.slice(end), rest)) return true;
    }
    return false;
  };
  const single = (text) =>
    plain(text) || templates.some((p) => p.test(text)) || compositions.some((c) => fits(text, c));
  // A list ("Kasa (POS), Kiosk", "… · opis") or a label and its value ("GoPOS: połączona")
  // reads as its parts.
  const allowed = (text) => single(text) || text.split(/\s+·\s+|[,:]\s+/u).every(single);
  const foreign = [];
  const meet = (text, where) => {
    const clean = text.replace(/\s+/gu, " ").trim();
    if (!clean) return;
    const own = where.closest("[lang]");
    if (own && own.getAttribute("lang") !== "pl") return;
    if (!allowed(clean)) foreign.push(clean);
  };
  const shown = (element) =>
    element.closest("option")
      ? element.closest("select").checkVisibility()
      : element.checkVisibility();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && !parent.closest("noscript") && shown(parent)) {
      meet(walker.currentNode.textContent, parent);
    }
  }
  for (const element of document.body.querySelectorAll("[aria-label], [title], [placeholder]")) {
    if (!shown(element)) continue;
    for (const name of ["aria-label", "title", "placeholder"]) {
      if (element.hasAttribute(name)) meet(element.getAttribute(name), element);
    }
  }
  const lang = document.documentElement.lang;
  if (lang !== "pl") foreign.push(`<html lang="${lang}">`);
  return foreign;
}

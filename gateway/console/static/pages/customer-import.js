// Klienci → Importuj CSV: the file is read in the browser (UTF-8 or Windows-1250), its first rows
// shown, then checked by the server (`importCustomers` with dryRun) and, once the manager
// confirms, imported; both in chunks that stay well within the request body limit, each with the
// header line in front of it, the server's line numbers turned back into the file's. The import
// keys rows by card code, so sending a chunk again (Ponów after a failure) changes nothing twice.
//
// The server finds a card code that repeats an earlier row's only within one request, and names
// that row by its line in the request. So a file sent in several chunks is first searched for
// repeated codes here: each later row is reported with both file lines and left out (as a blank
// line, so that the numbering stays), as the import would have skipped it in one request.

import { ApiError, mutate } from "../api.js";
import { cells, chunks, COLUMNS, decode, LIST_SEPARATOR, names as columnNames, records, separatorOf } from "../csv.js";
import { number, t } from "../i18n.js";
import { Dialog, ErrorSummary, html, useState } from "../ui.js";
import * as documents from "../documents.js";

export const MAX_FILE_BYTES = 20 * 1024 * 1024;
export const CHUNK = { maxBytes: 256 * 1024, maxRecords: 1000 };
const PREVIEW_ROWS = 5;
const SHOWN_PROBLEMS = 200;
const COUNTS = ["rows", "created", "updated", "unchanged", "skipped"];

const empty = () => ({ rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, problems: [] });

// How the gateway compares card codes: width folded (NFKC), spaces dropped, in upper case.
const codeKey = (code) => code.normalize("NFKC").replace(/\s+/g, "").toUpperCase();

// The file's text with every row whose card code an earlier row has made blank, and those rows
// reported.
function withoutRepeats(text, data, codeColumn, separator) {
  const seen = new Map();
  const problems = [];
  const pieces = [];
  let from = 0;
  for (const record of data) {
    const cell = cells(record.raw, separator)[codeColumn] ?? "";
    const codes = cell.split(LIST_SEPARATOR).map(codeKey).filter(Boolean);
    const repeated = codes.find((c) => seen.has(c));
    if (repeated) {
      problems.push({ line: record.line, message: t("import.repeatedCode", { code: repeated, line: seen.get(repeated) }) });
      pieces.push(text.slice(from, record.start), record.raw.replace(/[^\n]/g, ""));
      from = record.end;
    } else {
      for (const c of codes) seen.set(c, record.line);
    }
  }
  pieces.push(text.slice(from));
  return { text: pieces.join(""), problems };
}

// The file as the dialog shows and sends it, or {error} for one it cannot use.
export async function readFile(file) {
  if (file.size > MAX_FILE_BYTES) return { error: t("import.tooLarge", { mb: MAX_FILE_BYTES / 1024 / 1024 }) };
  const { text, encoding } = decode(await file.arrayBuffer());
  const all = records(text);
  if (all.length < 2) return { error: t("import.empty") };
  const [header, ...data] = all;
  const separator = separatorOf(header.raw);
  const names = columnNames(header.raw, separator);
  if (!names.includes("card_code")) return { error: t("import.noCardColumn") };
  const shown = COLUMNS.filter((c) => names.includes(c));
  const preview = data.slice(0, PREVIEW_ROWS).map((r) => {
    const values = cells(r.raw, separator);
    return { line: r.line, values: shown.map((c) => values[names.indexOf(c)] ?? "") };
  });
  const read = { name: file.name, encoding, rows: data.length, columns: shown, preview, dropped: [] };
  const parts = chunks(text, header, data, CHUNK);
  if (parts.length < 2) return { ...read, parts };
  const checked = withoutRepeats(text, data, names.indexOf("card_code"), separator);
  if (!checked.problems.length) return { ...read, parts };
  const kept = records(checked.text).slice(1);
  return { ...read, dropped: checked.problems, parts: chunks(checked.text, header, kept, CHUNK) };
}

// What the rows left out here add to the server's counts.
function start(file) {
  const n = file.dropped.length;
  return { ...empty(), rows: n, skipped: n, problems: file.dropped };
}

function add(total, result, offset) {
  const next = { ...total, problems: [...total.problems] };
  for (const key of COUNTS) next[key] += result[key];
  for (const p of result.problems) next.problems.push({ line: p.line + offset, message: p.message });
  return next;
}

// Sends the chunks from `from` on; reports after each one; stops at the first that fails.
async function send(file, dryRun, from, total, onStep) {
  let sum = total;
  for (let i = from; i < file.parts.length; i += 1) {
    const part = file.parts[i];
    let answer;
    try {
      answer = await mutate(documents.ImportCustomers, { input: { csv: part.csv, dryRun } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      answer = { payload: null, errors: error.errors };
    }
    if (answer.errors.length) return { sum, failedAt: i, errors: answer.errors };
    sum = add(sum, answer.payload.result, part.offset);
    onStep({ sum, done: i + 1 });
  }
  return { sum, failedAt: null, errors: [] };
}

function Preview({ file }) {
  return html`<table class="list import-preview">
    <caption>${t("import.previewCaption", { n: file.preview.length, total: file.rows })}</caption>
    <thead>
      <tr>
        <th scope="col">${t("import.line")}</th>
        ${file.columns.map((c) => html`<th scope="col">${c}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${file.preview.map(
        (r) => html`<tr>
          <td class="number">${r.line}</td>
          ${r.values.map((v) => html`<td>${v}</td>`)}
        </tr>`,
      )}
    </tbody>
  </table>`;
}

// `data-import` says the phase: "checking", "checked", "importing" or "imported".
function Summary({ sum, dryRun, phase }) {
  return html`<dl class="import-summary" data-import=${phase}>
    ${COUNTS.map(
      (key) => html`<div>
        <dt>${t(`import.${dryRun && key !== "rows" && key !== "skipped" ? "would." : ""}${key}`)}</dt>
        <dd data-count=${key}>${number(sum[key])}</dd>
      </div>`,
    )}
  </dl>`;
}

function Problems({ problems }) {
  if (!problems.length) return html`<p class="hint">${t("import.noProblems")}</p>`;
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  return html`<table class="list import-problems">
      <caption>${t("import.problems", { n: problems.length })}</caption>
      <thead>
        <tr><th scope="col">${t("import.line")}</th><th scope="col">${t("import.problem")}</th></tr>
      </thead>
      <tbody>
        ${sorted.slice(0, SHOWN_PROBLEMS).map((p) => html`<tr><td class="number">${p.line}</td><td>${p.message}</td></tr>`)}
      </tbody>
    </table>
    ${problems.length > SHOWN_PROBLEMS ? html`<p class="hint">${t("import.moreProblems", { n: problems.length - SHOWN_PROBLEMS })}</p>` : null}`;
}

function Progress({ done, total }) {
  return html`<p class="import-progress">
    <progress max=${total} value=${done} aria-label=${t("import.progress")}></progress>
    <span>${t("import.progressText", { done, total })}</span>
  </p>`;
}

export function ImportDialog({ onClose }) {
  const [file, setFile] = useState(null);
  const [problem, setProblem] = useState(null);
  // phase: "checking", "checked", "importing", "imported"; `next` is the chunk to send on Ponów.
  const [run, setRun] = useState(null);

  const go = async (chosen, dryRun, from = 0, total = empty()) => {
    const phase = dryRun ? "checking" : "importing";
    setRun({ phase, dryRun, sum: total, done: from, errors: [] });
    const { sum, failedAt, errors } = await send(chosen, dryRun, from, total, (step) =>
      setRun({ phase, dryRun, ...step, errors: [] }),
    );
    if (failedAt !== null) setRun({ phase, dryRun, sum, done: failedAt, errors, next: failedAt });
    else setRun({ phase: dryRun ? "checked" : "imported", dryRun, sum, done: chosen.parts.length, errors: [] });
  };

  const choose = async (event) => {
    const [picked] = event.target.files;
    setFile(null);
    setRun(null);
    setProblem(null);
    if (!picked) return;
    const read = await readFile(picked);
    if (read.error) {
      setProblem(read.error);
      return;
    }
    setFile(read);
    go(read, true, 0, start(read));
  };

  const busy = run && (run.phase === "checking" || run.phase === "importing") && !run.errors.length;
  return html`<${Dialog} title=${t("import.title")} onClose=${onClose} className="import">
    <div class="field">
      <label for="import-file">${t("import.file")}</label>
      <input id="import-file" type="file" accept=".csv,text/csv" onChange=${choose} disabled=${busy} aria-describedby="import-file-hint" />
      <p class="hint" id="import-file-hint">${t("import.fileHint", { columns: COLUMNS.join(", ") })}</p>
    </div>
    ${problem ? html`<div class="alert error" role="alert">${problem}</div>` : null}
    ${file
      ? html`<p class="import-file">${t("import.fileRead", { name: file.name, encoding: file.encoding, n: file.rows, parts: file.parts.length })}</p>
          <${Preview} file=${file} />`
      : null}
    ${run
      ? html`<section aria-live="polite" aria-labelledby="import-result-title">
          <h3 id="import-result-title">${t(run.dryRun ? "import.checkTitle" : "import.resultTitle")}</h3>
          ${busy || run.errors.length ? html`<${Progress} done=${run.done} total=${file.parts.length} />` : null}
          <${ErrorSummary} errors=${run.errors} />
          ${run.errors.length ? html`<p class="hint">${t("import.stopped", { line: file.parts[run.next].offset + 2 })}</p>` : null}
          <${Summary} sum=${run.sum} dryRun=${run.dryRun} phase=${run.phase} />
          ${busy ? null : html`<${Problems} problems=${run.sum.problems} />`}
        </section>`
      : null}
    <div class="actions">
      <button type="button" onClick=${onClose}>${t(run && run.phase === "imported" ? "common.close" : "common.cancel")}</button>
      ${run && run.errors.length
        ? html`<button type="button" class="primary" onClick=${() => go(file, run.dryRun, run.next, run.sum)}>${t("import.retry")}</button>`
        : null}
      ${run && run.phase === "checked"
        ? html`<button type="button" class="primary" onClick=${() => go(file, false, 0, start(file))}>${t("import.submit", { n: file.rows })}</button>`
        : null}
    </div>
  <//>`;
}

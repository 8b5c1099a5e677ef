// The customer CSV as `gocrm import-customers` and `importCustomers` read it, in the browser:
// reading a file (UTF-8 or Windows-1250), cutting it into records and chunks, and writing it
// (UTF-8 with a BOM, ";" between cells: what Excel opens correctly in Polish).

// The import's columns, in the order the export writes them.
export const COLUMNS = ["first_name", "last_name", "email", "phone", "note", "card_code", "groups"];
// Between the card codes of the card_code column and the group references of the groups column.
export const LIST_SEPARATOR = ";";
export const SEPARATOR = ";";
const BOM = "\ufeff";

// The file's text: UTF-8 when it is valid UTF-8 (a BOM is dropped), else Windows-1250, which is
// how Polish Excel saves "CSV (rozdzielany przecinkami)".
export function decode(buffer) {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(buffer), encoding: "UTF-8" };
  } catch {
    return { text: new TextDecoder("windows-1250").decode(buffer), encoding: "Windows-1250" };
  }
}

// The records of `text`, each as written (without its line ending), where it starts and ends in
// `text`, and the number of the file line it starts on; a quoted cell may hold line breaks, so a
// record can span lines. Blank lines are left out (the import skips them too) but counted.
export function records(text) {
  const found = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  let quoted = false;
  const finish = (end) => {
    const stop = text[end - 1] === "\r" ? end - 1 : end;
    const raw = text.slice(start, stop);
    if (raw.trim() !== "") found.push({ raw, line: startLine, start, end: stop });
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === "\n") {
      line += 1;
      if (!quoted) {
        finish(i);
        start = i + 1;
        startLine = line;
      }
    }
  }
  if (start < text.length) finish(text.length);
  return found;
}

// The header's column names, trimmed and in lower case.
export function names(header, separator) {
  return cells(header, separator).map((n) => n.trim().toLowerCase());
}

// The separator as the import finds it: the one with which the header names a card_code column
// (and, if both do, more of the import's columns), else the one the header holds more of.
export function separatorOf(header) {
  const known = (separator) => {
    const found = names(header, separator);
    return found.includes("card_code") ? COLUMNS.filter((c) => found.includes(c)).length : 0;
  };
  if (known(",") || known(";")) return known(";") > known(",") ? ";" : ",";
  const count = (c) => header.split(c).length - 1;
  return count(";") > count(",") ? ";" : ",";
}

// The cells of one record.
export function cells(raw, separator) {
  const out = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i += 1) {
    const c = raw[i];
    if (quoted) {
      if (c === '"' && raw[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) {
      out.push(cell);
      cell = "";
    } else cell += c;
  }
  out.push(cell);
  return out;
}

const encoder = new TextEncoder();

// The bytes `text` takes inside a JSON request body.
export function jsonBytes(text) {
  return encoder.encode(JSON.stringify(text)).length;
}

// The data records of `text` cut into chunks, each a slice of the file as it is (blank lines
// kept, so that line numbers stay exact) with the header line in front of it, taking at most
// `maxBytes` in a request body and holding at most `maxRecords` records (a record larger than
// that alone goes in a chunk of its own, for the server to refuse by its line). Each chunk says
// by how much the server's line numbers, the header being line 1 of the chunk, are off the
// file's.
export function chunks(text, header, data, { maxBytes, maxRecords }) {
  const headerLines = header.raw.split("\n").length;
  const base = jsonBytes(`${header.raw}\r\n`) + 64;
  const out = [];
  let first = 0;
  const close = (last) => {
    const csv = `${header.raw}\r\n${text.slice(data[first].start, data[last].end)}`;
    out.push({ csv, offset: data[first].line - headerLines - 1, count: last - first + 1 });
  };
  let bytes = base;
  for (let i = 0; i < data.length; i += 1) {
    const size = jsonBytes(text.slice(i === first ? data[i].start : data[i - 1].end, data[i].end));
    if (i > first && (i - first >= maxRecords || bytes + size > maxBytes)) {
      close(i - 1);
      first = i;
      bytes = base + jsonBytes(data[i].raw);
    } else bytes += size;
  }
  if (data.length) close(data.length - 1);
  return out;
}

// A cell Excel would run as a formula (it starts with =, +, -, @, a tab or a carriage return)
// gets an apostrophe in front, which Excel shows as text; a phone number such as "+48 600 100 200"
// is left as it is. Importing the file back keeps the apostrophe: the price of not running what a
// customer typed in their name.
export function safeCell(value) {
  const text = value ?? "";
  if (!/^[=+\-@\t\r]/.test(text) || /^\+?[\d\s()-]+$/.test(text)) return text;
  return `'${text}`;
}

function quote(value, separator) {
  const text = value ?? "";
  return /["\r\n]/.test(text) || text.includes(separator) || /^\s|\s$/.test(text)
    ? `"${text.replace(/"/g, '""')}"`
    : text;
}

// Rows (arrays of cells) as a CSV file's text: a BOM, the header, ";" between cells, CRLF lines.
export function write(header, rows, separator = SEPARATOR) {
  const lines = [header, ...rows].map((row) => row.map((v) => quote(v, separator)).join(separator));
  return `${BOM}${lines.join("\r\n")}\r\n`;
}

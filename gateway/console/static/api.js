// The console's one way to the server: `gql(doc, variables)` against /graphql, with the API
// key of this browser tab (sessionStorage) as a Bearer token, and the console's language as
// Accept-Language, so that the server's messages come in the language the console shows. `doc` is
// one of documents.js, the gateway's trusted documents: the console sends its id, never its text,
// so it keeps working where ADMIN keys too run only trusted documents.

import { language } from "./i18n.js";

const KEY = "gocrm.console.apiKey";

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// A failed request: `errors` lists {code, field, message, messageId} like a payload's
// UserErrors, so a form shows a GraphQL error (a malformed Decimal, say) beside its field too,
// in the console's words (errorText).
export class ApiError extends Error {
  constructor(message, { status = 0, code = null, errors = [] } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors.length ? errors : [{ code, field: null, message }];
  }
}

let onUnauthenticated = () => {};

// Called when the stored key stops working (revoked, or the database was reset).
export function whenUnauthenticated(callback) {
  onUnauthenticated = callback;
}

export async function gql(doc, variables = {}, key = storedKey()) {
  let response = await post({ documentId: doc.id, variables }, key);
  // A gateway that does not know the id (older than this console) may still run the text.
  if (response.status === 400 && (await notFound(response.clone()))) {
    response = await post({ query: doc.text, variables }, key);
  }
  if (response.status === 401) {
    if (key === storedKey()) onUnauthenticated();
    throw new ApiError("A valid API key is required.", { status: 401, code: "UNAUTHENTICATED" });
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP ${response.status}`, { status: response.status, code: "HTTP" });
  }
  if (body.errors && body.errors.length) {
    throw new ApiError(body.errors[0].message, {
      status: response.status,
      code: body.errors[0].extensions?.code ?? null,
      errors: body.errors.map((e) => ({
        code: e.extensions?.code ?? null,
        field: e.extensions?.field ?? null,
        message: e.message,
        messageId: e.extensions?.messageId ?? null,
        params: e.extensions?.params ?? null,
      })),
    });
  }
  return body.data;
}

async function post(body, key) {
  try {
    return await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${key}`,
        "Accept-Language": language(),
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(String(error), { code: "NETWORK" });
  }
}

async function notFound(response) {
  try {
    const body = await response.json();
    return body.errors?.[0]?.extensions?.code === "PERSISTED_QUERY_NOT_FOUND";
  } catch {
    return false;
  }
}

// The errors of a mutation: the payload's UserErrors, or those of a refused request.
export async function mutate(doc, variables) {
  try {
    const data = await gql(doc, variables);
    const payload = Object.values(data)[0];
    return { payload, errors: payload.errors ?? [] };
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) return { payload: null, errors: error.errors };
    throw error;
  }
}

// An amount as typed ("1 234,50") in the API's Decimal syntax ("1234.50"); the server checks
// the rest (sign, decimal places, range).
export function decimal(text) {
  return text.trim().replace(/[\s\u00a0]/g, "").replace(",", ".");
}

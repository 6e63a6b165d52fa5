/* Provex portal signer (docs/signing.md, "The portal"): the participant's key never leaves this browser tab.
 *
 * The key page opens a keystore v3 file with its passphrase (ethers `Wallet.fromEncryptedJson`) and keeps the
 * decrypted key in `sessionStorage` (this tab only) until "Forget the key" or sign-out. A form carrying
 * `data-api-path` is an act: its fields become the API's JSON body, the request is signed as a `ProvexRequest`
 * (`statement_domain` and `statement_types` from `GET /signing`) and sent through the portal's proxy
 * (`/portal/api/<path>`, with the session's CSRF token); a `428 signature_required` answer is met by signing each
 * forward request in order and sending the same request again with `Provex-Forward` (and a `409 act_changed`
 * by preparing again).
 *
 * After a successful act the browser posts a plain form to the portal, which answers 303 with the GET page that
 * shows the outcome (post/redirect/get: a reload or a language switch never sends anything again): by default to
 * `/portal/done` (a flash message, then `data-next` or this page), or to `data-render` with the API's answer (the
 * portal keeps it and redirects to a page addressed by its id).
 *
 * Form attributes: data-api-path (may name `{field}`: the clicked button's or a field's value), data-api-method
 * (default POST), data-next (the page to go to after success; default: this page), data-done (the flash
 * message's key), data-render (a portal URL the API's answer is posted to), data-error-field (where an error
 * naming no field goes), data-errors (JSON {"code" or "code:field": {field, text}}: the page's translated message
 * for an API refusal, and the field it is shown at; any other refusal shows the `message` the portal's proxy adds,
 * the refusal in the page's language). A submit button's own data-api-path and data-render override the form's
 * (the query form's preview button).
 * Field attributes: data-json = number | fen (yuan, to integer fen) | days (to the ISO time that many days from
 * now) | date (YYYY-MM-DD, to that day's 00:00 UTC) | list (comma separated) | bool ("true" or not) | object (a JSON object) | columns ("name:type, …" to
 * [{name, type}]) | skip; a multiple select sends
 * the list of its chosen values; data-key renames the JSON key; data-path places the value in nested objects and
 * lists, as the API names fields (`tiers[0].unit_price_fen`, `split.operator`): list items left empty (every
 * field optional and empty, or an unchecked optional checkbox) are dropped; data-optional drops an empty value;
 * data-group="x" collects checkboxes into an object x of booleans; data-required (for radios: on one of the
 * group) refuses to send while the field is empty or no choice is made, showing data-message; data-message
 * also replaces the API's message about a checkbox, a radio or an empty field, and the message of a value data-json
 * cannot convert.
 */
(function () {
  "use strict";

  const STORE = "provex.key";
  const PROXY = "/portal/api";
  const DEADLINE_SECONDS = 600;
  const MAX_ROUNDS = 3;  // prepare, commit, and one more prepare-commit when the acts changed in between

  class FieldError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  // ------------------------------------------------------------------------------ the key in this tab

  function currentWallet() {
    const raw = sessionStorage.getItem(STORE);
    if (!window.ethers || !raw) return null;
    try {
      return new window.ethers.Wallet(JSON.parse(raw).key);
    } catch (e) {
      sessionStorage.removeItem(STORE);
      return null;
    }
  }

  function keepWallet(wallet) {
    sessionStorage.setItem(STORE, JSON.stringify({address: wallet.address, key: wallet.privateKey}));
  }

  function forgetWallet() { sessionStorage.removeItem(STORE); }

  function accountAddress() {
    const link = document.getElementById("key-link");
    return link ? link.dataset.accountAddress || "" : "";
  }

  function sameAddress(a, b) { return String(a).toLowerCase() === String(b).toLowerCase(); }

  function msg(name) {
    const box = document.getElementById("signer-messages");
    return (box && box.dataset[name]) || name;
  }

  function csrfToken() {
    const meta = document.querySelector("meta[name=provex-csrf]");
    return meta ? meta.content : "";
  }

  // ------------------------------------------------------------------------------ signing

  let specRequest = null;

  /** `GET /signing`: the statement domain and types (fetched once per page). */
  async function signingSpec() {
    specRequest = specRequest || fetch("/signing", {headers: {Accept: "application/json"}}).then((r) => {
      if (!r.ok) throw new Error("GET /signing answered " + r.status);
      return r.json();
    });
    try {
      return await specRequest;
    } catch (e) {
      specRequest = null;
      throw e;
    }
  }

  /** The types `primary` uses, without EIP712Domain (ethers wants exactly these). */
  function typesFor(all, primary) {
    const out = {};
    const todo = [primary];
    while (todo.length) {
      const name = todo.pop();
      if (out[name] || !all[name] || name === "EIP712Domain") continue;
      out[name] = all[name];
      for (const field of all[name]) todo.push(field.type.replace(/(\[\d*\])+$/, ""));
    }
    return out;
  }

  /** The four `Provex-*` headers of one request: its `ProvexRequest` statement, signed. */
  async function signStatement(wallet, domain, types, method, path, bodyText) {
    const E = window.ethers;
    const message = {
      signer: wallet.address, method: method.toUpperCase(), path: path,
      bodyHash: E.keccak256(E.toUtf8Bytes(bodyText)), nonce: E.hexlify(E.randomBytes(32)),
      deadline: Math.floor(Date.now() / 1000) + DEADLINE_SECONDS,
    };
    const signature = await wallet.signTypedData(domain, typesFor(types, "ProvexRequest"), message);
    return {"Provex-Signer": wallet.address, "Provex-Nonce": message.nonce,
            "Provex-Deadline": String(message.deadline), "Provex-Signature": signature};
  }

  /** One `Provex-Forward` entry: the participant's signature of a forward request the exchange prepared (only
   *  for this key, and only for the forwarder `GET /signing` names). */
  async function signForward(wallet, typed, forwarderDomain) {
    if (!sameAddress(typed.message.from, wallet.address)) {
      throw new Error("the exchange asked this key to sign for another address: " + typed.message.from);
    }
    if (forwarderDomain && !sameDomain(typed.domain, forwarderDomain)) {
      throw new Error("the exchange asked this key to sign for another forwarder: " + JSON.stringify(typed.domain));
    }
    const types = typesFor(typed.types, typed.primaryType || "ForwardRequest");
    const signature = await wallet.signTypedData(typed.domain, types, typed.message);
    return {nonce: typed.message.nonce, deadline: typed.message.deadline, gas: typed.message.gas,
            signature: signature};
  }

  function sameDomain(a, b) {
    return a.name === b.name && a.version === b.version && String(a.chainId) === String(b.chainId)
      && sameAddress(a.verifyingContract, b.verifyingContract);
  }

  async function send(method, path, bodyText, headers) {
    const r = await fetch(PROXY + path, {
      method: method, body: bodyText, credentials: "same-origin",
      headers: Object.assign({"Content-Type": "application/json", "X-CSRF-Token": csrfToken()}, headers),
    });
    let json = null;
    try {
      json = await r.json();
    } catch (e) {
      json = null;
    }
    if (!json || typeof json !== "object") json = {error: "http_error", detail: r.status + " " + r.statusText};
    return {status: r.status, ok: r.ok, json: json};
  }

  /** Sign and send one API request; on `428 signature_required` sign its chain acts and send it again (the
   *  same statement); on `409 act_changed` (another request took the nonce in between) prepare again. */
  async function callApi(wallet, method, path, body) {
    const spec = await signingSpec();
    const text = JSON.stringify(body);
    const headers = await signStatement(wallet, spec.statement_domain, spec.statement_types, method, path, text);
    let answer = await send(method, path, text, headers);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (answer.status === 428 && Array.isArray(answer.json.requests)) {
        const forward = [];
        for (const request of answer.json.requests) {
          forward.push(await signForward(wallet, request.typed_data, spec.forwarder_domain));
        }
        headers["Provex-Forward"] = JSON.stringify(forward);
      } else if (answer.status === 409 && answer.json.error === "act_changed" && headers["Provex-Forward"]) {
        delete headers["Provex-Forward"];
      } else {
        break;
      }
      answer = await send(method, path, text, headers);
    }
    return answer;
  }

  // ------------------------------------------------------------------------------ forms

  const CONVERT = {
    number: (v) => {
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n)) throw new Error("not a number");
      return n;
    },
    fen: (v) => Math.round(CONVERT.number(v) * 100),
    days: (v) => new Date(Date.now() + CONVERT.number(v) * 86400000).toISOString(),
    date: (v) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new Error("not a date");
      return v + "T00:00:00Z";
    },
    list: (v) => v.split(",").map((s) => s.trim()).filter(Boolean),
    bool: (v) => v === "true",
    columns: (v) => CONVERT.list(v).map((part) => {
      const [name, type] = part.split(":").map((s) => s.trim());
      if (!name || !type) throw new Error("name:type");
      return {name: name, type: type};
    }),
    object: (v) => {
      const o = JSON.parse(v);
      if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Error("not a JSON object");
      return o;
    },
  };

  function isValueField(el) {
    return el.name && !el.disabled && el.tagName !== "BUTTON" && !["submit", "button", "file"].includes(el.type);
  }

  /** Set `value` at a field path of the API (`a.b[0].c`) in `body`, making objects and lists on the way. */
  function setPath(body, path, value) {
    const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
    let at = body;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) {
        at[key] = value;
      } else {
        at[key] = at[key] || (/^\d+$/.test(keys[i + 1]) ? [] : {});
        at = at[key];
      }
    });
  }

  /** Lists without the items left empty (data-path rows the person did not fill), recursively. */
  function compact(value) {
    if (Array.isArray(value)) {
      return value.filter((v) => v !== undefined && !(v && typeof v === "object" && !Array.isArray(v)
        && Object.keys(v).length === 0)).map(compact);
    }
    if (value && typeof value === "object") {
      for (const k of Object.keys(value)) value[k] = compact(value[k]);
    }
    return value;
  }

  function pathValue(el) {
    if (el.type === "checkbox") return el.checked || el.hasAttribute("data-optional") ? el.checked || undefined : false;
    if (el.type === "select-multiple") return Array.from(el.selectedOptions, (o) => o.value);
    if (el.value === "" && el.hasAttribute("data-optional")) return undefined;
    const convert = CONVERT[el.dataset.json];
    try {
      return convert ? convert(el.value) : el.value;
    } catch (e) {
      throw new FieldError(el.dataset.path, e.message);
    }
  }

  /** The API's JSON body, built from the form's fields (see the attributes above). */
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!isValueField(el) || el.dataset.json === "skip" || (el.type === "radio" && !el.checked)) continue;
      const key = el.dataset.key || el.name;
      if (el.dataset.path) {
        const value = pathValue(el);
        if (value !== undefined) setPath(body, el.dataset.path, value);
      } else if (el.dataset.group) {
        (body[el.dataset.group] = body[el.dataset.group] || {})[key] = el.checked;
      } else if (el.type === "checkbox") {
        body[key] = el.checked;
      } else if (el.type === "select-multiple") {
        body[key] = Array.from(el.selectedOptions, (o) => o.value);
      } else if (!(el.value === "" && el.hasAttribute("data-optional"))) {
        const convert = CONVERT[el.dataset.json];
        try {
          body[key] = convert ? convert(el.value) : el.value;
        } catch (e) {
          throw new FieldError(key, el.dataset.message || e.message);
        }
      }
    }
    return compact(body);
  }

  function formFields(form) {
    const out = {};
    for (const el of form.elements) if (isValueField(el)) out[el.name] = el.value;
    return out;
  }

  function apiPath(form, submitter) {
    const path = (submitter && submitter.dataset.apiPath) || form.dataset.apiPath;
    return path.replace(/\{(\w+)\}/g, (_, name) => {
      const field = submitter && submitter.name === name ? submitter : form.elements.namedItem(name);
      return encodeURIComponent((field && field.value) || "");
    });
  }

  function fieldAnchor(form, field) {
    if (field === "_") return null;
    const el = form.querySelector(`[data-path="${CSS.escape(field)}"]`)
      || form.querySelector(`[data-key="${CSS.escape(field)}"], [name="${CSS.escape(field)}"]`)
      || form.querySelector(`[data-group="${CSS.escape(field)}"]`);
    return el && (el.closest("label, fieldset") || el);
  }

  /** A message next to the form field it is about (`data-field` names it; "_" when it names none). */
  function showNote(form, field, text, className, link) {
    const span = document.createElement("span");
    span.className = className;
    span.dataset.signer = "";
    span.dataset.field = field;
    span.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.textContent = " →";
      span.append(a);
    }
    const anchor = fieldAnchor(form, field);
    if (anchor && anchor.tagName === "LABEL") anchor.append(span);
    else if (anchor) anchor.after(span);
    else form.append(span);
    return span;
  }

  /** The page's own (translated) message for a field the API refused, if it has one and it fits: the field is
   *  a choice (checkbox, radio) or was left empty. */
  function ownMessage(form, name) {
    const el = form.querySelector(`[name="${CSS.escape(name)}"][data-message], [data-key="${CSS.escape(name)}"][data-message]`);
    if (!el) return null;
    return (["checkbox", "radio"].includes(el.type) || el.value.trim() === "") ? el.dataset.message : null;
  }

  /** The page's own (translated) message for an API refusal, from the form's `data-errors` ({key: {field, text}},
   *  the key `code:field` or `code`), as [field, text], or null. */
  function knownError(form, code, field) {
    let table = {};
    try {
      table = JSON.parse(form.dataset.errors || "{}");
    } catch (e) {
      return null;
    }
    const known = (field && table[code + ":" + field]) || table[code];
    return known ? [known.field || field || form.dataset.errorField || "_", known.text] : null;
  }

  function showApiError(form, json) {
    const fields = Array.isArray(json.fields) && json.fields.length ? json.fields
      : (json.field ? [{field: json.field, message: json.message || json.detail}] : []);
    if (!fields.length) {
      const known = knownError(form, json.error, null);
      if (known) showNote(form, known[0], known[1], "err");
      else showNote(form, form.dataset.errorField || "_", json.message || json.detail || json.error || "error", "err");
      return;
    }
    const shown = new Set();
    for (const f of fields) {
      const path = String(f.field);
      const byPath = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
      const name = byPath ? path : path.split(".").pop().split("[")[0];
      const known = knownError(form, json.error, name);
      const at = known ? known[0] : name;
      const text = ownMessage(form, name) || (known ? known[1] : String(f.message || json.detail));
      if (shown.has(at + text)) continue;
      shown.add(at + text);
      showNote(form, at, text, "err");
    }
  }

  /** The first `data-required` field left empty (a radio group: none chosen), as [its key, its message]. */
  function missingField(form) {
    for (const el of form.querySelectorAll("[data-required]")) {
      const empty = el.type === "radio"
        ? !form.querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`)
        : el.value.trim() === "";
      if (empty) return [el.dataset.key || el.name, el.dataset.message || el.name];
    }
    return null;
  }

  /** Navigate by posting a plain form to the portal (it answers 303 with the page to show). */
  function postPage(action, fields) {
    const page = document.createElement("form");
    page.method = "post";
    page.action = action;
    page.hidden = true;
    for (const [name, value] of Object.entries({csrf_token: csrfToken(), ...fields})) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      page.append(input);
    }
    document.body.append(page);
    page.submit();
  }

  /** Why this tab cannot sign now (no library, no key, another address than the account's), or null. */
  function notReady() {
    if (!window.ethers) return ["noLibrary", null];
    const wallet = currentWallet();
    if (!wallet) return ["needKey", "/portal/key"];
    const bound = accountAddress();
    if (bound && !sameAddress(bound, wallet.address)) return ["wrongKey", "/portal/key"];
    return null;
  }

  async function act(form, submitter) {
    const body = formBody(form);
    const method = (form.dataset.apiMethod || "POST").toUpperCase();
    const answer = await callApi(currentWallet(), method, apiPath(form, submitter), body);
    if (!answer.ok) {
      showApiError(form, answer.json);
    } else if ((submitter && submitter.dataset.render) || form.dataset.render) {
      postPage((submitter && submitter.dataset.render) || form.dataset.render, {form: JSON.stringify(formFields(form)), response: JSON.stringify(answer.json)});
    } else {
      postPage("/portal/done", {next: form.dataset.next || location.pathname + location.search,
                                done: form.dataset.done || "done_saved"});
    }
  }

  async function onSubmit(event) {
    const form = event.target;
    if (form.matches("form.signout")) forgetWallet();
    if (!form.dataset.apiPath) return;
    event.preventDefault();
    if (form.dataset.busy) return;
    form.querySelectorAll("[data-signer]").forEach((el) => el.remove());
    const problem = notReady();
    if (problem) {
      showNote(form, "_", msg(problem[0]), "err", problem[1]);
      return;
    }
    const missing = missingField(form);
    if (missing) {
      showNote(form, missing[0], missing[1], "err");
      return;
    }
    form.dataset.busy = "1";
    const status = showNote(form, "_", msg("signing"), "small muted");
    try {
      await act(form, event.submitter);
    } catch (e) {
      if (e instanceof FieldError) showNote(form, e.field, e.message, "err");
      else showNote(form, "_", msg("failed") + ": " + (e.shortMessage || e.message), "err");
    } finally {
      status.remove();
      delete form.dataset.busy;
    }
  }

  // ------------------------------------------------------------------------------ the key page

  function showKey() {
    const wallet = currentWallet();
    const link = document.getElementById("key-link");
    if (link) link.dataset.keyState = wallet ? "open" : "none";
    const present = document.getElementById("key-present");
    if (!present) return;
    present.hidden = !wallet;
    document.getElementById("key-none").hidden = Boolean(wallet);
    document.getElementById("key-address").textContent = wallet ? wallet.address : "";
    const bound = accountAddress();
    document.getElementById("key-mismatch").hidden = !wallet || !bound || sameAddress(bound, wallet.address);
  }

  async function openKey(event) {
    event.preventDefault();
    const form = event.target;
    const status = document.getElementById("key-status");
    status.className = "small";
    try {
      if (!window.ethers) throw new Error(msg("noLibrary"));
      const text = await form.elements.keyfile.files[0].text();
      const wallet = await window.ethers.Wallet.fromEncryptedJson(text, form.elements.passphrase.value,
        (progress) => { status.textContent = Math.round(progress * 100) + "%"; });
      keepWallet(wallet);
      form.reset();
      status.textContent = "";
      showKey();
    } catch (e) {
      status.className = "err";
      status.textContent = msg("failed") + ": " + (e.shortMessage || e.message);
    }
  }

  function keyPage() {
    const form = document.getElementById("key-import");
    if (!form) return;
    form.addEventListener("submit", openKey);
    document.getElementById("key-forget").addEventListener("click", () => {
      forgetWallet();
      showKey();
    });
  }

  document.addEventListener("submit", onSubmit);
  keyPage();
  showKey();
  window.ProvexSigner = {signStatement, signForward, typesFor, formBody, currentWallet, keepWallet, forgetWallet,
    callApi};
})();

/* Provex verification calls (核验) in the browser (privacy/README.md, "Verification calls").
 *
 * A form `form.verify-form` (data-license, data-nodes: the product's nodes with their registered Ed25519 keys and
 * their node-signed X25519 sealing keys) makes one call: a fresh X25519 reply key is generated here (WebCrypto;
 * its private half never leaves this tab); each node's sealing-key envelope is checked against its registered key,
 * and the question {key, claim, nonce, reply_key} is sealed to each node here (ephemeral X25519, HKDF-SHA256 with
 * info "provex-verify-question-v1\0" + node id, AES-256-GCM with the question hash as AAD, padded to 2,048 bytes),
 * so the exchange sees only the claim's column and operator; the request is signed with the participant's key and
 * sent through the portal's proxy (`ProvexSigner.callApi`), and every node's sealed answer is opened here: ephemeral X25519, then
 * HKDF-SHA256 (info "provex-verify-v1\0" + call id) and AES-256-GCM (the call id as AAD), a 2-byte length and the
 * node's signed statement. Each statement's Ed25519 signature ("provex-secagg-v1\0" + its canonical JSON) is
 * checked against the registered node key the API returned, and that it is about this call and this question
 * (SHA-256 of the canonical {key, claim}); the bits are ORed. The exchange never sees an answer.
 */
(function () {
  "use strict";

  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const concat = (a, b) => { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; };
  const b64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  const QUESTION_SIZE = 2048;

  /** ledger.canonical for what a statement and a question hold: objects (sorted keys), lists, strings, booleans. */
  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value !== null && typeof value === "object") {
      return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  async function sha256hex(text) {
    return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text))));
  }

  async function openSealed(sealed, replyKey, callId) {
    const blob = unb64(sealed);
    const eph = await crypto.subtle.importKey("raw", blob.slice(0, 32), {name: "X25519"}, false, []);
    const shared = await crypto.subtle.deriveBits({name: "X25519", public: eph}, replyKey, 256);
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const info = concat(enc.encode("provex-verify-v1\0"), enc.encode(callId));
    const aes = await crypto.subtle.deriveKey({name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info},
                                             ikm, {name: "AES-GCM", length: 256}, false, ["decrypt"]);
    const padded = new Uint8Array(await crypto.subtle.decrypt(
      {name: "AES-GCM", iv: blob.slice(32, 44), additionalData: enc.encode(callId)}, aes, blob.slice(44)));
    const n = (padded[0] << 8) | padded[1];
    return JSON.parse(dec.decode(padded.slice(2, 2 + n)));
  }

  async function checkSigned(doc, pub) {
    const key = await crypto.subtle.importKey("raw", unhex(pub), {name: "Ed25519"}, false, ["verify"]);
    const signed = concat(enc.encode("provex-secagg-v1\0"), enc.encode(canonical(doc.body)));
    if (!await crypto.subtle.verify({name: "Ed25519"}, key, unhex(doc.sig), signed)) {
      throw new Error("a node's signature does not verify");
    }
  }

  /** The node's X25519 sealing key (hex), if its envelope is signed by the node's registered identity key. */
  async function sealingKey(node) {
    const env = node.sealing_key;
    if (!env || env.signer !== node.node_id) throw new Error("a node published no sealing key of its own");
    await checkSigned(env, node.public_key);
    const b = env.body;
    if (b.type !== "verify_sealing_key" || b.node !== node.node_id || !/^[0-9a-f]{64}$/.test(b.key)) {
      throw new Error("a node's sealing key is malformed");
    }
    return b.key;
  }

  /** privacy.verify_question.seal_question: `question` sealed to one node (base64, always the same length). */
  async function sealQuestion(question, qhash, nodeId, sealingHex) {
    const data = enc.encode(canonical(question));
    if (data.length > QUESTION_SIZE - 2) throw new Error("the key is too long");
    const padded = new Uint8Array(QUESTION_SIZE);
    padded[0] = data.length >> 8;
    padded[1] = data.length & 255;
    padded.set(data, 2);
    const eph = await crypto.subtle.generateKey({name: "X25519"}, true, ["deriveBits"]);
    const peer = await crypto.subtle.importKey("raw", unhex(sealingHex), {name: "X25519"}, false, []);
    const shared = await crypto.subtle.deriveBits({name: "X25519", public: peer}, eph.privateKey, 256);
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const info = concat(enc.encode("provex-verify-question-v1\0"), enc.encode(nodeId));
    const aes = await crypto.subtle.deriveKey({name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info},
                                             ikm, {name: "AES-GCM", length: 256}, false, ["encrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await crypto.subtle.encrypt({name: "AES-GCM", iv: iv, additionalData: enc.encode(qhash)},
                                                          aes, padded));
    const pub = new Uint8Array(await crypto.subtle.exportKey("raw", eph.publicKey));
    return b64(concat(concat(pub, iv), ct));
  }

  async function checkStatement(doc, nodes, callId, question) {
    const pub = nodes[doc.signer];
    if (!pub) throw new Error("a statement is not signed by a node of the product");
    await checkSigned(doc, pub);
    const b = doc.body;
    if (b.type !== "verify_statement" || b.call !== callId || b.question !== question || b.node !== doc.signer
        || typeof b.match !== "boolean") throw new Error("a statement is not about this call and question");
    return b.match;
  }

  /** A decimal as privacy.verify writes it (Decimal.normalize, fixed point): "200.0" is "200", "007" is "7". */
  function decimal(text, form) {
    const v = text.trim();
    if (!/^-?\d+(\.\d+)?$/.test(v)) throw new Error(form.dataset.badNumber);
    const neg = v.startsWith("-");
    const [whole, frac = ""] = v.replace(/^-/, "").split(".");
    const f = frac.replace(/0+$/, "");
    return (neg ? "-" : "") + whole.replace(/^0+(?=\d)/, "") + (f ? "." + f : "");
  }

  function claimOf(form) {
    const op = form.elements.op.value;
    const values = [decimal(form.elements.value.value, form)];
    if (op === "between" || op === "within_pct") values.push(decimal(form.elements.value2.value, form));
    return {column: form.elements.column.value, op: op, values: values};
  }

  function show(form, text, className) {
    const out = form.querySelector("[data-testid=verify-result]");
    out.textContent = text;
    out.className = className;
  }

  async function verify(form) {
    const wallet = window.ProvexSigner && window.ProvexSigner.currentWallet();
    if (!wallet) throw new Error(form.dataset.needKey);
    const pair = await crypto.subtle.generateKey({name: "X25519"}, true, ["deriveBits"]);
    const replyKey = hex(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
    const key = form.elements.key.value.trim();
    const claim = claimOf(form);  // before anything is sent: a bad number costs nothing
    const listed = JSON.parse(form.dataset.nodes || "[]");
    if (!listed.length) throw new Error("the product's nodes cannot be reached: reload the page");
    const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
    const question = await sha256hex(canonical({key: key, claim: claim, nonce: nonce}));
    const sealed = {};
    for (const n of listed) {
      sealed[n.node_id] = await sealQuestion({key: key, claim: claim, nonce: nonce, reply_key: replyKey}, question,
                                             n.node_id, await sealingKey(n));
    }
    const body = {license_id: form.dataset.license, claim: {column: claim.column, op: claim.op},
                  question_hash: question, reply_key: replyKey, sealed: sealed};
    const answer = await window.ProvexSigner.callApi(wallet, "POST", "/verifications", body);
    if (!answer.ok) throw new Error(answer.json.error + ": " + answer.json.detail);
    const out = answer.json;
    if (out.question_hash !== question) throw new Error("the exchange answered another question");
    const nodes = Object.fromEntries(listed.map((n) => [n.node_id, n.public_key]));
    if (out.nodes.length !== listed.length || out.nodes.some((n) => nodes[n.node_id] !== n.public_key)) {
      throw new Error("the exchange answered with other nodes than those the question was sealed to");
    }
    const seen = new Set();
    let match = false;
    for (const sealed of out.sealed) {
      const doc = await openSealed(sealed, pair.privateKey, out.call_id);
      if (seen.has(doc.signer)) throw new Error("two answers from one node");
      seen.add(doc.signer);
      match = (await checkStatement(doc, nodes, out.call_id, question)) || match;
    }
    if (seen.size !== Object.keys(nodes).length) throw new Error("not every node answered");
    return {match: match, out: out, nodes: seen.size};
  }

  async function onSubmit(event) {
    event.preventDefault();
    const form = event.target;
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    show(form, form.dataset.working, "small muted");
    try {
      const r = await verify(form);
      const verdict = r.match ? form.dataset.match : form.dataset.noMatch;
      show(form, verdict + " · " + form.dataset.checked.replace("{n}", r.nodes) + " · #" + r.out.receipt.seq,
           r.match ? "ok" : "warn");
      form.querySelector("[data-testid=verify-result]").dataset.match = String(r.match);
    } catch (e) {
      show(form, e.message, "err");
    } finally {
      delete form.dataset.busy;
    }
  }

  document.querySelectorAll("form.verify-form").forEach((f) => f.addEventListener("submit", onSubmit));
})();

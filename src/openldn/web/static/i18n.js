// openldn web platform: languages of the interface (the six official languages of the United Nations).
//
// Loaded before app.js. Every user-facing string of the page goes through
//   t("English text")                        -> the text in the current language
//   t("Run {id} failed", {id: 7})            -> placeholders in braces, filled after translation
//   tn("one file", "{n} files", count)       -> the plural form the language needs for count ({n}: count, formatted)
// with string literals only (the extractor reads the first arguments; never t(variable), never t() inside a
// template literal's ${...}). Texts of index.html are marked with data-i18n (the element's text) and
// data-i18n-attr="placeholder,aria-label,title" (those attributes); applyI18n(root) translates them.
// The catalogue ("web" domain, .po files under openldn/locale) comes from GET /api/i18n/{lang} as JSON.
// setLanguage(lang) switches the page live (no reload) and remembers the choice (localStorage); API calls name the
// language in a header (languageHeaders), so the server's messages come in it too; listeners of onLanguageChange
// re-render.
"use strict";

const I18N = {
  lang: "en",
  dir: "ltr",
  names: { ar: "العربية", en: "English", es: "Español", fr: "Français", ru: "Русский", zh: "中文" },
  messages: {},      // msgid -> translation (string), or its plural forms (array) for a message with a count
  listeners: [],
  numberFormats: {},
  ready: null,       // promise of the first load
};
const I18N_STORAGE_KEY = "openldn.language";
// Intl locale of each language: Latin digits in Arabic, as the report and the workbook write numbers (Babel).
const I18N_LOCALES = { ar: "ar-u-nu-latn", en: "en", es: "es", fr: "fr", ru: "ru", zh: "zh-Hans" };

// Plural form index of each language for n, as in the Plural-Forms header of its catalogue.
function pluralIndex(lang, n) {
  n = Math.abs(Math.trunc(Number(n) || 0));
  switch (lang) {
    case "ar":
      return n === 0 ? 0 : n === 1 ? 1 : n === 2 ? 2 : n % 100 >= 3 && n % 100 <= 10 ? 3 : n % 100 >= 11 ? 4 : 5;
    case "ru":
      return n % 10 === 1 && n % 100 !== 11 ? 0
        : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 10 || n % 100 >= 20) ? 1 : 2;
    case "zh":
      return 0;
    case "fr":
      return n > 1 ? 1 : 0;
    default: // en, es
      return n !== 1 ? 1 : 0;
  }
}

function i18nFill(text, values) {
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, key) => {
    if (!(key in values)) return whole;
    const value = values[key];
    return typeof value === "number" ? formatNumber(value) : String(value);
  });
}

// The translation of msgid in the current language (English when there is none), placeholders filled from values.
function t(msgid, values) {
  const found = I18N.messages[msgid];
  return i18nFill(typeof found === "string" && found ? found : msgid, values);
}

// The plural form for n of a message with a count; {n} is replaced by n formatted for the language.
function tn(one, many, n, values) {
  const forms = I18N.messages[one];
  let text;
  if (Array.isArray(forms) && forms.length) text = forms[Math.min(pluralIndex(I18N.lang, n), forms.length - 1)] || (n === 1 ? one : many);
  else text = n === 1 ? one : many;
  return i18nFill(text, Object.assign({ n }, values || {}));
}

// A number as the current language writes it (grouping, decimal sign); options as Intl.NumberFormat's.
function formatNumber(value, options) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const key = JSON.stringify(options || {});
  const cache = I18N.numberFormats[I18N.lang] || (I18N.numberFormats[I18N.lang] = {});
  if (!cache[key]) cache[key] = new Intl.NumberFormat(I18N_LOCALES[I18N.lang] || I18N.lang, options);
  return cache[key].format(value);
}

// The Intl locale tag of the current language (for dates, collation).
function currentLocale() { return I18N_LOCALES[I18N.lang] || I18N.lang; }

// Translate the marked elements under root (data-i18n: text; data-i18n-attr: comma-separated attribute names).
// The English source is kept on the element the first time, so the page can be translated again and again.
function applyI18n(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    if (node.dataset.i18nSource === undefined) node.dataset.i18nSource = node.textContent.trim();
    node.textContent = t(node.dataset.i18nSource);
  }
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const attr of node.dataset.i18nAttr.split(",").map((a) => a.trim()).filter(Boolean)) {
      const keep = "i18nSrc" + attr.replace(/(^|-)(\w)/g, (m, dash, c) => c.toUpperCase());
      if (node.dataset[keep] === undefined) node.dataset[keep] = node.getAttribute(attr) || "";
      if (node.dataset[keep]) node.setAttribute(attr, t(node.dataset[keep]));
    }
  }
}

function onLanguageChange(listener) { I18N.listeners.push(listener); }

function storedLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(I18N_STORAGE_KEY); } catch (error) { stored = null; }
  if (stored && stored in I18N.names) return stored;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const code = String(tag).toLowerCase().split(/[-_]/)[0];
    if (code in I18N.names) return code;
  }
  return "en";
}

async function loadCatalogue(lang) {
  if (lang === "en") return { lang: "en", dir: "ltr", messages: {} };
  const response = await fetch("/api/i18n/" + encodeURIComponent(lang), { credentials: "same-origin" });
  if (!response.ok) throw new Error("catalogue " + lang + ": HTTP " + response.status);
  return response.json();
}

// Switch the interface to lang live: load its catalogue, set <html lang dir>, translate the marked elements, tell
// the listeners (which re-render what they drew), remember the choice.
async function setLanguage(lang, remember = true) {
  if (!(lang in I18N.names)) lang = "en";
  let catalogue;
  try { catalogue = await loadCatalogue(lang); } catch (error) {
    console.warn(error.message);
    catalogue = { lang: "en", dir: "ltr", messages: {} };
    lang = "en";
  }
  I18N.lang = lang;
  I18N.dir = catalogue.dir || (lang === "ar" ? "rtl" : "ltr");
  I18N.messages = catalogue.messages || {};
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : lang;
  document.documentElement.dir = I18N.dir;
  if (remember) {
    try { localStorage.setItem(I18N_STORAGE_KEY, lang); } catch (error) { /* private mode: for this visit only */ }
  }
  applyI18n(document);
  const menu = document.getElementById("language-select");
  if (menu && menu.value !== lang) menu.value = lang;
  for (const listener of I18N.listeners) {
    try { listener(lang); } catch (error) { console.error(error); }
  }
  document.dispatchEvent(new CustomEvent("openldn:language", { detail: { lang } }));
  return lang;
}

// Fill the language menu (each language named in itself) and start with the remembered language.
function initLanguageMenu() {
  const menu = document.getElementById("language-select");
  if (menu && !menu.options.length) {
    for (const [code, name] of Object.entries(I18N.names)) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = name;
      option.lang = code;
      menu.append(option);
    }
    menu.addEventListener("change", () => setLanguage(menu.value));
  }
  return setLanguage(storedLanguage(), false);
}

// Headers of API calls: the server answers (errors included) in the interface's language.
function languageHeaders(headers = {}) {
  headers["X-OpenLDN-Language"] = I18N.lang;
  return headers;
}

// I18N.ready: resolved once the remembered language is loaded and applied (app.js awaits it before drawing).
I18N.ready = new Promise((resolve) => {
  const start = () => initLanguageMenu().then(resolve, resolve);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
});

// Translated strings for the page scripts, from Django's JavaScript catalogue: the
// `djangojs` domain, served at /jsi18n/ in the page's language and loaded (deferred) before
// any page module. The msgids are Japanese, the source language, so a page without the
// catalogue still shows every string, in Japanese.

const catalogue = globalThis.django;

/** The translation of a Japanese msgid; the msgid itself where there is none. */
export function gettext(msgid) {
  return catalogue ? catalogue.gettext(msgid) : msgid;
}

/** The translation of a Japanese msgid in a context: one Japanese word with two English
 * meanings (状態 of a shelter, of a report) has one msgid per meaning. */
export function pgettext(context, msgid) {
  return catalogue ? catalogue.pgettext(context, msgid) : msgid;
}

/** A translated format with its named %(name)s placeholders filled in, as Django's
 * interpolate(format, values, true) fills them. */
export function interpolate(format, values) {
  return format.replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));
}

/**
 * HTML escaping for everything headroom puts in a page or an e-mail: command lines, user names, cgroup paths
 * and alert labels come from untrusted sources. Pure; the only way text reaches markup.
 */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. Control characters become spaces. */
export function escapeHtml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ');
}

/** A tagged template that escapes every interpolated value unless it is already `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | undefined | null | false | readonly HtmlValue[];

function piece(v: HtmlValue): string {
  if (v === undefined || v === null || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(piece).join('');
  return escapeHtml(String(v));
}

/** html`<td>${cmdline}</td>`: interpolations are escaped; nested html`` fragments and arrays of them are not. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup that is trusted (built by headroom itself, e.g. an SVG from numbers). */
export function raw(markup: string): Html {
  return new Html(markup);
}

// Model output is untrusted: it is rendered as Markdown with raw HTML escaped (never interpreted), then sanitized
// with DOMPurify against a short list of the tags Markdown produces. No images (a reply must not make the
// browser fetch anything), links open in a new tab without a referrer.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // raw HTML in the model's text is shown as text
    html: ({ text }) => escapeHtml(text),
  },
});

const ALLOWED_TAGS = [
  'a', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li', 'ol', 'p', 'pre',
  'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'start', 'align'];

let hooked = false;

/** Sanitized HTML for a reply's Markdown. */
export function renderMarkdown(source: string): string {
  if (!hooked) {
    hooked = true;
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
      // only the language-* classes that marked puts on code blocks
      const cls = node.getAttribute('class');
      if (cls !== null && !/^language-[\w+#.-]+$/.test(cls)) node.removeAttribute('class');
    });
  }
  const html = marked.parse(source) as string;
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: [...ALLOWED_ATTR, 'target', 'rel'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}

/** Compiles the Markdown and sanitizer code paths while the page is idle, so that the first reply does not pay for it. */
export function warmUpMarkdown(): void {
  const run = () => renderMarkdown('Warm **up** with `code`, a [link](https://example.com) and\n\n```js\nx\n```\n\n- a list\n\n| a | b |\n|---|---|\n| 1 | 2 |');
  if ('requestIdleCallback' in window) requestIdleCallback(run, { timeout: 2000 });
  else setTimeout(run, 500);
}

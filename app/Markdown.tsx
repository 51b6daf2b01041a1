// A reply's text as sanitized Markdown, with a copy button on each code block.
import { useLayoutEffect, useMemo, useRef } from 'react';
import { copyText } from './clipboard.ts';
import { renderMarkdown } from './markdown.ts';

export function Markdown({ source, className }: { source: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  const element = useRef<HTMLDivElement>(null);

  // The sanitized HTML is ours to decorate: wrap each <pre> and give it a copy button.
  useLayoutEffect(() => {
    const root = element.current;
    if (!root) return;
    root.querySelectorAll('pre').forEach((pre, i) => {
      if (pre.parentElement?.classList.contains('code-block')) return;
      const wrapper = document.createElement('div');
      wrapper.className = 'code-block';
      pre.replaceWith(wrapper);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'code-copy';
      button.textContent = 'Copy code';
      button.setAttribute('aria-label', `Copy code block ${i + 1}`);
      wrapper.append(button, pre);
    });
  }, [html]);

  function onClick(event: React.MouseEvent) {
    const button = (event.target as HTMLElement).closest('button.code-copy');
    if (!button) return;
    const code = button.parentElement?.querySelector('pre')?.textContent ?? '';
    void copyText(code).then((ok) => {
      button.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => (button.textContent = 'Copy code'), 1500);
    });
  }

  return <div ref={element} className={className} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}

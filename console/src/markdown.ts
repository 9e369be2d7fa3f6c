// Documents are Markdown written by anyone who may attach one: rendered with raw HTML disabled (markdown-it
// escapes it) and only http(s), mailto and relative links (markdown-it's validateLink refuses javascript:,
// vbscript:, file: and most data: already; this narrows it further). Images are not loaded from elsewhere:
// the page's Content-Security-Policy (img-src 'self' data:) blocks them.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
md.validateLink = (url: string) => /^(https?:|mailto:|#|\/(?!\/)|\.{0,2}\/)/i.test(url.trim()) || !/^[a-z][a-z0-9+.-]*:/i.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return md.render(source);
}

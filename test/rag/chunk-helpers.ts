/** `paragraphs` paragraphs of `sentences` numbered sentences each (about 12 tokens a sentence). */
export function longSection(paragraphs: number, sentences: number): string {
  return Array.from({ length: paragraphs }, (_, p) =>
    Array.from({ length: sentences }, (_, s) => `Paragraph ${p} sentence ${s} of the routing guide.`).join(' '),
  ).join('\n\n');
}

/** The longest end of `previous` that `next` starts with: the overlap between two chunks. */
export function sharedEdge(previous: string, next: string): string {
  for (let length = Math.min(previous.length, next.length); length > 0; length--) {
    if (previous.endsWith(next.slice(0, length))) return next.slice(0, length);
  }
  return '';
}

const MAX_TITLE = 60;

/** A short title from a conversation's first message: its first line, cut at a word. */
export function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.replace(/\s+/g, ' ').trim() ?? '';
  if (line.length <= MAX_TITLE) return line || 'New conversation';
  const cut = line.slice(0, MAX_TITLE);
  const space = cut.lastIndexOf(' ');
  return `${(space > MAX_TITLE / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

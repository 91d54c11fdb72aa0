/** Settings (name -> value) that every session of the database starts with. */
export type SessionSettings = Readonly<Record<string, string>>;

const SAFE = /^[A-Za-z0-9_.]+$/;

function checked(settings: SessionSettings): [string, string][] {
  const entries = Object.entries(settings);
  for (const [name, value] of entries) {
    if (!SAFE.test(name) || !SAFE.test(value)) throw new Error(`unsafe session setting ${name}=${value}`);
  }
  return entries;
}

/** The settings as libpq startup `options` (`-c name=value ...`): no round trip per connection. */
export const startupOptions = (settings: SessionSettings): string =>
  checked(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');

/** The settings as SET statements, for a session that is already open (embedded PGlite's one). */
export const setStatements = (settings: SessionSettings): string =>
  checked(settings)
    .map(([name, value]) => `SET ${name} = ${value};`)
    .join(' ');

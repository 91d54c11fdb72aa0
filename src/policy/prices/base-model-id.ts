/**
 * A dated snapshot id's undated base: OpenAI dates end in `-YYYY-MM-DD`
 * (`gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`), Anthropic's in `-YYYYMMDD`
 * (`claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`). Only one trailing date is removed, and
 * only a plausible one (year 20xx, month 01-12, day 01-31), so that version numbers such as
 * `-0613` or `-4-5` are never taken for dates. Ids without a date come back unchanged.
 */
export function baseModelId(id: string): string {
  return id.replace(DATED_SUFFIX, '');
}

const MONTH = '(?:0[1-9]|1[0-2])';
const DAY = '(?:0[1-9]|[12]\\d|3[01])';
const DATED_SUFFIX = new RegExp(`-20\\d\\d(?:-${MONTH}-${DAY}|${MONTH}${DAY})$`);

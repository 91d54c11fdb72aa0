/** What an operation name may look like to become a label: a GraphQL Name of at most 64 characters. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** How many distinct names become labels; the names seen first keep them. */
export const MAX_OPERATION_NAMES = 200;

/**
 * The `name` label of GraphQL operations: unnamed is `anonymous`; a name becomes a label if it is
 * a short GraphQL Name and one of the first `max` distinct names seen, else `other`. A client can
 * send any name, so without the cap every name would be a new series for as long as the process lives.
 *
 * @example const label = operationNameLabels(); label('GetMe') // 'GetMe'; label(undefined) // 'anonymous'
 */
export function operationNameLabels(max = MAX_OPERATION_NAMES): (name: string | null | undefined) => string {
  const seen = new Set<string>();
  return (name) => {
    if (!name) return 'anonymous';
    if (seen.has(name)) return name;
    if (seen.size >= max || !LABEL_NAME.test(name)) return 'other';
    seen.add(name);
    return name;
  };
}

import type { ContextWindowTable } from '../definition.js';

/** For models whose list entry carries no `max_input_tokens`. */
export const anthropicContextWindows: ContextWindowTable = [['claude-', 200_000]];

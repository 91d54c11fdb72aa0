import { countTokens as countO200k } from 'gpt-tokenizer';

// Text may quote `<|endoftext|>` and the like: count them as text instead of throwing.
const asPlainText = { disallowedSpecial: new Set<string>() };

/** o200k_base tokens of `text`: the one tokenizer chat budgets and chunking share. */
export function countTokens(text: string): number {
  return text === '' ? 0 : countO200k(text, asPlainText);
}

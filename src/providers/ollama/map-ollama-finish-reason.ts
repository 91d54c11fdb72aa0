import type { FinishReason } from '../types.js';

export function mapOllamaFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    // older servers send no done_reason on a normal end
    case undefined:
    case null:
    case '':
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    default:
      return 'other';
  }
}

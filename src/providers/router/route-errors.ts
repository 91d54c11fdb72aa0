import { AppError } from '../../errors.js';

/** What the caller could have asked for instead; goes into both the message and the details. */
export interface RouteChoices {
  providers: string[];
  aliases: string[];
  defaultModel: string;
}

function choicesText(choices: RouteChoices): string {
  const aliases = choices.aliases.length > 0 ? choices.aliases.join(', ') : 'none';
  return `Available providers: ${choices.providers.join(', ') || 'none'}; aliases: ${aliases}; default model: ${choices.defaultModel}.`;
}

/** BAD_USER_INPUT naming what was asked, why it cannot be routed, and what is available. */
export function routeError(
  problem: string,
  asked: { model?: string | undefined; provider?: string | undefined },
  choices: RouteChoices,
): AppError {
  return new AppError('BAD_USER_INPUT', `${problem} ${choicesText(choices)}`, {
    model: asked.model ?? null,
    provider: asked.provider ?? null,
    availableProviders: choices.providers,
    aliases: choices.aliases,
    defaultModel: choices.defaultModel,
  });
}

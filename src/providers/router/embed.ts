import { AppError } from '../../errors.js';
import type { ProviderError } from '../provider-error.js';
import { classifyError, toProviderError } from './classify-error.js';
import type { ResilienceConfig } from './config-schema.js';
import { createRetryPolicy } from './retry-policy.js';
import type { Deployment, EmbedResult, RoutedEmbedRequest } from './types.js';

/**
 * Embeds with the first deployment of the chain that can, retrying transient failures and falling
 * back like chat does. Throws BAD_USER_INPUT when no deployment embeds, else the last ProviderError.
 */
export async function embedWithChain(
  chain: readonly Deployment[],
  request: RoutedEmbedRequest,
  retryConfig: ResilienceConfig['retry'],
  random: () => number,
): Promise<EmbedResult> {
  const capable = chain.filter((d) => d.capabilities.embeddings && typeof d.provider.embed === 'function');
  if (capable.length === 0) {
    const tried = chain.map((d) => d.id).join(', ');
    throw new AppError('BAD_USER_INPUT', `None of ${tried} can embed.`, { deployments: chain.map((d) => d.id) });
  }
  const signal = request.signal ?? new AbortController().signal;
  let lastError: ProviderError | undefined;
  for (const deployment of capable) {
    const embed = deployment.provider.embed?.bind(deployment.provider);
    if (!embed) continue;
    try {
      const embeddings = await createRetryPolicy(retryConfig, random, signal).execute(
        () => embed({ model: deployment.model, input: request.input, dimensions: request.dimensions, signal }),
        signal,
      );
      return { embeddings, provider: deployment.provider.name, model: deployment.model };
    } catch (raw) {
      lastError = toProviderError(raw, deployment.provider.name);
      const kind = classifyError(lastError);
      if (kind === 'cancelled' || kind === 'request') break;
    }
  }
  throw lastError;
}

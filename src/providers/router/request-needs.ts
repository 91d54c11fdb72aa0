import type { ChatRequest } from '../types.js';
import type { RequestNeeds } from './types.js';

/** What a chat request needs of the deployment that serves it (planRoute leaves out the rest). */
export function needsOf(request: Pick<ChatRequest, 'messages' | 'tools' | 'responseFormat'>): RequestNeeds {
  const needs: RequestNeeds = {};
  const toolTurns = request.messages.some((m) => m.role === 'tool' || (m.toolCalls?.length ?? 0) > 0);
  if ((request.tools && request.tools.length > 0) || toolTurns) needs.tools = true;
  if (request.messages.some((m) => (m.images?.length ?? 0) > 0)) needs.images = true;
  if (request.messages.some((m) => m.images?.some((image) => !image.url.startsWith('data:')))) needs.imageUrls = true;
  if (request.responseFormat && request.responseFormat.type !== 'text')
    needs.responseFormat = request.responseFormat.type;
  return needs;
}

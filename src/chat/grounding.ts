import type { EmbedOptions } from '../embeddings/index.js';
import type { MemoryService } from '../memory/memory-service.js';
import type { DocumentService } from '../rag/document-service.js';

/** What grounds a reply: recalled memories and retrieved sources, best first. */
export interface Grounding {
  memories: string[];
  sources: { title: string; content: string; chunkId: string; documentId: string; score: number }[];
}

export interface GroundingRequest {
  userId: string;
  query: string;
  useDocuments: boolean;
  collection?: string | null;
  useMemory: boolean;
  /** Told the tokens of the query's embeddings, when the provider reports them. */
  onUsage?: EmbedOptions['onUsage'];
}

const SOURCES = 5;
const MEMORIES = 5;

/** Retrieves the viewer's top chunks (hybrid search) and memories for a message. */
export async function ground(
  deps: { documents: DocumentService; memory: MemoryService },
  request: GroundingRequest,
): Promise<Grounding> {
  const [hits, recalled] = await Promise.all([
    request.useDocuments
      ? deps.documents.search(request.userId, request.query, SOURCES, 'HYBRID', request.collection, request.onUsage)
      : Promise.resolve([]),
    request.useMemory
      ? deps.memory.recall(request.userId, request.query, MEMORIES, request.onUsage)
      : Promise.resolve([]),
  ]);
  return {
    memories: recalled.map((m) => m.memory.content),
    sources: hits.map((hit) => ({
      title: hit.document.title,
      content: hit.chunk.content,
      chunkId: hit.chunk.id,
      documentId: hit.document.id,
      score: hit.score,
    })),
  };
}

/** System sections for the first `sourceCount` sources: numbered, to be cited as [n]. */
export function groundingSections(grounding: Grounding, sourceCount: number): string[] {
  const sections: string[] = [];
  if (grounding.memories.length > 0) {
    sections.push(`What you know about the user:\n${grounding.memories.map((m) => `- ${m}`).join('\n')}`);
  }
  const sources = grounding.sources.slice(0, sourceCount);
  if (sources.length > 0) {
    const numbered = sources.map((s, i) => `[${i + 1}] ${s.title}\n${s.content}`).join('\n\n');
    sections.push(`Answer from these sources when they are relevant, citing them as [n]:\n\n${numbered}`);
  }
  return sections;
}

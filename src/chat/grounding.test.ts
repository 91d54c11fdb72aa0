import { describe, expect, it } from 'vitest';
import { type Grounding, ground, groundingSections } from './grounding.js';

const source = (n: number) => ({
  title: `Doc ${n}`,
  content: `Content ${n}.`,
  chunkId: `c${n}`,
  documentId: `d${n}`,
  score: 1 - n / 10,
});

describe('groundingSections', () => {
  it('gives nothing when nothing was recalled or retrieved', () => {
    expect(groundingSections({ memories: [], sources: [] }, 5)).toEqual([]);
  });

  it('lists memories, then numbers the first sources to be cited as [n]', () => {
    const grounding: Grounding = {
      memories: ['Prefers metric units', 'Lives in Porto'],
      sources: [1, 2, 3].map(source),
    };
    expect(groundingSections(grounding, 2)).toEqual([
      'What you know about the user:\n- Prefers metric units\n- Lives in Porto',
      'Answer from these sources when they are relevant, citing them as [n]:\n\n[1] Doc 1\nContent 1.\n\n[2] Doc 2\nContent 2.',
    ]);
  });

  it('leaves the sources out when none may be used', () => {
    expect(groundingSections({ memories: [], sources: [source(1)] }, 0)).toEqual([]);
  });
});

describe('ground', () => {
  /** Fakes of the two services that record what they were asked. */
  function services() {
    const calls: unknown[][] = [];
    const deps = {
      documents: {
        search: async (...args: unknown[]) => {
          calls.push(['search', ...args]);
          return [
            { document: { id: 'd1', title: 'Guide' }, chunk: { id: 'c1', content: 'Use the router.' }, score: 0.9 },
          ];
        },
      },
      memory: {
        recall: async (...args: unknown[]) => {
          calls.push(['recall', ...args]);
          return [{ memory: { content: 'Likes tea' }, score: 0.8 }];
        },
      },
    } as unknown as Parameters<typeof ground>[0];
    return { deps, calls };
  }

  it("searches the viewer's documents (hybrid, top five, in the collection) and recalls five memories, handing both the usage sink", async () => {
    const { deps, calls } = services();
    const onUsage = () => {};
    const grounding = await ground(deps, {
      userId: 'u1',
      query: 'how to route?',
      useDocuments: true,
      collection: 'manuals',
      useMemory: true,
      onUsage,
    });
    expect(calls).toEqual([
      ['search', 'u1', 'how to route?', 5, 'HYBRID', 'manuals', onUsage],
      ['recall', 'u1', 'how to route?', 5, onUsage],
    ]);
    expect(grounding).toEqual({
      memories: ['Likes tea'],
      sources: [{ title: 'Guide', content: 'Use the router.', chunkId: 'c1', documentId: 'd1', score: 0.9 }],
    });
  });

  it('asks neither service what the request did not ask for', async () => {
    const { deps, calls } = services();
    const grounding = await ground(deps, { userId: 'u1', query: 'q', useDocuments: false, useMemory: false });
    expect(calls).toEqual([]);
    expect(grounding).toEqual({ memories: [], sources: [] });
  });
});

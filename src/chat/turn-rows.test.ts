import { describe, expect, it } from 'vitest';
import type { Conversation } from '../generated/prisma/client.js';
import { type NewTurn, planTurn } from './turn-rows.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const now = new Date('2026-01-02T03:04:05.000Z');
const turn: NewTurn = {
  userId: 'user-1',
  conversation: undefined,
  title: 'Plan a trip',
  systemPrompt: 'Be brief.',
  model: 'mock-1',
  content: 'Plan a trip to Porto',
  contextTokens: 42,
  ownerId: 'instance-a',
  citations: [],
};

describe('planTurn', () => {
  it('plans a new conversation with the user message and a streaming reply, ids made here', () => {
    const { conversation, userMessage, assistantMessage } = planTurn(turn, now);
    expect(conversation).toEqual({
      id: expect.stringMatching(UUID),
      userId: 'user-1',
      title: 'Plan a trip',
      systemPrompt: 'Be brief.',
      model: 'mock-1',
      createdAt: now,
      updatedAt: now,
    });
    expect(userMessage).toMatchObject({
      id: expect.stringMatching(UUID),
      conversationId: conversation.id,
      userId: 'user-1',
      role: 'USER',
      content: 'Plan a trip to Porto',
      status: 'COMPLETE',
      model: null,
      provider: null,
      contextTokens: null,
      ownerId: null,
      lastSeq: 0,
      createdAt: now,
    });
    expect(assistantMessage).toMatchObject({
      id: expect.stringMatching(UUID),
      conversationId: conversation.id,
      role: 'ASSISTANT',
      content: '',
      status: 'STREAMING',
      model: 'mock-1',
      contextTokens: 42,
      ownerId: 'instance-a',
      heartbeatAt: now,
      promptTokens: null,
      completionTokens: null,
      finishReason: null,
      errorCode: null,
      lastSeq: 0,
    });
    // the reply sorts after the question
    expect(assistantMessage.createdAt.getTime()).toBe(now.getTime() + 1);
    expect(new Set([conversation.id, userMessage.id, assistantMessage.id]).size).toBe(3);
  });

  it("touches an existing conversation: its id, title and creation stay, the turn's prompt and model apply", () => {
    const existing: Conversation = {
      id: '00000000-0000-4000-8000-000000000001',
      userId: 'user-1',
      title: 'Old title',
      systemPrompt: null,
      model: 'old-model',
      createdAt: new Date('2025-01-01T00:00:00.000Z'),
      updatedAt: new Date('2025-01-01T00:00:00.000Z'),
    };
    const { conversation, userMessage } = planTurn({ ...turn, conversation: existing }, now);
    expect(conversation).toEqual({ ...existing, systemPrompt: 'Be brief.', model: 'mock-1', updatedAt: now });
    expect(userMessage.conversationId).toBe(existing.id);
  });

  it('makes new ids every time', () => {
    const first = planTurn(turn, now);
    const second = planTurn(turn, now);
    expect(second.conversation.id).not.toBe(first.conversation.id);
    expect(second.assistantMessage.id).not.toBe(first.assistantMessage.id);
  });
});

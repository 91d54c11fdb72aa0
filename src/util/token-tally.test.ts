import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { variedWords as words } from '../../test/helpers/varied-words.js';
import { countTokens } from './count-tokens.js';
import { createTokenTally, EXACT_SLACK_CHARS } from './token-tally.js';

// Where o200k's pieces meet, long runs cut in slices, surrogate pairs, CRLF, special tokens as text.
const texts = [
  '',
  'Hello world',
  'end.\n\nNext paragraph.',
  'a  b   c\t d \n  \n e',
  '12345678 1 22 333 4444',
  "don't we'll THEY'RE you'VE",
  '数据库索引可以加快查询。向量检索很有用！',
  '🚀🚀 👩‍👩‍👧‍👦 é́ ǅungla',
  'The string <|endoftext|> and <|im_start|> are text here.',
  '\r\n\r\nCRLF lines\r\n',
  `${'QmFzZTY0'.repeat(200)} ${'x'.repeat(500)}`,
  ` ${'🚀'.repeat(3_000)} and ${'a'.repeat(5_000)}`,
  words(50_000, 7),
];

/** Runs `work` while counting the turns of the event loop that other callbacks got meanwhile. */
async function turnsDuring<T>(work: Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let done = false;
  const ticking = (async () => {
    while (!done) {
      await nextTurn();
      turns++;
    }
  })();
  const result = await work;
  done = true;
  await ticking;
  return { result, turns };
}

describe('createTokenTally', () => {
  it('counts each text exactly as countTokens does, in turns and at once', async () => {
    for (const text of texts) {
      const inTurns = createTokenTally({ turnMs: 0 });
      await inTurns.count(text);
      const atOnce = createTokenTally();
      atOnce.countNow(text);
      expect({ text: text.slice(0, 40), inTurns: inTurns.tokens, atOnce: atOnce.tokens }).toEqual({
        text: text.slice(0, 40),
        inTurns: countTokens(text),
        atOnce: countTokens(text),
      });
      expect(inTurns.exact).toBe(true);
    }
  });

  it('sums texts and added tokens', async () => {
    const tally = createTokenTally();
    tally.add(3);
    for (const text of texts) await tally.count(text);
    expect(tally.tokens).toBe(3 + texts.reduce((sum, text) => sum + countTokens(text), 0));
    expect(tally.over).toBe(false);
  });

  it('gives the event loop back while it counts a long text, a slice of a long run, or many short texts', async () => {
    const long = createTokenTally({ turnMs: 0 });
    expect((await turnsDuring(long.count(words(200_000, 3)))).turns).toBeGreaterThan(10);
    const run = createTokenTally({ turnMs: 0 });
    expect((await turnsDuring(run.count('QmFzZTY0+/'.repeat(20_000)))).turns).toBeGreaterThan(10);
    const many = createTokenTally({ turnMs: 0 });
    const counting = (async () => {
      for (let i = 0; i < 2_000; i++) await many.count('one two');
    })();
    expect((await turnsDuring(counting)).turns).toBeGreaterThan(10);
    expect(many.tokens).toBe(2_000 * countTokens('one two'));
  });

  it('two tallies counting at the same time each count exactly', async () => {
    const [a, b] = [words(120_000, 11), words(90_000, 12)];
    const [ta, tb] = [createTokenTally({ turnMs: 0 }), createTokenTally({ turnMs: 0 })];
    await Promise.all([ta.count(a), tb.count(b)]);
    expect([ta.tokens, tb.tokens]).toEqual([countTokens(a), countTokens(b)]);
  });

  it('stops a text far past its limit without counting the rest: a lower bound past the limit', async () => {
    const text = words(1_000_000, 5);
    const full = countTokens(text);
    for (const tally of [createTokenTally({ limit: 1_000, turnMs: 0 }), createTokenTally({ limit: 1_000 })]) {
      await tally.count(text);
      expect(tally.over).toBe(true);
      expect(tally.exact).toBe(false);
      expect(tally.tokens).toBeGreaterThan(1_000);
      // at most one more piece after the limit: far short of the whole
      expect(tally.tokens).toBeLessThan(1_100);
      expect(full).toBeGreaterThan(400_000);
      // stopped: later texts are not counted
      await tally.count('more words here');
      expect(tally.tokens).toBeLessThan(1_100);
    }
    const now = createTokenTally({ limit: 1_000 });
    now.countNow(text);
    expect([now.over, now.exact, now.tokens < 1_100]).toEqual([true, false, true]);
  });

  it('counts exactly when what is left past the limit is within the slack', async () => {
    const text = words(EXACT_SLACK_CHARS * 0.6, 9);
    const tally = createTokenTally({ limit: 10 });
    await tally.count(text);
    await tally.count('and a few more');
    expect(tally).toMatchObject({ over: true, exact: true, tokens: countTokens(text) + countTokens('and a few more') });
    // the slack is spent: a second text as long is not counted to its end
    await tally.count(text);
    expect(tally.exact).toBe(false);
  });
});

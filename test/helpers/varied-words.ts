/**
 * `chars` characters of varied lower-case words, reproducible from `seed`: what natural text costs
 * a BPE tokenizer (most pieces must be merged; a repeated run would take its fast path).
 */
export function variedWords(chars: number, seed = 1): string {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 48271) + 11) >>> 0;
    return state / 2 ** 32;
  };
  let text = '';
  while (text.length < chars) {
    const length = 2 + Math.floor(next() * 8);
    for (let i = 0; i < length; i++) text += String.fromCharCode(97 + Math.floor(next() * 26));
    text += next() < 0.1 ? '.\n' : ' ';
  }
  return text.slice(0, chars);
}

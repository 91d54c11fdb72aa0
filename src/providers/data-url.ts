import type { ImagePart } from './types.js';

/** An image's bytes as base64 with its media type: what Anthropic and Ollama take instead of a URL. */
export interface InlineImage {
  mediaType: string;
  data: string;
}

const dataUrl = /^data:([^;,]+)(?:;[^;,]*)*;base64,(.*)$/s;

/** The base64 payload of a `data:` URL image; undefined for a remote (`https:`) one. */
export function inlineImage(image: ImagePart): InlineImage | undefined {
  const match = dataUrl.exec(image.url);
  if (!match) return undefined;
  return { mediaType: image.mediaType ?? match[1] ?? 'application/octet-stream', data: match[2] ?? '' };
}

import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './conversation.js';
import './message.js';
import './document.js';
import './memory.js';
import './provider.js';
import './health.js';
import './chat.js';
import './tool-types.js';
import './tool-results.js';
import './search.js';
import './upload.js';
import './identity.js';
import './limits.js';
import './privacy.js';
import './usage.js';

builder.queryType({});
builder.subscriptionType({});
builder.mutationType({});

/** The whole schema, built once per process from the modules above. */
export const schema = lexicographicSortSchema(builder.toSchema());

import type { Db } from './db/database.js';
import type { Logger } from './logger.js';
import type { Services } from './services.js';

/** What every resolver receives: built per request (HTTP) or per operation (WebSocket). */
export interface Context {
  db: Db;
  viewer: Viewer;
  requestId: string;
  logger: Logger;
  services: Services;
}

export interface Viewer {
  id: string;
}

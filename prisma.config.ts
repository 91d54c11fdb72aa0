import { defineConfig } from 'prisma/config';

// `prisma migrate deploy` reads DATABASE_URL; `prisma generate` needs no database at all.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/switchyard' },
});

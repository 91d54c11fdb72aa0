import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSchema,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';

const root = join(import.meta.dirname, '..');
const contractPath = join(root, 'test/contract/api-contract.graphql');
const contract = buildSchema(readFileSync(contractPath, 'utf8'));

/**
 * Contract types not served yet, each with the issue that brings it. This list only shrinks:
 * a type that is served is checked in full, and a listed type that appears fails the test.
 */
const PENDING: Record<string, string> = {};
/** Fields, enum values (`Enum.VALUE`) and union members (`Union.Member`) not served yet. */
const PENDING_FIELDS: Record<string, string> = {};

function describeField(field: GraphQLField<unknown, unknown> | GraphQLInputField) {
  const args = 'args' in field ? field.args.map((a) => `${a.name}: ${a.type}`).sort() : [];
  return { type: String(field.type), args };
}

function compare(expected: GraphQLNamedType, actual: GraphQLNamedType | undefined, problems: string[]) {
  if (!actual) return problems.push(`missing type ${expected.name}`);
  if (expected.constructor !== actual.constructor) return problems.push(`${expected.name} is a different kind`);
  if (isEnumType(expected) && isEnumType(actual)) {
    const names = actual.getValues().map((v) => v.name);
    for (const value of expected.getValues()) {
      if (PENDING_FIELDS[`${expected.name}.${value.name}`]) continue;
      if (!names.includes(value.name)) problems.push(`missing enum value ${expected.name}.${value.name}`);
    }
  }
  if (isUnionType(expected) && isUnionType(actual)) {
    const members = actual.getTypes().map((t) => t.name);
    for (const member of expected.getTypes()) {
      if (PENDING_FIELDS[`${expected.name}.${member.name}`]) continue;
      if (!members.includes(member.name)) problems.push(`union ${expected.name} lacks ${member.name}`);
    }
  }
  if (
    (isObjectType(expected) || isInterfaceType(expected) || isInputObjectType(expected)) &&
    (isObjectType(actual) || isInterfaceType(actual) || isInputObjectType(actual))
  ) {
    const fields = actual.getFields();
    for (const [name, field] of Object.entries(expected.getFields())) {
      if (PENDING_FIELDS[`${expected.name}.${name}`]) continue;
      const mine = fields[name];
      if (!mine) {
        problems.push(`missing field ${expected.name}.${name}`);
        continue;
      }
      const want = describeField(field);
      const have = describeField(mine);
      if (want.type !== have.type)
        problems.push(`${expected.name}.${name} is ${have.type}, contract says ${want.type}`);
      for (const arg of want.args) {
        if (!have.args.includes(arg)) problems.push(`${expected.name}.${name} lacks argument ${arg}`);
      }
    }
  }
}

describe('schema', () => {
  it('schema.graphql is what the code prints (run `npm run generate` when this fails)', () => {
    expect(readFileSync(join(root, 'schema.graphql'), 'utf8')).toBe(`${printSchema(schema)}\n`);
  });

  it('serves every type and field of the API contract with the same name, type, arguments and nullability', () => {
    const problems: string[] = [];
    for (const type of Object.values(contract.getTypeMap())) {
      if (type.name.startsWith('__') || PENDING[type.name]) continue;
      compare(type, schema.getType(type.name), problems);
    }
    expect(problems).toEqual([]);
  });

  it('lists as pending only what is really not served yet', () => {
    const served = Object.keys(PENDING).filter((name) => schema.getType(name));
    const servedFields = Object.keys(PENDING_FIELDS).filter((key) => {
      const [type, field] = key.split('.') as [string, string];
      const t = schema.getType(type);
      if (isEnumType(t)) return t.getValue(field) !== undefined;
      if (isUnionType(t)) return t.getTypes().some((member) => member.name === field);
      return (isObjectType(t) || isInterfaceType(t) || isInputObjectType(t)) && t.getFields()[field] !== undefined;
    });
    expect({ served, servedFields }).toEqual({ served: [], servedFields: [] });
  });

  it('keeps its copy of the contract equal to the shared one when that is present', () => {
    const shared = join(root, '../shared/api-contract.graphql');
    if (!existsSync(shared)) return;
    expect(readFileSync(contractPath, 'utf8')).toBe(readFileSync(shared, 'utf8'));
  });
});
